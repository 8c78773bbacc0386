package dev.tagscope.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tagscope.testsupport.ProjectFiles;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The {@code tagscope} command line, without a broker. */
class CommandLineTest {

  /** A command's exit code and standard error. */
  record Run(int rc, String err) {}

  /** Runs the command line as {@code tagscope args...}; shared with the other command tests. */
  static Run run(String... args) {
    StringWriter err = new StringWriter();
    CommandLine cl = TagscopeCommand.commandLine();
    cl.setErr(new PrintWriter(err));
    cl.setOut(new PrintWriter(new StringWriter()));
    return new Run(cl.execute(args), err.toString());
  }

  @Test
  void analyzeRecoversKnownAmplitudesFromRecordedSeries(@TempDir Path tmp) throws Exception {
    // Two filters at 120 fps for 480 frames: "left" answers 6 Hz with amplitude 2.5, "both" answers
    // 6 Hz (0.5), 7.5 Hz (1.25) and the IM term 7.5-6 = 1.5 Hz (0.75), on a DC offset of 3.
    double fps = 120;
    StringBuilder csv = new StringBuilder("left,both\n");
    for (int i = 0; i < 480; i++) {
      double t = i / fps;
      double left = 3 + 2.5 * Math.sin(2 * Math.PI * 6 * t + 0.3);
      double both = 3 + 0.5 * Math.cos(2 * Math.PI * 6 * t) + 1.25 * Math.sin(2 * Math.PI * 7.5 * t)
          + 0.75 * Math.sin(2 * Math.PI * 1.5 * t + 1.0);
      csv.append(String.format(Locale.ROOT, "%.17g,%.17g%n", left, both));
    }
    Path series = tmp.resolve("series.csv");
    Files.writeString(series, csv);
    Path report = tmp.resolve("report.json");

    Run r = run("analyze", "--series", series.toString(), "--fps", "120", "--freqs", "6,7.5", "--window", "240",
        "--report", report.toString());
    assertEquals(0, r.rc(), r.err());

    JsonNode layer = new ObjectMapper().readTree(Files.readString(report)).path("layers").get(0);
    assertEquals(2, layer.path("windows").asInt(), "480 frames, W=240, hop=W");
    for (JsonNode f : layer.path("ranking")) {
      String name = f.path("name").asText();
      for (JsonNode b : f.path("bins")) {
        String label = b.path("label").asText();
        double expected = switch (name + ":" + label) {
          case "left:f1" -> 2.5;
          case "both:f1" -> 0.5;
          case "both:f2" -> 1.25;
          case "both:f2-f1" -> 0.75;
          default -> 0.0;
        };
        assertEquals(expected, b.path("amplitude").asDouble(), 1e-9 * Math.max(1, expected), name + " at " + label);
      }
    }
  }

  @Test
  void analyzeRefusesSeriesWithoutHeaderRow(@TempDir Path tmp) throws Exception {
    // Without the check the first data row silently became the filter names ("3.000000"), and the
    // lost frame left 479 frames: one window instead of two.
    StringBuilder csv = new StringBuilder();
    StringBuilder named = new StringBuilder("0,1\n");
    for (int i = 0; i < 480; i++) {
      String row = String.format(Locale.ROOT, "%.6f,%.6f%n", 3 + Math.sin(2 * Math.PI * 6 * i / 120.0),
          3 + Math.sin(2 * Math.PI * 7.5 * i / 120.0));
      csv.append(row);
      named.append(row);
    }
    Path series = tmp.resolve("noheader.csv");
    Files.writeString(series, csv);
    Run r = run("analyze", "--series", series.toString(), "--fps", "120", "--freqs", "6,7.5", "--window", "240",
        "--report", tmp.resolve("report.json").toString());
    assertEquals(2, r.rc(), r.err());
    assertTrue(r.err().contains("noheader.csv line 1") && r.err().contains("not a header"), r.err());

    r = run("analyze", "--series", tmp.resolve("missing.csv").toString(), "--fps", "120", "--freqs", "6,7.5",
        "--window", "240", "--report", tmp.resolve("report.json").toString());
    assertEquals(2, r.rc(), r.err());
    assertTrue(r.err().contains("no such file: ") && r.err().contains("missing.csv"), r.err());

    // Filter indices as names are a header, not data.
    Path indexed = tmp.resolve("indexed.csv");
    Files.writeString(indexed, named);
    r = run("analyze", "--series", indexed.toString(), "--fps", "120", "--freqs", "6,7.5", "--window", "240",
        "--report", tmp.resolve("report2.json").toString());
    assertEquals(0, r.rc(), r.err());
  }

