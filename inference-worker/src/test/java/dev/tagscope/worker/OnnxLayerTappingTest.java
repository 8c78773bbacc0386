package dev.tagscope.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import com.fasterxml.jackson.databind.JsonNode;
import dev.tagscope.schemas.Reduction;
import dev.tagscope.worker.internal.OnnxGraph;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Layer tapping of the bundled ResNet-32 checked against what the model itself computes:
 * a natively produced tensor, PyTorch forward hooks (models/*.reference.json), and the logits.
 */
class OnnxLayerTappingTest {
  private static final int N = 4;
  private static ActivationModel model;
  private static float[] input; // [4,1,28,28], preprocessed like the reference
  private static JsonNode reference;

  @BeforeAll
  static void load() throws Exception {
    reference = TestModels.referenceJson();
    model = ActivationModel.load(ModelConfig.of(TestModels.model())
        .withOverrides(TestModels.referencePreprocessing()).withIntraOpThreads(2));
    Preprocessor pre = new Preprocessor(model.preprocessing());
    byte[][] images = TestModels.sampleImages();
    input = new float[N * pre.inputLength()];
    for (int i = 0; i < N; i++) {
      pre.apply(images[reference.get("imageIndices").get(i).asInt()], 1, 28, 28, input, i * pre.inputLength());
    }
  }

  @AfterAll
  static void close() {
    model.close();
  }

  private static OrtSession session(byte[] bytes) throws Exception {
    try (OrtSession.SessionOptions o = new OrtSession.SessionOptions()) {
      o.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
      o.setIntraOpNumThreads(2);
      return OrtEnvironment.getEnvironment().createSession(bytes, o);
    }
  }

  private static float[] runNative(OrtSession s, String output) throws Exception {
    try (OnnxTensor in = OnnxTensor.createTensor(OrtEnvironment.getEnvironment(), FloatBuffer.wrap(input),
        new long[] {N, 1, 28, 28});
         OrtSession.Result r = s.run(Map.of("input", in), Set.of(output))) {
      FloatBuffer b = ((OnnxTensor) r.get(output).orElseThrow()).getFloatBuffer();
      float[] out = new float[b.remaining()];
      b.get(out);
      return out;
    }
  }

  @Test
  void defaultTapsAreTheFirstConvolutionAndEveryResidualBlockOutput() {
    List<String> expected = new ArrayList<>(List.of("conv1"));
    for (int stage = 1; stage <= 3; stage++) {
      for (int b = 0; b < 5; b++) {
        expected.add("layer" + stage + "." + b);
      }
    }
    List<TappedLayer> taps = model.tappedLayers();
    assertEquals(expected, taps.stream().map(TappedLayer::name).toList());
    assertEquals("/conv1/Conv_output_0", taps.get(0).info().tensorName());
    assertEquals("Conv", taps.get(0).info().opType());
    assertEquals("/layer1/layer1.0/Relu_1", taps.get(1).info().nodeName());
    assertEquals("/layer3/layer3.4/Relu_1_output_0", taps.get(15).info().tensorName());
    int[] channels = taps.stream().mapToInt(TappedLayer::channels).toArray();
    assertEquals("[16, 16, 16, 16, 16, 16, 32, 32, 32, 32, 32, 64, 64, 64, 64, 64]", Arrays.toString(channels));
    assertTrue(taps.stream().allMatch(TappedLayer::spatial));
  }

  @Test
  void fullTappedTensorEqualsTheTensorOfAGraphThatOutputsOnlyIt() throws Exception {
    OnnxGraph graph = OnnxGraph.parse(Files.readAllBytes(TestModels.model()), "model");
    ActivationModel.Forward f = model.forward(input, N);
    for (String layer : List.of("conv1", "layer1.2", "layer2.0", "layer3.4")) {
      TappedLayer tap = model.tappedLayers().stream().filter(t -> t.name().equals(layer)).findFirst().orElseThrow();
      float[] nativeValues;
      try (OrtSession s = session(graph.withOnlyOutputs(List.of(tap.info().tensorName())))) {
        assertEquals(List.of(tap.info().tensorName()), new ArrayList<>(s.getOutputNames()));
        nativeValues = runNative(s, tap.info().tensorName());
      }
      FloatTensor tapped = f.layers().get(layer);
      assertEquals(4, tapped.rank());
      assertEquals(nativeValues.length, tapped.data().length, layer);
      float maxAbs = 0;
      for (int i = 0; i < nativeValues.length; i++) {
        assertEquals(nativeValues[i], tapped.data()[i], 1e-6f * Math.max(1f, Math.abs(nativeValues[i])),
            layer + " element " + i);
        maxAbs = Math.max(maxAbs, Math.abs(nativeValues[i]));
      }
      assertTrue(maxAbs > 0, layer + " is all zeros: the comparison would prove nothing");
    }
  }

  @Test
  void spatialMeanAndMaxOfEveryDefaultTapMatchPyTorchForwardHooks() {
    Map<String, float[][]> mean = model.run(input, N, Reduction.MEAN);
    Map<String, float[][]> max = model.run(input, N, Reduction.MAX);
    JsonNode layers = reference.get("layers");
    List<TappedLayer> taps = model.tappedLayers();
    assertEquals(layers.size(), taps.size());
    for (int l = 0; l < taps.size(); l++) {
      String name = taps.get(l).name();
      JsonNode ref = layers.get(l);
      assertEquals(ref.get("module").asText(), name, "layers in the same order with the same names");
      assertEquals(ref.get("shape").get(0).asInt(), taps.get(l).channels());
      for (int n = 0; n < N; n++) {
        for (int c = 0; c < taps.get(l).channels(); c++) {
          double m = ref.get("mean").get(n).get(c).asDouble();
          double x = ref.get("max").get(n).get(c).asDouble();
          assertEquals(m, mean.get(name)[n][c], 1e-4 + 1e-5 * Math.abs(m), name + " mean n=" + n + " c=" + c);
          assertEquals(x, max.get(name)[n][c], 1e-4 + 1e-5 * Math.abs(x), name + " max n=" + n + " c=" + c);
        }
      }
    }
  }

  @Test
  void logitsAreUnchangedByTapping() throws Exception {
    float[] untapped;
    try (OrtSession s = session(Files.readAllBytes(TestModels.model()))) {
      assertEquals(Set.of("logits"), s.getOutputNames());
      untapped = runNative(s, "logits");
    }
    FloatTensor logits = model.forward(input, N).outputs().get("logits");
    assertEquals("[4, 10]", Arrays.toString(logits.shape()));
    JsonNode ref = reference.get("logits");
    for (int i = 0; i < untapped.length; i++) {
      assertEquals(untapped[i], logits.data()[i], 1e-6f * Math.max(1f, Math.abs(untapped[i])), "logit " + i);
      assertEquals(ref.get(i / 10).get(i % 10).asDouble(), logits.data()[i], 1e-4, "PyTorch logit " + i);
    }
  }

  @Test
  void aTwoDimensionalTapIsTakenAsIs() throws Exception {
    try (ActivationModel fc = ActivationModel.load(ModelConfig.of(TestModels.model())
        .withOverrides(TestModels.referencePreprocessing()).withLayers("fc"))) {
      TappedLayer tap = fc.tappedLayers().get(0);
      assertEquals("/fc/Gemm", tap.info().nodeName());
      assertEquals(10, tap.channels());
      assertFalse(tap.spatial());
      float[][] values = fc.run(input, N, Reduction.L2).get("fc");
      float[] logits = model.forward(input, N).outputs().get("logits").data();
      for (int n = 0; n < N; n++) {
        for (int c = 0; c < 10; c++) {
          assertEquals(logits[n * 10 + c], values[n][c], 1e-5f);
        }
      }
    }
  }
}
