package dev.tagscope.spectral.core;

import dev.tagscope.schemas.ProbeSpec;
import dev.tagscope.schemas.Region;
import dev.tagscope.schemas.SignalBin;
import java.util.ArrayList;
import java.util.List;

/**
 * The analysis plan as written into a {@link SpectralReport}: sampling, window, regions with
 * their tag frequencies, and the signal-bin catalogue.
 *
 * @param fps frames per second of stimulus time
 * @param windowFrames {@code W}, frames per FFT window
 * @param hopFrames frames between the starts of consecutive windows of one image
 * @param regions tagged regions in order ({@code f1} is the first)
 * @param maxHarmonic {@code H}
 * @param maxImOrder {@code M}
 * @param baselineBins {@code K}, baseline bins each side
 * @param baselineSkip bins next to a signal bin left out of its baseline
 * @param signalBins the validated catalogue
 */
public record PlanInfo(double fps, int windowFrames, int hopFrames, List<RegionInfo> regions, int maxHarmonic,
                       int maxImOrder, int baselineBins, int baselineSkip, List<SignalBin> signalBins) {

  /**
   * One tagged region.
   *
   * @param name region name, e.g. {@code "left"}
   * @param frequencyHz tag frequency, Hz
   * @param phaseRad tag phase, radians
   */
  public record RegionInfo(String name, double frequencyHz, double phaseRad) {}

  /** Copies the lists. */
  public PlanInfo {
    regions = List.copyOf(regions);
    signalBins = List.copyOf(signalBins);
  }

  /** @return {@code fps / W}, the width of one FFT bin in Hz */
  public double binWidthHz() {
    return fps / windowFrames;
  }

  /** @return the tag frequencies in region order, Hz */
  public double[] frequenciesHz() {
    return regions.stream().mapToDouble(RegionInfo::frequencyHz).toArray();
  }

  /**
   * The plan of a published probe (its signal bins as carried by the probe).
   *
   * @param p the probe
   * @return its plan
   */
  public static PlanInfo fromProbe(ProbeSpec p) {
    List<RegionInfo> regions = new ArrayList<>();
    for (Region r : p.getRegions()) {
      regions.add(new RegionInfo(r.getName(), r.getFrequencyHz(), r.getPhaseRad()));
    }
    return new PlanInfo(p.getFps(), p.getWindowFrames(), p.getHopFrames(), regions, p.getMaxHarmonic(), p.getMaxImOrder(),
        p.getBaselineBins(), p.getBaselineSkip(), p.getSignalBins());
  }

  /**
   * A plan from plain values (offline analysis); the catalogue is built and validated, regions
   * are named {@code "region1"}, {@code "region2"}, ... with phase 0.
   *
   * @param fps frames per second (> 0)
   * @param windowFrames {@code W} (even, >= 2)
   * @param hopFrames hop between windows (>= 1)
   * @param frequenciesHz tag frequencies, Hz
   * @param maxHarmonic {@code H} (>= 1)
   * @param maxImOrder {@code M} (>= 0)
   * @param baselineBins {@code K} (>= 1)
   * @param baselineSkip skip (>= 0)
   * @return the plan
   * @throws PlanException naming the field when the plan is refused (see {@link SignalCatalogue#build})
   */
  public static PlanInfo of(double fps, int windowFrames, int hopFrames, double[] frequenciesHz, int maxHarmonic,
                            int maxImOrder, int baselineBins, int baselineSkip) {
    List<SignalBin> bins = SignalCatalogue.build(frequenciesHz, fps, windowFrames, maxHarmonic, maxImOrder);
    if (hopFrames < 1) {
      throw new PlanException("hopFrames", "must be >= 1 frame, got " + hopFrames + "; e.g. " + windowFrames + " for windows that do not overlap");
    }
    if (baselineBins < 1) {
      throw new PlanException("baselineBins", "must be >= 1 bin each side (default 10), got " + baselineBins);
    }
    if (baselineSkip < 0) {
      throw new PlanException("baselineSkip", "must be >= 0 bins (default 1), got " + baselineSkip);
    }
    List<RegionInfo> regions = new ArrayList<>();
    for (int r = 0; r < frequenciesHz.length; r++) {
      regions.add(new RegionInfo("region" + (r + 1), frequenciesHz[r], 0));
    }
    return new PlanInfo(fps, windowFrames, hopFrames, regions, maxHarmonic, maxImOrder, baselineBins, baselineSkip, bins);
  }
}