  @Test
  void offBinFrequencyIsRefusedNamingTheFieldBeforeAnythingStarts() {
    // 6.25 Hz is not on a 0.5 Hz bin (120 fps, W = 240): refused before the broker would start.
    Run r = run("demo", "--freqs", "6.25,7.5", "--images", ProjectFiles.samples().toString(),
        "--model", ProjectFiles.bundledModel().toString(), "--no-dashboard");
    assertEquals(2, r.rc(), r.err());
    // W = 240 frames at 120 fps gives 0.5 Hz bins; the refusal names the window and the fix.
    assertTrue(r.err().contains("windowFrames") && r.err().contains("multiple of 96 frames"), r.err());
    assertTrue(r.err().contains("tagscope: --window (windowFrames:"), "the option to change comes first: " + r.err());
  }

  @Test
  void topBelowOneIsAUsageError() {
    Run r = run("analyze", "--series", "x.csv", "--fps", "120", "--freqs", "6,7.5", "--window", "240", "--top", "0");
    assertEquals(2, r.rc(), r.err());
    assertTrue(r.err().contains("--top must be at least 1, got 0"), r.err());
  }

  @Test
  void everyPlanFieldNamedInARefusalMapsToAnOptionTheDemoHas() {
    var demo = TagscopeCommand.commandLine().getSubcommands().get("demo").getCommandSpec();
    TagscopeCommand.OPTION_OF_PLAN_FIELD.forEach((field, option) ->
        assertTrue(demo.findOption(option) != null, field + " -> " + option + " is not a demo option"));
  }

  @Test
  void serviceCommandsNeedBootstrapServers() {
    Run r = run("spectral");
    assertEquals(2, r.rc(), r.err());
    assertTrue(r.err().contains("--bootstrap-servers"), r.err());
  }

  @Test
  void contradictoryOrOutOfRangeServiceOptionsAreRefusedAtOnce() {
    Run r = run("spectral", "--bootstrap-servers", "127.0.0.1:1", "--threads", "0");
    assertEquals(2, r.rc(), r.err());
    assertTrue(r.err().contains("--threads"), r.err());

    // A bad --kafka value was a ConfigException stack trace with exit 1.
    r = run("spectral", "--bootstrap-servers", "127.0.0.1:1", "--kafka", "security.protocol=BOGUS");
    assertEquals(2, r.rc(), r.err());
    assertTrue(r.err().contains("--kafka") && r.err().contains("security.protocol"), r.err());

    r = run("demo", "--serve", "--no-dashboard");
    assertEquals(2, r.rc(), r.err());
    assertTrue(r.err().contains("--serve") && r.err().contains("--no-dashboard"), r.err());

    // The filter panel's inputs: a missing folder or model file is refused before anything starts.
    r = run("demo", "--visualizations", "no-such-folder");
    assertEquals(2, r.rc(), r.err());
    assertTrue(r.err().contains("--visualizations: no-such-folder is not a folder"), r.err());
    r = run("dashboard", "--bootstrap-servers", "127.0.0.1:1", "--model", "no-such-model.onnx");
    assertEquals(2, r.rc(), r.err());
    assertTrue(r.err().contains("--model: no-such-model.onnx is not a file"), r.err());

    r = run("demo", "--stall-timeout", "0", "--no-dashboard");
    assertEquals(2, r.rc(), r.err());
    assertTrue(r.err().contains("--stall-timeout"), r.err());
  }

  @Test
  void badHistoryOptionsAreRefusedNamingTheOptionAndTheFix() {
    String[] spectral = {"spectral", "--bootstrap-servers", "127.0.0.1:1"};
    assertRefused("tagscope: --rho-threshold: Spearman rho lies in [-1, 1]", spectral, "--rho-threshold", "1.5");
    assertRefused("tagscope: --bucket-seconds: must be from 1 s", spectral, "--bucket-seconds", "0");
    assertRefused("tagscope: --bucket-grace-seconds: must be from 0 to the bucket length (5000 ms)", spectral,
        "--bucket-seconds", "5", "--bucket-grace-seconds", "6");
    assertRefused("tagscope: --reference-version: blank", spectral, "--reference-version", " ");
    String[] demo = {"demo", "--no-dashboard"};
    assertRefused("tagscope: --reference-buckets: must be at least 1", demo, "--reference-buckets", "0");
    assertRefused("tagscope: --top-k: must be at least 1", demo, "--top-k", "0");
    assertRefused("tagscope: --top-examples: keep 1..64 images per filter (default 8), got 0", demo, "--top-examples", "0");
    assertRefused("tagscope: --top-examples: keep 1..64 images per filter (default 8), got 65", spectral, "--top-examples", "65");
  }

