package dev.tagscope.worker.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tagscope.worker.LayerInfo;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class LayerNamingTest {

  @Test
  void labelIsTheInnermostScope() {
    assertEquals("conv1", OnnxGraph.scopeLabel("/conv1/Conv", "Conv"));
    assertEquals("layer1.0", OnnxGraph.scopeLabel("/layer1/layer1.0/Relu_1", "Relu"));
    assertEquals("shortcut.0", OnnxGraph.scopeLabel("/layer2/layer2.0/shortcut/shortcut.0/Conv", "Conv"));
    assertEquals("", OnnxGraph.scopeLabel("/Relu", "Relu"));
    assertEquals("", OnnxGraph.scopeLabel("", "Relu"));
  }

  @Test
  void aScopeThatOnlyNamesTheOperatorDefersToItsParent() {
    // torchvision reuses one nn.ReLU per block: /layer1/layer1.0/relu_1/Relu is the block output
    assertEquals("layer1.0", OnnxGraph.scopeLabel("/layer1/layer1.0/relu_1/Relu", "Relu"));
    assertEquals("layer4.1", OnnxGraph.scopeLabel("/layer4/layer4.1/relu/Relu", "Relu"));
    // ... unless there is no parent
    assertEquals("maxpool", OnnxGraph.scopeLabel("/maxpool/MaxPool", "MaxPool"));
    // "conv1" is a module name, not the operator with a suffix
    assertEquals("conv1", OnnxGraph.scopeLabel("/layer1/layer1.0/conv1/Conv", "Conv"));
  }

  @Test
  void globsAreWholeStringWithLiteralDots() {
    assertTrue(Pattern.matches(LayerSelector.globToRegex("layer3.*"), "layer3.4"));
    assertTrue(!Pattern.matches(LayerSelector.globToRegex("layer3.*"), "layer3x4"));
    assertTrue(Pattern.matches(LayerSelector.globToRegex("layer?.0"), "layer2.0"));
    assertTrue(!Pattern.matches(LayerSelector.globToRegex("layer?.0"), "xlayer2.0"));
  }

  @Test
  void closeMatchesRankByEditDistance() {
    List<LayerInfo> layers = List.of(
        new LayerInfo("conv1", "/conv1/Conv", "Conv", "/conv1/Conv_output_0", true),
        new LayerInfo("layer1.0", "/layer1/layer1.0/Relu_1", "Relu", "t1", true),
        new LayerInfo("layer1.1", "/layer1/layer1.1/Relu_1", "Relu", "t2", true),
        new LayerInfo("fc", "/fc/Gemm", "Gemm", "logits", false));
    assertEquals(3, LayerSelector.levenshtein("kitten", "sitting"));
    assertEquals(List.of("layer1.0", "layer1.1"), LayerSelector.closeMatches("layer1.2", layers, 5).subList(0, 2));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> LayerSelector.select("conv2", layers));
    assertTrue(e.getMessage().contains("close matches: conv1"), e.getMessage());
    IllegalArgumentException r = assertThrows(IllegalArgumentException.class,
        () -> LayerSelector.select("regex:layer[", layers));
    assertTrue(r.getMessage().contains("not a valid regular expression"), r.getMessage());
    assertEquals(List.of(layers.get(0), layers.get(3)), LayerSelector.select("logits, conv1", layers),
        "graph order, by tensor name and by label");
  }
}
