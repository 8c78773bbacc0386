package dev.tagscope.launcher;

import dev.tagscope.schemas.Reduction;
import dev.tagscope.tagging.PlanDefaults;
import dev.tagscope.tagging.ProbePlan;
import java.util.List;
import picocli.CommandLine.Option;

/**
 * How a probe tags its images and windows the responses: regions, tag frequencies and phases,
 * fps, window, hop, signal-bin catalogue and reduction. Shared by the streaming commands (through
 * {@link ProbeOptions}) and {@code tagscope validate}, which probes offline with the same plan.
 */
public final class PlanOptions {
  @Option(names = "--layout", defaultValue = PlanDefaults.LAYOUT,
      description = "Regions: halves-lr, halves-tb, quadrants, grid:RxC (default ${DEFAULT-VALUE}).")
  String layout;

  @Option(names = "--freqs", split = ",", paramLabel = "F1,F2,...",
      description = "Tag frequency of each region, Hz (default 6,7.5 for halves; a validated set for other layouts).")
  List<Double> freqs;

  @Option(names = "--phases", split = ",", paramLabel = "P1,P2,...", description = "Tag phase of each region, radians (default 0).")
  List<Double> phases;

  @Option(names = "--fps", defaultValue = "" + PlanDefaults.FPS, description = "Stimulus frames per second (default ${DEFAULT-VALUE}).")
  double fps;

  @Option(names = "--window", defaultValue = "" + PlanDefaults.WINDOW_FRAMES, paramLabel = "W", description = "FFT window, frames (default ${DEFAULT-VALUE}).")
  int window;

  @Option(names = "--hop", paramLabel = "H", description = "Frames between window starts (default: the window).")
  Integer hop;

  @Option(names = "--frames-per-image", paramLabel = "N", description = "Frames each image is shown (default: the window).")
  Integer framesPerImage;

  @Option(names = "--harmonics", defaultValue = "" + PlanDefaults.MAX_HARMONIC, description = "Highest harmonic n of n*f (default ${DEFAULT-VALUE}).")
  int harmonics;

  @Option(names = "--im-order", paramLabel = "M", description = "Highest IM order n+m (default " + PlanDefaults.MAX_IM_ORDER_TWO_REGIONS
      + " for two regions, " + PlanDefaults.MAX_IM_ORDER_MORE_REGIONS + " for more).")
  Integer imOrder;

  @Option(names = "--baseline-bins", defaultValue = "" + PlanDefaults.BASELINE_BINS, description = "Baseline bins K on each side (default ${DEFAULT-VALUE}).")
  int baselineBins;

  @Option(names = "--reduction",
      description = "Filter map to one number per frame: ${COMPLETION-CANDIDATES} (default ${DEFAULT-VALUE}; L2 ranks by ablation damage better but adds harmonics and IM of its own, see the README).")
  Reduction reduction = PlanDefaults.REDUCTION;

  /**
   * A plan builder with these options applied; the caller adds the probe id, model, image shape
   * and layers, and {@code build()} validates the whole plan.
   *
   * @return the builder
   */
  ProbePlan.Builder planBuilder() {
    ProbePlan.Builder b = ProbePlan.builder()
        .layout(layout)
        .fps(fps)
        .windowFrames(window)
        .hopFrames(hop == null ? 0 : hop)
        .framesPerImage(framesPerImage == null ? 0 : framesPerImage)
        .maxHarmonic(harmonics)
        .maxImOrder(imOrder)
        .baselineBins(baselineBins)
        .reduction(reduction);
    if (freqs != null) {
      b.frequencies(freqs);
    }
    if (phases != null) {
      b.phases(phases);
    }
    return b;
  }
}
