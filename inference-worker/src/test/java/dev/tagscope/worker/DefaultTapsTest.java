package dev.tagscope.worker;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Default taps on four CNN families besides the bundled ResNet-32, from graphs that
 * {@link TestGraphs} builds (3-channel input, 32 to 48 pixels) and ONNX Runtime runs like any
 * model file: the defaults are exactly the stages a user would name, each one an
 * {@code [N,C,H,W]} feature map of the shape its architecture gives, and the layer list holds
 * activations only.
 */
class DefaultTapsTest {
  private static final int N = 2;
  private static final Set<String> CONSTANT_OPS = Set.of("Constant", "Identity", "Shape", "Gather", "Unsqueeze",
      "Concat");

  @TempDir
  static Path dir;

  /** A default tap: its label, the operator that produces it and its output shape for one image. */
  private record Stage(String label, String opType, int c, int h, int w) {}

  @Test
  void aPlainStackTapsTheFirstConvolutionAndEachConvolutionAfterItsNonlinearity() throws Exception {
    check(TestGraphs.vgg(), "vgg.onnx", List.of(
        new Stage("features.0", "Conv", 8, 32, 32),
        new Stage("features.1", "Relu", 8, 32, 32),
        new Stage("features.4", "Relu", 16, 16, 16),
        new Stage("features.6", "LeakyRelu", 16, 16, 16),
        new Stage("features.10", "Mul", 32, 8, 8)));
  }

  @Test
  void aMobileNetTapsTheFirstConvolutionAndEveryBlockWithOrWithoutSkip() throws Exception {
    check(TestGraphs.mobileNet(), "mobilenet.onnx", List.of(
        new Stage("features.0.0", "Conv", 16, 24, 24),
        new Stage("features.0", "Clip", 16, 24, 24),
        new Stage("features.1", "BatchNormalization", 8, 24, 24),
        new Stage("features.2", "BatchNormalization", 12, 12, 12),
        new Stage("features.3", "Add", 12, 12, 12),
        new Stage("features.4", "Add", 12, 12, 12),
        new Stage("features.5", "Clip", 32, 12, 12)));
  }

  @Test
  void nestedStagesTapEveryBlockInsideThemAndTheConvolutionsBesideThem() throws Exception {
    check(TestGraphs.efficientNet(), "efficientnet.onnx", List.of(
        new Stage("features.0.0", "Conv", 16, 20, 20),
        new Stage("features.0", "Mul", 16, 20, 20),
        new Stage("features.1", "BatchNormalization", 8, 20, 20),
        new Stage("features.2.0", "BatchNormalization", 16, 10, 10),
        new Stage("features.2.1", "Add", 16, 10, 10),
        new Stage("features.3", "Mul", 32, 10, 10)));
  }

  @Test
  void aResNetTapsTheFirstConvolutionAndEveryResidualBlockButNoOtherStemLayer() throws Exception {
    check(TestGraphs.resNet(), "resnet.onnx", List.of(
        new Stage("conv1", "Conv", 8, 40, 40),
        new Stage("layer1.0", "Relu", 8, 20, 20),
        new Stage("layer1.1", "Relu", 8, 20, 20),
        new Stage("layer2.0", "Relu", 16, 10, 10),
        new Stage("layer2.1", "Relu", 16, 10, 10)));
  }

  private static void check(OnnxMl.ModelProto proto, String file, List<Stage> expected) throws Exception {
    Path path = TestGraphs.write(proto, dir, file);
    List<String> names = expected.stream().map(Stage::label).toList();
    List<LayerInfo> listed;
    try (ActivationModel m = ActivationModel.load(ModelConfig.of(path).withIntraOpThreads(1))) {
      listed = m.listLayers();
      assertEquals(names, m.tappedLayers().stream().map(TappedLayer::name).toList(), "default taps");
      assertEquals(names, listed.stream().filter(LayerInfo::defaultTap).map(LayerInfo::label).toList());
      assertEquals(listed.size(), listed.stream().map(LayerInfo::label).distinct().count(), "labels are unique");
      float[] input = new float[N * m.preprocessing().inputLength()];
      Random random = new Random(7);
      for (int i = 0; i < input.length; i++) {
        input[i] = random.nextFloat() * 2 - 1;
      }
      ActivationModel.Forward f = m.forward(input, N);
      for (int i = 0; i < expected.size(); i++) {
        Stage s = expected.get(i);
        TappedLayer tap = m.tappedLayers().get(i);
        assertEquals(s.opType(), tap.info().opType(), s.label());
        assertTrue(tap.spatial(), s.label());
        assertEquals(s.c(), tap.channels(), s.label());
        assertArrayEquals(new long[] {N, s.c(), s.h(), s.w()}, f.layers().get(s.label()).shape(), s.label());
      }
    }
    assertNoConstantListed(proto.getGraph(), listed);
    // the load-time trial run refuses any tap that is not a float [N,C,H,W] or [N,C]: all listed ones pass
    try (ActivationModel all = ActivationModel.load(ModelConfig.of(path).withLayers("glob:*").withIntraOpThreads(1))) {
      assertEquals(listed.size(), all.tappedLayers().size());
    }
  }

  /**
   * No initializer, Constant output, weight passed through Identity, or shape arithmetic
   * (Shape, Gather, Unsqueeze, Concat: in these graphs they only ever handle weights and shapes)
   * is listed.
   */
  private static void assertNoConstantListed(OnnxMl.GraphProto graph, List<LayerInfo> listed) {
    Set<String> constants = new HashSet<>();
    graph.getInitializerList().forEach(t -> constants.add(t.getName()));
    Set<String> ops = new HashSet<>();
    for (OnnxMl.NodeProto n : graph.getNodeList()) {
      if (CONSTANT_OPS.contains(n.getOpType())) {
        constants.addAll(n.getOutputList());
        ops.add(n.getOpType());
      }
    }
    assertTrue(ops.containsAll(Set.of("Constant", "Identity")), "the graph has constants to leave out: " + ops);
    for (LayerInfo l : listed) {
      assertFalse(constants.contains(l.tensorName()), l + " is not an activation");
    }
  }
}