  @Test
  void demoVisualizeIsRefusedAtOnceWithoutStepsOrATorchScriptTwin(@TempDir Path tmp) throws Exception {
    String[] demo = {"demo", "--no-dashboard", "--visualize"};
    assertRefused("tagscope: --visualize-steps must be at least 1 gradient step per filter (default 256), got 0", demo,
        "--visualize-steps", "0");
    // an ONNX model with no .pt beside it: refused before the broker starts, not after the probe
    Path onnx = Files.copy(ProjectFiles.bundledModel(), tmp.resolve("alone.onnx"));
    assertRefused("tagscope: --visualize needs the TorchScript twin " + tmp.resolve("alone.pt"), demo, "--model", onnx.toString());
  }

  /** The command line {@code base + more} exits 2 with {@code expected} in its error output. */
  private static void assertRefused(String expected, String[] base, String... more) {
    String[] args = java.util.stream.Stream.concat(java.util.Arrays.stream(base), java.util.Arrays.stream(more)).toArray(String[]::new);
    Run r = run(args);
    assertEquals(2, r.rc(), r.err());
    assertTrue(r.err().contains(expected), r.err());
  }

  @Test
  void partitionCountsBelowWhatTheCommandNeedsAreRefusedNamingTheOption() {
    // refused before any broker is asked: 127.0.0.1:1 would only time out
    Run r = run("topics", "--bootstrap-servers", "127.0.0.1:1", "--partitions", "0");
    assertEquals(2, r.rc(), r.err());
    assertTrue(r.err().contains("tagscope: --partitions must be at least 1, got 0"), r.err());
    r = run("topics", "--bootstrap-servers", "127.0.0.1:1", "--replication-factor", "0");
    assertEquals(2, r.rc(), r.err());
    assertTrue(r.err().contains("tagscope: --replication-factor must be at least 1, got 0"), r.err());
    r = run("demo", "--partitions", "-1", "--no-dashboard");
    assertEquals(2, r.rc(), r.err());
    assertTrue(r.err().contains("tagscope: --partitions must be at least 1 per topic, got -1"), r.err());
    r = run("bench", "--scale-out", "--partitions", "1");
    assertEquals(2, r.rc(), r.err());
    assertTrue(r.err().contains("tagscope: --partitions must be at least 2 for --scale-out"), r.err());
  }

  @Test
  void aNegativeModelWatchIsRefusedNamingTheOption() {
    // refused before the model loads or a client is built
    Run r = run("worker", "--bootstrap-servers", "127.0.0.1:1", "--model-watch", "-5");
    assertEquals(2, r.rc(), r.err());
    assertTrue(r.err().contains("tagscope: --model-watch must be 0 (off) or a number of seconds, got -5"), r.err());
  }

  @Test
  void aPinnedKafkaSettingIsRefusedByEveryCommandBeforeAnythingStarts() {
    // command, --kafka entry, start of the refusal; nothing may have been printed (no service started)
    String[][] cases = {
        {"worker", "isolation.level=read_uncommitted", "isolation.level is pinned to read_committed, got read_uncommitted: "
            + "a read_uncommitted consumer also sees records of aborted transactions, which breaks exactly-once; "
            + "remove the override (--kafka isolation.level=read_uncommitted)"},
        {"spectral", "processing.guarantee=at_least_once", "processing.guarantee is pinned to exactly_once_v2, got at_least_once: "},
        {"producer", "acks=1", "acks is pinned to all, got 1: "},
        {"dashboard", "enable.auto.commit=true", "enable.auto.commit is pinned to false, got true: "},
        {"topics", "transactional.id=mine", "transactional.id is pinned: Tagscope sets it itself"},
        {"validate", "enable.idempotence=false", "enable.idempotence is pinned to true, got false: "},
        {"spectral", "main.consumer.isolation.level=read_uncommitted",
            "main.consumer.isolation.level (isolation.level of Kafka Streams' main consumer clients) is pinned to read_committed"},
    };
    for (String[] c : cases) {
      PrintStream stdout = System.out;
      ByteArrayOutputStream printed = new ByteArrayOutputStream();
      Run r;
      try {
        System.setOut(new PrintStream(printed, true, StandardCharsets.UTF_8));
        r = run(c[0], "--bootstrap-servers", "127.0.0.1:1", "--kafka", "security.protocol=PLAINTEXT", "--kafka", c[1]);
      } finally {
        System.setOut(stdout);
      }
      assertEquals(2, r.rc(), c[0] + " " + c[1] + ": " + r.err());
      assertTrue(r.err().contains("tagscope: " + c[2]), r.err());
      assertEquals("", printed.toString(StandardCharsets.UTF_8), c[0] + " started something before refusing " + c[1]);
    }
    // the demo refuses before it starts its embedded broker
    Run r = run("demo", "--no-dashboard", "--kafka", "producer.acks=0");
    assertEquals(2, r.rc(), r.err());
    assertTrue(r.err().contains("tagscope: producer.acks (acks of Kafka Streams' producer clients) is pinned to all, got 0: "),
        r.err());
  }

