package dev.tagscope.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl;
import com.google.protobuf.ByteString;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Ablation through the rewritten graph (a channel mask after the tapped tensor, the graph cut
 * there) gives the same logits as a second copy of the model whose producing weights and bias
 * for that channel are zeroed, built here by editing the ONNX initializers: for {@code conv1}
 * (a convolution before its ReLU) and for {@code layer2.0} (a residual block's output, whose
 * channel is written by the block's last convolution and its 1x1 projection shortcut), on real
 * Fashion-MNIST test images.
 */
class AblationModelTest {
  private static final int IMAGES = 24;
  private static AblationModel model;
  private static float[] input;

  @TempDir static Path tmp;

  @BeforeAll
  static void load() throws Exception {
    model = AblationModel.load(ModelConfig.of(TestModels.model()).withIntraOpThreads(2));
    byte[][] images = TestModels.sampleImages();
    Preprocessor pre = new Preprocessor(model.activations().preprocessing());
    input = new float[IMAGES * pre.inputLength()];
    for (int i = 0; i < IMAGES; i++) {
      pre.apply(images[i], 1, 28, 28, input, i * pre.inputLength());
    }
  }

  @AfterAll
  static void close() {
    model.close();
  }

  @Test
  void ablatingConv1FilterEqualsZeroingItsWeightsAndBias() throws Exception {
    int k = 5;
    float[][] expected = logitsWithZeroedChannel(List.of("/conv1/Conv"), k);
    float[][] viaMask = ablate("conv1", k);
    assertClose(expected, viaMask, 2e-4f);
    assertChanged(viaMask, model.upstream(input, IMAGES).logits());
  }

  @Test
  void ablatingResidualBlockOutputEqualsZeroingBothBranchesThatWriteIt() throws Exception {
    int k = 17;
    float[][] expected = logitsWithZeroedChannel(List.of("/layer2/layer2.0/conv2/Conv", "/layer2/layer2.0/shortcut/shortcut.0/Conv"), k);
    float[][] viaMask = ablate("layer2.0", k);
    assertClose(expected, viaMask, 2e-4f);
    assertChanged(viaMask, model.upstream(input, IMAGES).logits());
  }

  @Test
  void theMaskedNetworkAblatesSeveralLayersAtOnceLikeZeroedWeights() throws Exception {
    int k = 3;
    float[] conv1 = ones(16);
    conv1[k] = 0;
    float[] l2 = ones(32);
    l2[k] = 0;
    float[][] viaMask = model.ablateNetwork(input, IMAGES, Map.of("conv1", conv1, "layer2.0", l2));
    float[][] expected = logitsWithZeroedChannel(List.of("/conv1/Conv", "/layer2/layer2.0/conv2/Conv",
        "/layer2/layer2.0/shortcut/shortcut.0/Conv"), k);
    assertClose(expected, viaMask, 2e-4f);
  }

  @Test
  void anAllOnesMaskGivesTheUnablatedLogitsAndRowsFollowTheirMasks() {
    AblationModel.Upstream up = model.upstream(input, IMAGES);
    float[] keep = ones(64);
    float[] drop = ones(64);
    drop[0] = 0;
    float[][] both = model.ablateLayer(up, "layer3.4", new float[][] {keep, drop});
    assertEquals(2 * IMAGES, both.length);
    assertClose(up.logits(), Arrays.copyOfRange(both, 0, IMAGES), 1e-4f);
    assertClose(model.ablateLayer(up, "layer3.4", new float[][] {drop}), Arrays.copyOfRange(both, IMAGES, 2 * IMAGES), 1e-5f);
  }

  @Test
  void theCutOfABlockOutputReadsOnlyThatTensorAndTheWeightsAreFound() {
    assertEquals(List.of("/layer2/layer2.0/Relu_1_output_0"), model.frontier("layer2.0"));
    Optional<AblationModel.WeightNorms> w = model.producingWeights("layer2.0");
    assertTrue(w.isPresent());
    assertEquals(List.of("/layer2/layer2.0/conv2/Conv", "/layer2/layer2.0/shortcut/shortcut.0/Conv"), w.get().convolutions());
    // An identity-shortcut block counts only its own last convolution.
    assertEquals(List.of("/layer2/layer2.1/conv2/Conv"), model.producingWeights("layer2.1").orElseThrow().convolutions());
  }

  @Test
  void badRequestsAreRefusedWithTheReason() {
    AblationModel.Upstream up = model.upstream(input, IMAGES);
    IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class,
        () -> model.ablateLayer(up, "layer9", new float[][] {ones(16)}));
    assertTrue(unknown.getMessage().contains("not tapped"), unknown.getMessage());
    IllegalArgumentException shortMask = assertThrows(IllegalArgumentException.class,
        () -> model.ablateLayer(up, "conv1", new float[][] {ones(15)}));
    assertTrue(shortMask.getMessage().contains("16 filters"), shortMask.getMessage());
  }

  private static float[][] ablate(String layer, int k) {
    AblationModel.Upstream up = model.upstream(input, IMAGES);
    int c = model.tappedLayers().stream().filter(t -> t.name().equals(layer)).findFirst().orElseThrow().channels();
    float[] mask = ones(c);
    mask[k] = 0;
    return model.ablateLayer(up, layer, new float[][] {mask});
  }

  /** Logits of a copy of the model file whose given convolutions have weight[k] and bias[k] set to 0. */
  private static float[][] logitsWithZeroedChannel(List<String> convNodes, int k) throws Exception {
    OnnxMl.ModelProto m = OnnxMl.ModelProto.parseFrom(Files.readAllBytes(TestModels.model()));
    OnnxMl.GraphProto.Builder g = m.getGraph().toBuilder();
    for (String node : convNodes) {
      OnnxMl.NodeProto conv = m.getGraph().getNodeList().stream().filter(n -> n.getName().equals(node)).findFirst().orElseThrow();
      for (int i = 0; i < g.getInitializerCount(); i++) {
        OnnxMl.TensorProto t = g.getInitializer(i);
        if (t.getName().equals(conv.getInput(1)) || t.getName().equals(conv.getInput(2))) {
          g.setInitializer(i, zeroChannel(t, k));
        }
      }
    }
    Path copy = tmp.resolve("zeroed-" + Math.abs(convNodes.hashCode()) + "-" + k + ".onnx");
    Files.write(copy, m.toBuilder().setGraph(g).build().toByteArray());
    Files.copy(TestModels.model().resolveSibling("fmnist-resnet32.json"), copy.resolveSibling(copy.getFileName().toString()
        .replace(".onnx", ".json")), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    try (ActivationModel zeroed = ActivationModel.load(ModelConfig.of(copy).withLayers("conv1").withIntraOpThreads(2))) {
      float[] logits = zeroed.forward(input, IMAGES).outputs().get("logits").data();
      float[][] out = new float[IMAGES][10];
      for (int i = 0; i < IMAGES; i++) {
        System.arraycopy(logits, i * 10, out[i], 0, 10);
      }
      return out;
    }
  }

  private static OnnxMl.TensorProto zeroChannel(OnnxMl.TensorProto t, int k) {
    ByteBuffer raw = ByteBuffer.wrap(t.getRawData().toByteArray()).order(ByteOrder.LITTLE_ENDIAN);
    int floats = raw.capacity() / 4;
    int per = floats / (int) t.getDims(0);
    for (int i = k * per; i < (k + 1) * per; i++) {
      raw.putFloat(4 * i, 0f);
    }
    return t.toBuilder().setRawData(ByteString.copyFrom(raw.array())).build();
  }

  private static float[] ones(int n) {
    float[] m = new float[n];
    Arrays.fill(m, 1f);
    return m;
  }

  private static void assertClose(float[][] expected, float[][] actual, float tol) {
    assertEquals(expected.length, actual.length);
    for (int i = 0; i < expected.length; i++) {
      for (int j = 0; j < expected[i].length; j++) {
        assertEquals(expected[i][j], actual[i][j], tol, "row " + i + " logit " + j);
      }
    }
  }

  /** The ablation must move the logits, or the equality above would prove nothing. */
  private static void assertChanged(float[][] ablated, float[][] base) {
    double maxDiff = 0;
    for (int i = 0; i < base.length; i++) {
      for (int j = 0; j < base[i].length; j++) {
        maxDiff = Math.max(maxDiff, Math.abs(ablated[i][j] - base[i][j]));
      }
    }
    assertTrue(maxDiff > 1e-2, "ablation changed the logits by only " + maxDiff);
  }
}
