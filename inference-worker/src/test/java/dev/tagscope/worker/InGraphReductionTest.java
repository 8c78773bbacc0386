package dev.tagscope.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tagscope.schemas.Reduction;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link ActivationModel#run} takes each filter's reduction from the graph itself (pooling nodes
 * appended to every tapped feature map), so that only {@code [N,C]} leaves the engine. Checked
 * here against the independent path: the full {@code [N,C,H,W]} maps from
 * {@link ActivationModel#forward} reduced in Java by {@link Reductions}, for every reduction, on the
 * bundled model and on a test-built MobileNet-like graph (3 channels, BatchNorm unfolded).
 */
class InGraphReductionTest {
  @TempDir Path dir;

  @Test
  void bundledModelReducesInTheGraphAsJavaDoes() {
    check(ModelConfig.of(TestModels.model()));
  }

  @Test
  void testBuiltGraphReducesInTheGraphAsJavaDoes() throws Exception {
    check(ModelConfig.of(TestGraphs.write(TestGraphs.mobileNet(), dir, "mobilenet.onnx")));
  }

  private static void check(ModelConfig config) {
    try (ActivationModel m = ActivationModel.load(config)) {
      int n = 3;
      float[] input = new float[n * m.preprocessing().inputLength()];
      Random random = new Random(7);
      for (int i = 0; i < input.length; i++) {
        input[i] = (float) random.nextGaussian();
      }
      ActivationModel.Forward full = m.forward(input, n);
      for (Reduction r : Reduction.values()) {
        Map<String, float[][]> got = m.run(input, n, r);
        for (TappedLayer t : m.tappedLayers()) {
          FloatTensor tensor = full.layers().get(t.name());
          int spatial = tensor.rank() == 4 ? tensor.dim(2) * tensor.dim(3) : 1;
          float[][] expected = Reductions.reduceAll(tensor.data(), n, t.channels(), spatial, r);
          for (int i = 0; i < n; i++) {
            for (int c = 0; c < t.channels(); c++) {
              float e = expected[i][c];
              float g = got.get(t.name())[i][c];
              // float32 accumulation in the engine against double accumulation in Java
              assertEquals(e, g, 1e-5 * Math.max(1, Math.abs(e)), t.name() + " " + r + " sample " + i + " filter " + c);
            }
          }
        }
      }
      assertTrue(m.tappedLayers().size() > 1, "several layers checked");
      // every tapped feature map took the graph's path, so the comparison above was not Java against Java
      java.util.Set<String> featureMaps = new java.util.HashSet<>();
      for (TappedLayer t : m.tappedLayers()) {
        if (full.layers().get(t.name()).rank() == 4) {
          featureMaps.add(t.info().tensorName());
        }
      }
      assertTrue(!featureMaps.isEmpty(), "the model taps feature maps");
      for (Reduction r : Reduction.values()) {
        assertEquals(featureMaps, ((OnnxActivationModel) m).reducedInGraph(r), r.name());
      }
    }
  }
}