  @Test
  void malformedInputSizeIsRefusedNamingTheOption() {
    Run r = run("demo", "--input-size", "224x224", "--no-dashboard");
    assertEquals(2, r.rc(), r.err());
    assertTrue(r.err().contains("--input-size"), r.err());
  }

  @Test
  void liveTrafficOptionsAreRefusedAtOnceNamingTheOptionAndTheFix() {
    String[] base = {"producer", "--bootstrap-servers", "127.0.0.1:1", "--requests-topic", "inference.requests"};
    Run both = run(concat(base, "--sample-every", "2", "--sample-rate", "30/min", "--image-shape", "1,28,28"));
    assertEquals(2, both.rc(), both.err());
    assertTrue(both.err().contains("--sample-every and --sample-rate both given: give one of them"), both.err());
    Run none = run(concat(base, "--image-shape", "1,28,28"));
    assertTrue(none.err().contains("--requests-topic needs a sampling: give --sample-every K"), none.err());
    Run badRate = run(concat(base, "--sample-rate", "30/s", "--image-shape", "1,28,28"));
    assertTrue(badRate.err().contains("--sample-rate: sample rate: expected N/min"), badRate.err());
    Run badK = run(concat(base, "--sample-every", "0", "--image-shape", "1,28,28"));
    assertTrue(badK.err().contains("--sample-every: sample every: must be a whole number of requests >= 1"), badK.err());
    Run noShape = run(concat(base, "--sample-every", "1"));
    assertTrue(noShape.err().contains("--requests-topic needs --image-shape C,H,W"), noShape.err());
    Run own = run("producer", "--bootstrap-servers", "127.0.0.1:1", "--requests-topic", "tagscope.stimuli", "--sample-every", "1",
        "--image-shape", "1,28,28");
    assertTrue(own.err().contains("--requests-topic (requestsTopic: tagscope.stimuli is one of Tagscope's own topics"), own.err());
    Run stray = run("producer", "--bootstrap-servers", "127.0.0.1:1", "--sample-every", "3");
    assertTrue(stray.err().contains("--sample-every samples live traffic: give --requests-topic TOPIC as well"), stray.err());
    Run demoRate = run("demo", "--live-traffic", "--sample-rate", "30/min");
    assertEquals(2, demoRate.rc(), demoRate.err());
    assertTrue(demoRate.err().contains("--sample-rate: the demo ends once every probed request's windows are in"), demoRate.err());
    for (Run r : new Run[] {none, badRate, badK, noShape, own, stray}) {
      assertEquals(2, r.rc(), r.err());
    }
  }

  private static String[] concat(String[] a, String... b) {
    String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }

  @Test
  void aBadEngineIsRefusedNamingTheOptionAndTheFix() {
    Run r = run("demo", "--engine", "torch", "--no-dashboard");
    assertEquals(2, r.rc(), r.err());
    assertTrue(r.err().contains("--engine: expected onnx or djl, got 'torch'; leave it out to choose by the model file"
        + " (.onnx: ONNX Runtime, .pt: DJL)"), r.err());
  }

  @Test
  void validateRefusesTheDjlEngine() {
    Run r = run("validate", "--engine", "djl", "--model", dev.tagscope.testsupport.ProjectFiles.bundledModel()
        .resolveSibling("fmnist-resnet32.pt").toString());
    assertEquals(2, r.rc(), r.err());
    assertTrue(r.err().contains("ablation cuts and rewrites the ONNX graph, so it runs on ONNX Runtime only"), r.err());
  }
}
