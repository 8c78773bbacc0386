package dev.tagscope.validation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl;
import dev.tagscope.producer.Image;
import dev.tagscope.producer.ImageLoader;
import dev.tagscope.schemas.Reduction;
import dev.tagscope.tagging.AnalysisPlan;
import dev.tagscope.tagging.Layout;
import dev.tagscope.tagging.ProbePlan;
import dev.tagscope.tagging.spectral.LayerAccumulator;
import dev.tagscope.tagging.spectral.SpatialMap;
import dev.tagscope.testsupport.ProjectFiles;
import dev.tagscope.worker.ActivationModel;
import dev.tagscope.worker.ModelConfig;
import dev.tagscope.worker.Preprocessing;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The spatial tag map of {@code conv1} (a 3x3 convolution with BatchNorm folded in, before its
 * ReLU, so linear in the pixels) against its weights: probed with {@code grid:4x4}, filter k's
 * amplitude at cell r's fundamental must be what the ONNX initializers predict.
 *
 * <p>With MEAN reduction the filter's series is {@code y_k(i) = sum_r g_kr * m_r(i) + const},
 * {@code g_kr = (1/(H*W)) * sum_{p in cell r} (x_p * scale / std) * w_k(p)}, where
 * {@code w_k(p)} is the sum of the kernel taps {@code W[k,0,dy,dx]} through which pixel p reaches
 * an output position inside the {@code H x W} map (zero padding: a pixel on the border reaches
 * fewer outputs), and {@code m_r(i) = c + a*sin(2 pi f_r i / fps)}; the normalisation's mean and
 * the bias only shift the constant. So the amplitude at {@code f_r} is {@code a * |g_kr|}.
 *
 * <p>Tolerance: frames are rounded to uint8 pixels (README, "conv1"), an error of at most 0.5 grey
 * levels per pixel, i.e. at most {@code 0.5/(x_p*a)} of a pixel's modulation; the test allows
 * 0.5 % of the filter's largest predicted cell plus {@code 1e-5} activation units absolute (the
 * largest error seen on the first sample image is 0.2 %, the same size as the rounding harmonics
 * the README reports for conv1). And each filter's map must be nearer its own prediction than
 * any other filter's, so the match is specific to the filter.
 */
class Conv1SpatialMapTest {
  private static final double A = 0.25;

  @Test
  void conv1MapIsItsOwnWeightsAppliedToTheCellContrast() throws Exception {
    // grid:4x4 at W = 240: fundamentals and harmonics up to 3f on distinct bins, no IM terms
    // (conv1 is linear: it has none, and the rounding adds only per-cell harmonics).
    checkConv1(ProbePlan.builder().model("fmnist-resnet32").layout("grid:4x4").windowFrames(240).maxHarmonic(3)
        .maxImOrder(0).imageShape(1, 28, 28).imageCount(1).layers(List.of("conv1")).build());
  }

  @Test
  void withTheDefaultGridCatalogueConv1CombinesNoCells() throws Exception {
    // The README's grid:4x4 plan: harmonics to 4f, IM order 2 (240 pair terms), 4000 frames.
    checkConv1(ProbePlan.builder().model("fmnist-resnet32").layout("grid:4x4").windowFrames(4000)
        .imageShape(1, 28, 28).imageCount(1).layers(List.of("conv1")).build());
  }

