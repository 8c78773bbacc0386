package dev.tagscope.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tagscope.testsupport.ProjectFiles;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import dev.tagscope.launcher.CommandLineTest.Run;

/** {@code tagscope visualize} end to end on the bundled model (few steps, few filters), and its refusals. */
class VisualizeCommandTest {
  private static final String PT = ProjectFiles.bundledModel().resolveSibling("fmnist-resnet32.pt").toString();

  @Test
  void writesIndexJsonAsTheContractSaysWithPngsOfTheInputSize(@TempDir Path tmp) throws Exception {
    Path out = tmp.resolve("vis");
    Run r = CommandLineTest.run("visualize", "--model", PT, "--images", ProjectFiles.samples().toString(), "--layers", "conv1,layer3.4",
        "--filters", "top:3", "--steps", "4", "--probe-count", "1", "--sample-count", "16", "--seed", "3", "--out", out.toString());
    assertEquals(0, r.rc(), r.err());
    JsonNode index = new ObjectMapper().readTree(out.resolve("index.json").toFile());
    assertEquals(1, index.path("format").asInt());
    assertEquals("fmnist-resnet32", index.path("model").asText());
    assertTrue(index.path("modelVersion").asText().startsWith("sha256:"), index.toString());
    assertEquals(10, index.path("classes").size());
    assertEquals("T-shirt/top", index.path("classes").get(0).asText());
    JsonNode method = index.path("method");
    assertEquals("activation-maximisation", method.path("name").asText());
    assertEquals(4, method.path("steps").asInt());
    assertEquals(3, method.path("seed").asInt());
    for (String f : List.of("regulariser", "learningRate", "l2Decay", "blurSigma", "blurEvery", "jitterPixels", "objective")) {
      assertTrue(method.has(f), "method." + f);
    }
    assertEquals("offline probe", index.path("importanceSource").asText());
    List<String> layers = new ArrayList<>();
    for (JsonNode l : index.path("layers")) {
      layers.add(l.path("layer").asText());
      BufferedImage sheet = ImageIO.read(out.resolve(l.path("contactSheet").asText()).toFile());
      assertNotNull(sheet, l.path("contactSheet").asText() + " decodes as an image");
      assertEquals(3, l.path("filters").size());
      Set<Integer> ranks = new HashSet<>();
      double lastImportance = Double.POSITIVE_INFINITY;
      for (JsonNode f : l.path("filters")) {
        ranks.add(f.path("rank").asInt());
        double imp = f.path("importance").asDouble();
        assertTrue(imp <= lastImportance && imp <= 1.0 && imp > 0, "importance falls with rank: " + f);
        lastImportance = imp;
        String image = f.path("image").asText();
        assertTrue(image.matches("[A-Za-z0-9._-]+\\.png"), "a flat relative path: " + image);
        BufferedImage png = ImageIO.read(out.resolve(image).toFile());
        assertNotNull(png, image + " decodes as a PNG");
        assertEquals(28, png.getWidth());
        assertEquals(28, png.getHeight());
        assertEquals(BufferedImage.TYPE_BYTE_GRAY, png.getType(), "one input channel: gray");
        assertTrue(Double.isFinite(f.path("activation").asDouble()) && Double.isFinite(f.path("meanSampleActivation").asDouble()));
      }
      assertEquals(Set.of(1, 2, 3), ranks, "top:3 are ranks 1..3");
    }
    assertEquals(List.of("conv1", "layer3.4"), layers);
  }

  @Test
  void badOptionsFailAtOnceNamingTheOption(@TempDir Path tmp) {
    String[][] cases = {
        {"--filters", "top:0", "--filters: expected top:K (K >= 1), all, or distinct filter indices"},
        {"--filters", "3,x", "--filters: expected"},
        {"--steps", "0", "--steps: must be at least 1"},
        {"--learning-rate", "-1", "--learning-rate: must be a positive"},
        {"--jitter", "-2", "--jitter: must be 0"},
        {"--report", tmp.resolve("missing.json").toString(), "--report: no such file"},
        {"--engine", "onnx", "--engine: visualize needs gradients"},
    };
    for (String[] c : cases) {
      Run r = CommandLineTest.run("visualize", "--model", PT, "--out", tmp.resolve("x").toString(), c[0], c[1]);
      assertEquals(2, r.rc(), c[0] + " " + c[1] + ": " + r.err());
      assertTrue(r.err().contains(c[2]), c[0] + " " + c[1] + ": " + r.err());
    }
    Run r = CommandLineTest.run("visualize", "--model", PT, "--layers", "conv1", "--filters", "0,16", "--probe-count", "1", "--sample-count", "4",
        "--out", tmp.resolve("y").toString());
    assertEquals(2, r.rc(), r.err());
    assertTrue(r.err().contains("--filters: filter 16 is not in layer conv1, which has 16 filters (0..15)"), r.err());
    assertTrue(Files.notExists(tmp.resolve("x")), "nothing written for a refused command");
  }
}
