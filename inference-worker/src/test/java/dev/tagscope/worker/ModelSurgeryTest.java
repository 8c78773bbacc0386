package dev.tagscope.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tagscope.schemas.Reduction;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelSurgeryTest {
  @TempDir
  Path tmp;

  @Test
  void theZeroedFiltersOfConv1AnswerZeroAndTheOthersAsBefore() throws Exception {
    Path out = tmp.resolve("damaged.onnx");
    ModelSurgery.zeroFilters(TestModels.model(), "conv1", new int[] {2, 5}, out, "damaged-1");
    byte[][] images = TestModels.sampleImages();
    int n = 8;
    Map<String, float[][]> before;
    Map<String, float[][]> after;
    try (ActivationModel a = ActivationModel.load(ModelConfig.of(TestModels.model()).withLayers("conv1").withIntraOpThreads(1));
         ActivationModel b = ActivationModel.load(ModelConfig.of(out).withLayers("conv1").withIntraOpThreads(1))) {
      assertEquals(a.name(), b.name(), "the copy answers probes of the same model");
      Preprocessor pre = new Preprocessor(a.preprocessing());
      float[] in = new float[n * pre.inputLength()];
      for (int i = 0; i < n; i++) {
        pre.apply(images[i], 1, 28, 28, in, i * pre.inputLength());
      }
      before = a.run(in, n, Reduction.MEAN_ABS);
      after = b.run(in, n, Reduction.MEAN_ABS);
    }
    for (int i = 0; i < n; i++) {
      float[] x = before.get("conv1")[i];
      float[] y = after.get("conv1")[i];
      for (int k = 0; k < x.length; k++) {
        if (k == 2 || k == 5) {
          assertEquals(0f, y[k], "zero weights and bias give a zero map: filter " + k);
          assertTrue(x[k] > 0, "the filter answered before: " + k);
        } else {
          assertEquals(x[k], y[k], 1e-6f, "filter " + k + " of image " + i);
        }
      }
    }
    var card = new ObjectMapper().readTree(tmp.resolve("damaged.json").toFile());
    assertEquals("damaged-1", card.get("version").asText());
    assertEquals("damaged.onnx", card.get("file").asText());
  }

  @Test
  void anUnknownLayerOrABadFilterIsRefused() {
    Path out = tmp.resolve("x.onnx");
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> ModelSurgery.zeroFilters(TestModels.model(), "conv1", new int[] {16}, out, "x"));
    assertTrue(e.getMessage().contains("filter 16 is outside 0..15"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class,
        () -> ModelSurgery.zeroFilters(TestModels.model(), "nope", new int[] {0}, out, "x"));
    assertTrue(e.getMessage().contains("--list-layers"), e.getMessage());
  }

  @Test
  void anAtomicReplaceLeavesTheTargetWhole() throws Exception {
    Path target = tmp.resolve("model.onnx");
    Files.write(target, new byte[] {1, 2, 3});
    Path src = tmp.resolve("src.bin");
    Files.write(src, new byte[] {9, 8, 7, 6});
    ModelSurgery.replaceAtomically(src, target);
    org.junit.jupiter.api.Assertions.assertArrayEquals(new byte[] {9, 8, 7, 6}, Files.readAllBytes(target));
  }
}
