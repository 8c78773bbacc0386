package dev.tagscope.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tagscope.schemas.FilterImportance;
import dev.tagscope.schemas.LayerImportance;
import dev.tagscope.schemas.Topics;
import dev.tagscope.testsupport.ProjectFiles;
import dev.tagscope.testsupport.TopicReads;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import picocli.CommandLine;

/**
 * The whole pipeline through a real broker, whichever broker the caller owns: producer, inference
 * worker (ONNX Runtime, the bundled ResNet-32), Kafka Streams spectral application, importance topic
 * and report, driven through the {@code tagscope demo} command against that broker, then read back
 * from the report and the importance topic.
 *
 * <p>One scenario, several brokers: {@link PipelineIntegrationTest} runs it on the embedded broker in
 * this JVM, {@link PipelineContainerIntegrationTest} on {@code apache/kafka} in a container.
 *
 * <pre>{@code
 * try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start()) {
 *   PipelineScenario.probeFlowsFromProducerToImportanceTopicAndReport(broker.bootstrapServers(), tmp);
 * }
 * }</pre>
 */
final class PipelineScenario {
  private static final int IMAGES = 3;

  private PipelineScenario() {}

  /**
   * Runs the demo on {@code bootstrapServers} and asserts what the report and the importance topic hold.
   *
   * @param bootstrapServers a running broker the demo may create its topics on
   * @param tmp a folder for the report
   * @throws Exception when the broker cannot be reached or the report cannot be read
   */
  static void probeFlowsFromProducerToImportanceTopicAndReport(String bootstrapServers, Path tmp) throws Exception {
    Path report = tmp.resolve("report.json");
    StringWriter err = new StringWriter();
    CommandLine cl = TagscopeCommand.commandLine();
    cl.setErr(new PrintWriter(err));
    int rc = cl.execute("demo", "--bootstrap-servers", bootstrapServers,
        "--model", ProjectFiles.bundledModel().toString(),
        "--images", ProjectFiles.samples().toString(), "--count", Integer.toString(IMAGES),
        "--no-dashboard", "--report", report.toString(), "--stall-timeout", "120");
    assertEquals(0, rc, "demo failed: " + err);

    JsonNode json = new ObjectMapper().readTree(Files.readString(report));
    JsonNode layers = json.path("layers");
    assertEquals(16, layers.size(), "first convolution + 15 residual blocks");
    Map<String, Integer> filtersPerLayer = new HashMap<>();
    for (JsonNode layer : layers) {
      assertEquals(IMAGES, layer.path("windows").asInt(), "one 240-frame window per image: " + layer.path("layer"));
      filtersPerLayer.put(layer.path("layer").asText(), layer.path("filters").asInt());
    }
    assertEquals(16, filtersPerLayer.get("conv1"));
    assertEquals(64, filtersPerLayer.get("layer3.4"));

    // conv1 is the first convolution before its ReLU: linear in the pixels, so its spatial mean
    // is an affine function of m_left(i) and m_right(i). Only the fundamentals may answer; the
    // harmonic and IM bins carry nothing but uint8 rounding of the modulated pixels.
    JsonNode conv1 = layer(layers, "conv1");
    double fundamental = 0;
    double nonlinear = 0;
    for (JsonNode f : conv1.path("ranking")) {
      for (JsonNode b : f.path("bins")) {
        if (b.path("kind").asText().equals("FUNDAMENTAL")) {
          fundamental += b.path("amplitude").asDouble();
        } else {
          nonlinear += b.path("amplitude").asDouble();
        }
      }
    }
    assertTrue(nonlinear < 0.01 * fundamental,
        "a linear layer must not answer at harmonics or IM terms: " + nonlinear + " vs " + fundamental);

    // After ReLUs the network mixes both tagged halves: the deepest block answers at IM terms.
    double bestImSnr = 0;
    for (JsonNode f : layer(layers, "layer3.4").path("ranking")) {
      for (JsonNode b : f.path("bins")) {
        if (b.path("kind").asText().equals("INTERMODULATION")) {
          bestImSnr = Math.max(bestImSnr, b.path("snr").asDouble());
        }
      }
    }
    assertTrue(bestImSnr > 10, "the deepest block should integrate both halves (IM SNR > 10), got " + bestImSnr);

    // The importance topic (compacted, model/layer) carries one running ranking per layer.
    Map<String, LayerImportance> latest = readImportance(bootstrapServers, filtersPerLayer.size());
    assertEquals(filtersPerLayer.keySet(), latestLayers(latest));
    for (LayerImportance li : latest.values()) {
      assertEquals(IMAGES, li.getWindowsSeen(), li.getLayer());
      assertEquals((int) filtersPerLayer.get(li.getLayer()), li.getFilters().size(), li.getLayer());
      Set<Integer> ranks = new TreeSet<>();
      double max = 0;
      for (FilterImportance f : li.getFilters()) {
        ranks.add(f.getRank());
        max = Math.max(max, f.getImportance());
      }
      assertEquals(li.getFilters().size(), ranks.size(), "ranks are a permutation");
      assertEquals(1.0, max, 1e-12, "importance is normalised to the layer's best filter");
    }
  }

  private static JsonNode layer(JsonNode layers, String name) {
    for (JsonNode l : layers) {
      if (l.path("layer").asText().equals(name)) {
        return l;
      }
    }
    throw new AssertionError("no layer " + name + " in the report");
  }

  private static Set<String> latestLayers(Map<String, LayerImportance> latest) {
    Set<String> out = new TreeSet<>();
    latest.values().forEach(li -> out.add(li.getLayer()));
    return out;
  }

  private static Map<String, LayerImportance> readImportance(String bootstrap, int layers) {
    // The Streams cache may still be flushing the last windows: read until every layer has all of them.
    Map<String, LayerImportance> latest = new HashMap<>();
    TopicReads.readCommitted(bootstrap, Topics.IMPORTANCE, Duration.ofSeconds(60), got -> {
      latest.clear();
      got.forEach(r -> latest.put(r.key(), r.value()));
      return latest.size() == layers && latest.values().stream().allMatch(li -> li.getWindowsSeen() == IMAGES);
    });
    return latest;
  }

}
