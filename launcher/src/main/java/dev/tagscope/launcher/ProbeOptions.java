package dev.tagscope.launcher;

import dev.tagscope.producer.Image;
import dev.tagscope.producer.ImageLoader;
import dev.tagscope.producer.ProbePlan;
import dev.tagscope.schemas.Reduction;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import picocli.CommandLine.Option;

/** The probe: which images, how they are tagged, and how the responses are windowed. */
public final class ProbeOptions {
  /** Where Debian's dataset-fashion-mnist package puts the test set; used when installed. */
  static final Path DEBIAN_FASHION_MNIST = Path.of("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz");

  @Option(names = "--images", paramLabel = "PATH",
      description = "IDX images file (gzip or raw; labels found beside it), or a folder of PNG/JPEG. "
          + "Default: the Fashion-MNIST test set when the Debian package is installed, else the bundled models/samples.")
  Path images;

  @Option(names = "--count", defaultValue = "16", description = "Images to probe per cycle (default ${DEFAULT-VALUE}).")
  int count;

  @Option(names = "--probe-id", description = "Probe id (default: a random probe-<uuid>).")
  String probeId;

  @Option(names = "--layout", defaultValue = "halves-lr",
      description = "Regions: halves-lr, halves-tb, quadrants, grid:RxC (default ${DEFAULT-VALUE}).")
  String layout;

  @Option(names = "--freqs", split = ",", paramLabel = "F1,F2,...",
      description = "Tag frequency of each region, Hz (default 6,7.5 for halves; a validated set for other layouts).")
  List<Double> freqs;

  @Option(names = "--phases", split = ",", paramLabel = "P1,P2,...", description = "Tag phase of each region, radians (default 0).")
  List<Double> phases;

  @Option(names = "--fps", defaultValue = "120", description = "Stimulus frames per second (default ${DEFAULT-VALUE}).")
  double fps;

  @Option(names = "--window", defaultValue = "240", paramLabel = "W", description = "FFT window, frames (default ${DEFAULT-VALUE}).")
  int window;

  @Option(names = "--hop", paramLabel = "H", description = "Frames between window starts (default: the window).")
  Integer hop;

  @Option(names = "--frames-per-image", paramLabel = "N", description = "Frames each image is shown (default: the window).")
  Integer framesPerImage;

  @Option(names = "--harmonics", defaultValue = "4", description = "Highest harmonic n of n*f (default ${DEFAULT-VALUE}).")
  int harmonics;

  @Option(names = "--im-order", paramLabel = "M", description = "Highest IM order n+m (default 4 for two regions, 2 for more).")
  Integer imOrder;

  @Option(names = "--baseline-bins", defaultValue = "10", description = "Baseline bins K on each side (default ${DEFAULT-VALUE}).")
  int baselineBins;

  @Option(names = "--reduction", defaultValue = "MEAN",
      description = "Filter map to one number per frame: ${COMPLETION-CANDIDATES} (default ${DEFAULT-VALUE}).")
  Reduction reduction;

  @Option(names = "--paced", description = "Send frames in real time at --fps (default: as fast as the broker takes them).")
  boolean paced;

  @Option(names = "--continuous", description = "Cycle through the images without end (long-running probes).")
  boolean continuous;

  /**
   * The images to probe.
   *
   * @param home the Tagscope installation folder (for the bundled samples)
   * @return at least one image, all of one shape
   * @throws IOException when the images cannot be read (the message names the file)
   */
  List<Image> loadImages(Path home) throws IOException {
    if (count < 1) {
      throw new IllegalArgumentException("--count must be at least 1 image");
    }
    return ImageLoader.builder().limit(count).build().load(imageSource(home));
  }

  Path imageSource(Path home) {
    if (images != null) {
      return images;
    }
    return Files.exists(DEBIAN_FASHION_MNIST) ? DEBIAN_FASHION_MNIST : home.resolve("models/samples");
  }

  /**
   * A plan builder with every option applied; the caller adds the model, image shape and layers,
   * and {@code build()} validates the whole plan before anything is sent.
   *
   * @return the builder
   */
  ProbePlan.Builder planBuilder() {
    ProbePlan.Builder b = ProbePlan.builder()
        .probeId(probeId)
        .layout(layout)
        .fps(fps)
        .windowFrames(window)
        .hopFrames(hop == null ? window : hop)
        .framesPerImage(framesPerImage == null ? window : framesPerImage)
        .maxHarmonic(harmonics)
        .maxImOrder(imOrder)
        .baselineBins(baselineBins)
        .reduction(reduction)
        .continuous(continuous);
    if (freqs != null) {
      b.frequencies(freqs);
    }
    if (phases != null) {
      b.phases(phases);
    }
    return b;
  }
}
