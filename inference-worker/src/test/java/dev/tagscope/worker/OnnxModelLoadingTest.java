package dev.tagscope.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Listing, selecting and configuring the bundled model. */
class OnnxModelLoadingTest {

  private static ModelConfig config() throws Exception {
    return ModelConfig.of(TestModels.model()).withOverrides(TestModels.referencePreprocessing());
  }

  @Test
  void listLayersHasEveryNodeOutputWithDefaultsMarked() throws Exception {
    OnnxMl.GraphProto g = OnnxMl.ModelProto.parseFrom(Files.readAllBytes(TestModels.model())).getGraph();
    try (ActivationModel m = ActivationModel.load(config())) {
      List<LayerInfo> all = m.listLayers();
      assertEquals(g.getNodeCount(), all.size(), "one tappable tensor per node output");
      assertEquals(16, all.stream().filter(LayerInfo::defaultTap).count());
      Map<String, LayerInfo> byNode = all.stream().collect(Collectors.toMap(LayerInfo::nodeName, l -> l));
      // a node without a scope, and non-default nodes whose scope label is shared, fall back to the tensor name
      assertEquals("/Relu_output_0", byNode.get("/Relu").label());
      assertEquals("/layer1/layer1.0/conv1/Conv_output_0", byNode.get("/layer1/layer1.0/conv1/Conv").label());
      assertEquals("/layer1/layer1.0/Relu_output_0", byNode.get("/layer1/layer1.0/Relu").label());
      assertEquals("fc", byNode.get("/fc/Gemm").label());
      assertEquals("layer2.3", byNode.get("/layer2/layer2.3/Relu_1").label());
      assertEquals(all.size(), all.stream().map(LayerInfo::label).distinct().count(), "labels are unique");
    }
  }

  @Test
  void unknownLayerFailsAtOnceWithCloseMatches() throws Exception {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> ActivationModel.load(config().withLayers("conv1,layer3.9")));
    assertTrue(e.getMessage().contains("unknown layer 'layer3.9'"), e.getMessage());
    assertTrue(e.getMessage().contains("close matches: layer3."), e.getMessage());
    assertTrue(e.getMessage().contains("--list-layers"), e.getMessage());
    IllegalArgumentException g = assertThrows(IllegalArgumentException.class,
        () -> ActivationModel.load(config().withLayers("glob:layer9.*")));
    assertTrue(g.getMessage().contains("unknown pattern 'glob:layer9.*'"), g.getMessage());
  }

  @Test
  void layersByLabelNodeTensorAndPattern() throws Exception {
    try (ActivationModel m = ActivationModel.load(config()
        .withLayers("glob:layer3.*, /layer1/layer1.0/Relu_1, /conv1/Conv_output_0, regex:layer2\\.[02]"))) {
      assertEquals(List.of("conv1", "layer1.0", "layer2.0", "layer2.2", "layer3.0", "layer3.1", "layer3.2", "layer3.3",
          "layer3.4"), m.tappedLayers().stream().map(TappedLayer::name).collect(Collectors.toList()));
    }
    try (ActivationModel m = ActivationModel.load(config().withLayers("default,/Relu_output_0"))) {
      assertEquals(17, m.tappedLayers().size());
      assertEquals("/Relu_output_0", m.tappedLayers().get(1).name());
    }
  }

  @Test
  void cudaWithoutTheGpuArtifactFailsWithWhatIsNeeded() throws Exception {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> ActivationModel.load(config().withExecutionProvider("cuda")));
    assertTrue(e.getMessage().contains("onnxruntime_gpu"), e.getMessage());
    assertTrue(e.getMessage().contains("CUDA 12") && e.getMessage().contains("cuDNN 9"), e.getMessage());
    IllegalArgumentException bad = assertThrows(IllegalArgumentException.class,
        () -> config().withExecutionProvider("tpu"));
    assertTrue(bad.getMessage().contains("executionProvider"), bad.getMessage());
  }

  @Test
  void sidecarIsReadAndEachFieldCanBeOverridden(@TempDir Path dir) throws Exception {
    Path copy = dir.resolve("mini.onnx");
    Files.copy(TestModels.model(), copy);
    Files.writeString(dir.resolve("mini.json"), "{\"name\":\"mini-net\",\"input\":\"input\",\"channels\":1,"
        + "\"height\":28,\"width\":28,\"preprocessing\":{\"scale\":0.5,\"mean\":[0.25],\"std\":[2.0]},"
        + "\"classes\":[\"a\",\"b\"],\"unknownField\":true}");
    try (ActivationModel m = ActivationModel.load(ModelConfig.of(copy))) {
      assertEquals("mini-net", m.name());
      assertEquals(List.of("a", "b"), m.classes());
      assertEquals(new Preprocessing(0.5, List.of(0.25f), List.of(2f), 1, 28, 28), m.preprocessing());
    }
    ModelOverrides o = ModelOverrides.NONE.withName("other").withNormalisation(1.0, null, List.of(4f));
    try (ActivationModel m = ActivationModel.load(ModelConfig.of(copy).withOverrides(o))) {
      assertEquals("other", m.name());
      assertEquals(new Preprocessing(1.0, List.of(0.25f), List.of(4f), 1, 28, 28), m.preprocessing());
    }
    // without a sidecar: the file name and the graph's static input shape
    Path bare = dir.resolve("bare.onnx");
    Files.copy(TestModels.model(), bare);
    try (ActivationModel m = ActivationModel.load(ModelConfig.of(bare))) {
      assertEquals("bare", m.name());
      assertEquals(28, m.preprocessing().height());
    }
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ActivationModel.load(
        ModelConfig.of(bare).withOverrides(ModelOverrides.NONE.withInputShape(null, 32, null))));
    assertTrue(e.getMessage().contains("fixed height of 28"), e.getMessage());
  }

  @Test
  void missingOrBrokenModelFileFailsWithItsPath(@TempDir Path dir) throws Exception {
    IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
        () -> ActivationModel.load(ModelConfig.of(dir.resolve("nope.onnx"))));
    assertTrue(missing.getMessage().contains("nope.onnx") && missing.getMessage().contains("does not exist"));
    Path junk = dir.resolve("junk.onnx");
    Files.writeString(junk, "this is not a protobuf at all, just text");
    IllegalArgumentException broken = assertThrows(IllegalArgumentException.class,
        () -> ActivationModel.load(ModelConfig.of(junk)));
    assertTrue(broken.getMessage().contains("not an ONNX model"), broken.getMessage());
  }

  @Test
  void layersCanBeListedFromTheFileAloneAsATable() throws Exception {
    List<LayerInfo> fromFile = ActivationModel.listLayers(TestModels.model());
    try (ActivationModel m = ActivationModel.load(config())) {
      assertEquals(m.listLayers(), fromFile);
    }
    String table = ActivationModel.layerTable(fromFile);
    String[] lines = table.split("\n");
    assertEquals(fromFile.size() + 1, lines.length);
    assertTrue(lines[0].startsWith("LAYER"), lines[0]);
    String layer30 = java.util.Arrays.stream(lines).filter(l -> l.startsWith("layer3.0 ")).findFirst().orElseThrow();
    assertTrue(layer30.contains("Relu") && layer30.contains("/layer3/layer3.0/Relu_1") && layer30.contains("*"), layer30);
  }
}
