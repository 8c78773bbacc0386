package dev.tagscope.testsupport;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Where the files every module's tests share are: the checkout's root, the bundled model with its
 * companions, and the sample images. Surefire runs a module's tests in the module's folder, so the
 * root is its parent; {@code -Dtagscope.test.model=PATH} points at another {@code .onnx} with the
 * same companions (development only).
 */
public final class ProjectFiles {
  private ProjectFiles() {}

  /**
   * The checkout's root: the nearest folder, from the working directory up, that holds
   * {@code models/fmnist-resnet32.onnx}.
   *
   * @return the absolute root folder
   * @throws IllegalStateException when no folder above the working directory holds the model
   */
  public static Path root() {
    Path p = Path.of("").toAbsolutePath();
    for (Path d = p; d != null; d = d.getParent()) {
      if (Files.isRegularFile(d.resolve("models").resolve("fmnist-resnet32.onnx"))) {
        return d;
      }
    }
    throw new IllegalStateException("no models/fmnist-resnet32.onnx in " + p + " or any folder above it; run the tests from the checkout");
  }

  /**
   * The bundled model.
   *
   * @return {@code models/fmnist-resnet32.onnx}, or {@code -Dtagscope.test.model}
   */
  public static Path bundledModel() {
    String p = System.getProperty("tagscope.test.model");
    return p == null || p.isBlank() ? root().resolve("models").resolve("fmnist-resnet32.onnx") : Path.of(p).toAbsolutePath().normalize();
  }

  /**
   * The sample images beside the bundled model.
   *
   * @return the {@code models/samples} folder (Fashion-MNIST test images and labels, IDX, gzip)
   */
  public static Path samples() {
    return bundledModel().resolveSibling("samples");
  }

  /**
   * The sample test images.
   *
   * @return {@code models/samples/fashion-mnist-test-images-idx3-ubyte.gz}
   */
  public static Path sampleImages() {
    return samples().resolve("fashion-mnist-test-images-idx3-ubyte.gz");
  }
}
