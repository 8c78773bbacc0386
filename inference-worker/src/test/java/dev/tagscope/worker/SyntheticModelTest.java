package dev.tagscope.worker;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl;
import dev.tagscope.schemas.Reduction;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A hand-built graph {@code x[1,2,2,2] -> /block/Relu -> r -> /squeeze/Squeeze(axis 0) -> s[2,2,2]}
 * with a fixed batch size of 1: exercises chunked runs and the refusal of a rank-3 tap.
 */
class SyntheticModelTest {
  @TempDir
  static Path dir;
  private static Path model;

  private static OnnxMl.ValueInfoProto floatInfo(String name, long... dims) {
    OnnxMl.TensorShapeProto.Builder shape = OnnxMl.TensorShapeProto.newBuilder();
    for (long d : dims) {
      shape.addDim(OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimValue(d));
    }
    return OnnxMl.ValueInfoProto.newBuilder().setName(name).setType(OnnxMl.TypeProto.newBuilder()
        .setTensorType(OnnxMl.TypeProto.Tensor.newBuilder().setElemType(OnnxMl.TensorProto.DataType.FLOAT_VALUE)
            .setShape(shape))).build();
  }

  @BeforeAll
  static void build() throws Exception {
    OnnxMl.GraphProto graph = OnnxMl.GraphProto.newBuilder()
        .setName("synthetic")
        .addInput(floatInfo("x", 1, 2, 2, 2))
        .addInitializer(OnnxMl.TensorProto.newBuilder().setName("axes").addDims(1)
            .setDataType(OnnxMl.TensorProto.DataType.INT64_VALUE).addInt64Data(0))
        .addNode(OnnxMl.NodeProto.newBuilder().setName("/block/Relu").setOpType("Relu").addInput("x").addOutput("r"))
        .addNode(OnnxMl.NodeProto.newBuilder().setName("/squeeze/Squeeze").setOpType("Squeeze")
            .addInput("r").addInput("axes").addOutput("s"))
        .addOutput(floatInfo("s", 2, 2, 2))
        .build();
    OnnxMl.ModelProto m = OnnxMl.ModelProto.newBuilder().setIrVersion(8).setProducerName("tagscope-test")
        .addOpsetImport(OnnxMl.OperatorSetIdProto.newBuilder().setVersion(13)).setGraph(graph).build();
    model = dir.resolve("synthetic.onnx");
    Files.write(model, m.toByteArray());
  }

  @Test
  void fixedBatchModelRunsLargerBatchesInChunks() {
    try (ActivationModel m = ActivationModel.load(ModelConfig.of(model).withLayers("block"))) {
      float[] in = {
          1, -1, 3, 5, /* n0 c0 */ -2, -2, -2, -2, /* n0 c1 */
          0, 0, 0, 4, /* n1 c0 */ 2, 2, 2, 2, /* n1 c1 */
          -1, 8, -1, 0, /* n2 c0 */ 1, 2, 3, 6 /* n2 c1 */};
      float[][] mean = m.run(in, 3, Reduction.MEAN).get("block");
      // relu then spatial mean: (1+0+3+5)/4, 0 ; 1, 2 ; 2, 3
      assertArrayEquals(new float[][] {{2.25f, 0f}, {1f, 2f}, {2f, 3f}}, mean);
      float[][] max = m.run(in, 3, Reduction.MAX).get("block");
      assertArrayEquals(new float[][] {{5f, 0f}, {4f, 2f}, {8f, 6f}}, max);
    }
  }

  @Test
  void fixedBatchLargerThanOneLoadsAndPadsTheLastChunk() throws Exception {
    // x[2,1,1,2] -> /block/Relu -> r (also the graph output): a model exported with N = 2
    OnnxMl.GraphProto graph = OnnxMl.GraphProto.newBuilder()
        .setName("synthetic2")
        .addInput(floatInfo("x", 2, 1, 1, 2))
        .addNode(OnnxMl.NodeProto.newBuilder().setName("/block/Relu").setOpType("Relu").addInput("x").addOutput("r"))
        .addOutput(floatInfo("r", 2, 1, 1, 2))
        .build();
    OnnxMl.ModelProto proto = OnnxMl.ModelProto.newBuilder().setIrVersion(8).setProducerName("tagscope-test")
        .addOpsetImport(OnnxMl.OperatorSetIdProto.newBuilder().setVersion(13)).setGraph(graph).build();
    Path file = dir.resolve("synthetic2.onnx");
    Files.write(file, proto.toByteArray());
    try (ActivationModel m = ActivationModel.load(ModelConfig.of(file).withLayers("block"))) {
      float[] in = {1, 3, /* n0 */ -4, 2, /* n1 */ 5, -1 /* n2: alone in the last chunk */};
      assertArrayEquals(new float[][] {{2f}, {1f}, {2.5f}}, m.run(in, 3, Reduction.MEAN).get("block"));
      assertArrayEquals(new float[][] {{2.5f}}, m.run(new float[] {5, -1}, 1, Reduction.MEAN).get("block"));
      ActivationModel.Forward f = m.forward(new float[] {5, -1}, 1);
      assertArrayEquals(new long[] {1, 1, 1, 2}, f.layers().get("block").shape());
      assertArrayEquals(new float[] {5, 0}, f.layers().get("block").data());
    }
  }

  @Test
  void aTapThatIsNeitherFourNorTwoDimensionalIsRefusedAtLoad() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> ActivationModel.load(ModelConfig.of(model).withLayers("squeeze")));
    assertTrue(e.getMessage().contains("layer squeeze") && e.getMessage().contains("[2, 2, 2]"), e.getMessage());
    assertTrue(e.getMessage().contains("[N,C,H,W]"), e.getMessage());
  }

  @Test
  void aTensorOfAnotherRankIsNotListedButCanBeNamedExactly() {
    assertEquals(List.of("block"), ActivationModel.listLayers(model).stream().map(LayerInfo::label).toList(),
        "the [2,2,2] squeeze output is no feature map");
    try (ActivationModel m = ActivationModel.load(ModelConfig.of(model).withLayers("glob:*"))) {
      assertEquals(List.of("block"), m.tappedLayers().stream().map(TappedLayer::name).toList(), "patterns skip it");
    }
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> ActivationModel.load(ModelConfig.of(model).withLayers("s")));
    assertTrue(e.getMessage().contains("[2, 2, 2]"), "named by its tensor, it reaches the trial run: " + e.getMessage());
  }

  @Test
  void aModelWithoutDefaultTapsSaysSo() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> ActivationModel.load(ModelConfig.of(model)));
    assertTrue(e.getMessage().contains("no default taps"), e.getMessage());
    try (ActivationModel m = ActivationModel.load(ModelConfig.of(model).withLayers("r"))) {
      assertEquals("block", m.tappedLayers().get(0).name(), "tensor name selects the layer; its label is the scope");
    }
  }
}
