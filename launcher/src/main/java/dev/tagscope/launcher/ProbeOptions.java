package dev.tagscope.launcher;

import dev.tagscope.producer.Image;
import dev.tagscope.producer.ImageLoader;
import dev.tagscope.tagging.ProbePlan;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** The probe: which images, its id and pacing, and (through {@link PlanOptions}) how they are tagged and windowed. */
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

  /** How the images are tagged and the responses windowed. */
  @Mixin PlanOptions plan = new PlanOptions();

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
    return imageSource(images, home);
  }

  /**
   * The images a command uses: the given path, else the Fashion-MNIST test set when Debian's
   * package is installed, else the bundled samples (labelled, so {@code validate} can use them too).
   *
   * @param images the {@code --images} value, or null
   * @param home the Tagscope installation folder
   * @return the path
   */
  static Path imageSource(Path images, Path home) {
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
    return plan.planBuilder().probeId(probeId).continuous(continuous);
  }
}
