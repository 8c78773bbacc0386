package dev.tagscope.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The bundled model classifies the bundled Fashion-MNIST sample images through the Java path
 * (sidecar preprocessing, {@link Preprocessor}, ONNX Runtime with all default taps): proves
 * the export and the preprocessing together.
 */
class BundledModelAccuracyTest {

  @Test
  void accuracyOnTheBundledSamplesIsAtLeast088() throws Exception {
    byte[][] images = TestModels.sampleImages();
    byte[][] labels = TestModels.sampleLabels();
    assertEquals(512, images.length);
    assertEquals(images.length, labels.length);
    try (ActivationModel model = ActivationModel.load(ModelConfig.of(TestModels.model()).withIntraOpThreads(2))) {
      assertEquals("fmnist-resnet32", model.name(), "name from the sidecar models/fmnist-resnet32.json");
      assertEquals(10, model.classes().size());
      assertEquals(new Preprocessing(0.00392156862745098, List.of(0.2860f), List.of(0.3530f), 1, 28, 28),
          model.preprocessing());
      int correct = correct(model, images, labels);
      double accuracy = correct / (double) images.length;
      assertTrue(accuracy >= 0.88, "accuracy " + accuracy + " on " + images.length + " bundled samples");
    }
  }

  /**
   * The model card's figure: at least 92 % on all 10,000 Fashion-MNIST test images, through the
   * same Java path. Runs where the Debian package {@code dataset-fashion-mnist} is installed.
   */
  @Test
  void accuracyOnTheFullTestSetIsAtLeast092WhenTheDatasetIsInstalled() throws Exception {
    Path dir = Path.of("/usr/share/datasets/fashion-mnist");
    Path imagesFile = dir.resolve("t10k-images-idx3-ubyte.gz");
    Path labelsFile = dir.resolve("t10k-labels-idx1-ubyte.gz");
    assumeTrue(Files.isReadable(imagesFile) && Files.isReadable(labelsFile), "dataset-fashion-mnist is not installed");
    byte[][] images = TestModels.readIdx(imagesFile);
    byte[][] labels = TestModels.readIdx(labelsFile);
    assertEquals(10_000, images.length);
    try (ActivationModel model = ActivationModel.load(ModelConfig.of(TestModels.model()).withLayers("conv1").withIntraOpThreads(2))) {
      double accuracy = correct(model, images, labels) / (double) images.length;
      System.out.printf("bundled model, Fashion-MNIST test set: accuracy %.4f on %d images%n", accuracy, images.length);
      assertTrue(accuracy >= 0.92, "accuracy " + accuracy + " on the 10,000 test images");
    }
  }

  /** @return how many of {@code images} the model's arg-max logit labels as in {@code labels} */
  private static int correct(ActivationModel model, byte[][] images, byte[][] labels) throws Exception {
    Preprocessor pre = new Preprocessor(model.preprocessing());
    int batch = 64;
    int correct = 0;
    float[] input = new float[batch * pre.inputLength()];
    for (int start = 0; start < images.length; start += batch) {
      int n = Math.min(batch, images.length - start);
      for (int i = 0; i < n; i++) {
        pre.apply(images[start + i], 1, 28, 28, input, i * pre.inputLength());
      }
      float[] logits = model.forward(input, n).outputs().get("logits").data();
      for (int i = 0; i < n; i++) {
        int best = 0;
        for (int c = 1; c < 10; c++) {
          if (logits[i * 10 + c] > logits[i * 10 + best]) {
            best = c;
          }
        }
        if (best == (labels[start + i][0] & 0xFF)) {
          correct++;
        }
      }
    }
    return correct;
  }
}