  /** Asserts conv1's maps against its weights and that it has no IM pair above the floor. */
  private static void checkConv1(ProbePlan plan) throws Exception {
    List<Image> images = ImageLoader.builder().limit(1).build().load(ProjectFiles.samples());
    Image image = images.get(0);
    LayerAccumulator acc;
    Preprocessing pre;
    try (ActivationModel model = ActivationModel.load(ModelConfig.of(ProjectFiles.bundledModel()).withLayers("conv1")
        .withIntraOpThreads(2))) {
      pre = model.preprocessing();
      acc = new TagProbe(model, plan, List.of(Reduction.MEAN)).run(images, List.of(), done -> { })
          .get(1).get(Reduction.MEAN).get("conv1");
    }
    AnalysisPlan info = plan.analysis();
    List<SpatialMap> maps = SpatialMap.of(info, acc.meanCorrected());
    assertEquals(16, maps.size(), "conv1 has 16 filters");

    // conv1's weights [16,1,3,3], stride 1, padding 1, from the ONNX initializers
    OnnxMl.ModelProto m = OnnxMl.ModelProto.parseFrom(Files.readAllBytes(ProjectFiles.bundledModel()));
    OnnxMl.NodeProto conv = m.getGraph().getNodeList().stream().filter(n -> n.getName().equals("/conv1/Conv")).findFirst()
        .orElseThrow();
    for (OnnxMl.AttributeProto at : conv.getAttributeList()) {
      if (at.getName().equals("pads")) {
        at.getIntsList().forEach(v -> assertEquals(1L, v, "padding 1"));
      } else if (at.getName().equals("strides")) {
        at.getIntsList().forEach(v -> assertEquals(1L, v, "stride 1"));
      }
    }
    OnnxMl.TensorProto wt = m.getGraph().getInitializerList().stream().filter(t -> t.getName().equals(conv.getInput(1)))
        .findFirst().orElseThrow();
    assertEquals(List.of(16L, 1L, 3L, 3L), wt.getDimsList());
    ByteBuffer raw = ByteBuffer.wrap(wt.getRawData().toByteArray()).order(ByteOrder.LITTLE_ENDIAN);

    int h = 28;
    int w = 28;
    List<Layout.Rect> cells = Layout.parse("grid:4x4").regions(h, w);
    double scale = pre.scale() / pre.stdOf(0);
    int informative = 0;
    double[][] predicted = new double[16][];
    for (int k = 0; k < 16; k++) {
      double[][] weff = new double[h][w];
      for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
          for (int dy = 0; dy < 3; dy++) {
            for (int dx = 0; dx < 3; dx++) {
              int oy = y + 1 - dy;
              int ox = x + 1 - dx;
              if (oy >= 0 && oy < h && ox >= 0 && ox < w) {
                weff[y][x] += raw.getFloat(4 * (k * 9 + dy * 3 + dx));
              }
            }
          }
        }
      }
      double[] expected = new double[16];
      double largest = 0;
      for (int r = 0; r < 16; r++) {
        Layout.Rect c = cells.get(r);
        double g = 0;
        for (int y = c.y0(); y < c.y1(); y++) {
          for (int x = c.x0(); x < c.x1(); x++) {
            g += image.pixel(0, y, x) * scale * weff[y][x];
          }
        }
        expected[r] = A * Math.abs(g / (h * w));
        largest = Math.max(largest, expected[r]);
      }
      predicted[k] = expected;
      double tol = 0.005 * largest + 1e-5;
      SpatialMap map = maps.get(k);
      for (int r = 0; r < 16; r++) {
        double measured = map.cells()[r / 4][r % 4];
        assertEquals(expected[r], measured, tol, "filter " + k + " cell " + cells.get(r).name());
        if (expected[r] > 0.1 * largest) {
          informative++;
        }
      }
      assertTrue(map.imPairs().isEmpty(), "conv1 is linear and combines no cells, got " + map.imPairs());
    }
    for (int k = 0; k < 16; k++) {
      double own = squaredError(maps.get(k), predicted[k]);
      for (int j = 0; j < 16; j++) {
        if (j != k) {
          assertTrue(own < squaredError(maps.get(k), predicted[j]), "filter " + k + "'s map is nearer filter " + j + "'s weights");
        }
      }
    }
    assertTrue(informative >= 16 * 4, "the image must drive several cells of each filter, got " + informative);
  }

  private static double squaredError(SpatialMap map, double[] predicted) {
    double s = 0;
    for (int r = 0; r < predicted.length; r++) {
      double d = map.cells()[r / map.cols()][r % map.cols()] - predicted[r];
      s += d * d;
    }
    return s;
  }
}
