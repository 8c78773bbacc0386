package dev.tagscope.dashboard;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tagscope.embedded.EmbeddedKafkaBroker;
import dev.tagscope.schemas.LayerImportance;
import dev.tagscope.schemas.LayerValidation;
import dev.tagscope.schemas.ProbeSpec;
import dev.tagscope.schemas.TagResponse;
import dev.tagscope.schemas.Topics;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The dashboard against a real broker in the JVM: records published with the Avro builders
 * come back from the JSON API with their exact values.
 */
class DashboardServiceIntegrationTest {
  private static final ObjectMapper MAPPER = new ObjectMapper();
  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private static final String NASTY = "<script>alert(1)</script>";
  private static final Duration WAIT = Duration.ofSeconds(30);
  /** Stimulus time of the first history bucket: a minute boundary, an hour ago (inside the topic's retention). */
  private static final long HISTORY_T0 = (System.currentTimeMillis() / 60_000 - 60) * 60_000;

  private static EmbeddedKafkaBroker broker;
  private static DashboardService dashboard;
  private static SimpleMeterRegistry registry;
  private static String base;

  @BeforeAll
  static void start() throws Exception {
    broker = EmbeddedKafkaBroker.start();
    broker.createTopics(2);

    // Before the dashboard starts: a probe, a garbage record then an importance, and five
    // windows of one probe/layer of which only the last three are replayed (replay = 3).
    send(Topics.PROBES.name(), "probe-1", Topics.PROBES.valueSerde().serializer().serialize("", Fixtures.probe("probe-1", "fmnist-resnet32")));
    send(Topics.IMPORTANCE.name(), "fmnist-resnet32/layer1", "definitely not avro".getBytes(StandardCharsets.UTF_8));
    send(Topics.IMPORTANCE.name(), "fmnist-resnet32/layer1", importanceBytes(Fixtures.importance("fmnist-resnet32", "layer1", 6, List.of(
        Fixtures.filter(0, 3, 0.25, 0.125, 0.0625, 0.0625),
        Fixtures.filter(1, 1, 1.0, 0.5, 0.25, 0.25),
        Fixtures.filter(2, 2, 0.5, 0.25, 0.125, 0.125)))));
    // And on the validation topic a garbage record before a real validation of layer1.
    send(Topics.VALIDATION.name(), Topics.modelLayerKey("fmnist-resnet32", "layer1"), new byte[] {0x7F, 0x00, 0x01});
    send(Topics.VALIDATION.name(), Topics.modelLayerKey("fmnist-resnet32", "layer1"),
        validationBytes(Fixtures.validation("fmnist-resnet32", "layer1")));
    // History and alerts of a versioned layer: garbage first, then two buckets and an alert.
    send(Topics.IMPORTANCE_HISTORY.name(), Topics.importanceKey("fmnist-resnet32", "v7", "layer1"), new byte[] {1, 2, 3});
    for (int b = 0; b < 2; b++) {
      send(Topics.IMPORTANCE_HISTORY.name(), Topics.importanceKey("fmnist-resnet32", "v7", "layer1"),
          Topics.IMPORTANCE_HISTORY.valueSerde().serializer().serialize("", Fixtures.bucket("fmnist-resnet32", "v7", "layer1",
              HISTORY_T0 + b * 60_000, 60_000, b == 0 ? null : "v1", b == 0 ? null : 0.375, 2, b == 0 ? null : 0.5, 1, 2, 4)));
    }
    send(Topics.ALERTS.name(), Topics.modelLayerKey("fmnist-resnet32", "layer1"), Topics.ALERTS.valueSerde().serializer()
        .serialize("", Fixtures.alert(dev.tagscope.schemas.AlertState.RAISED, "fmnist-resnet32", "v7", "layer1",
            HISTORY_T0 + 60_000, 0.375)));
    for (int i = 1; i <= 5; i++) {
      send(Topics.TAG_RESPONSES.name(), Topics.probeLayerKey("probe-1", "layer1"),
          responseBytes(Fixtures.tagResponse("probe-1", "fmnist-resnet32", "layer1", "img-" + i, 3)));
    }

    registry = new SimpleMeterRegistry();
    dashboard = new DashboardService(broker.bootstrapServers(),
        DashboardSettings.defaults().withPort(0).withTagResponseReplay(3).withEventCoalescing(Duration.ofMillis(50)),
        registry).start();
    base = "http://127.0.0.1:" + dashboard.port();
    assertTrue(dashboard.awaitCaughtUp(WAIT), "dashboard did not catch up");
  }

  @AfterAll
  static void stop() {
    if (dashboard != null) {
      dashboard.close();
    }
    if (broker != null) {
      broker.close();
    }
  }

  // ------------------------------------------------------------------ tests

  @Test
  void historyAndAlertsPublishedBeforeTheStartAreReplayedAndLaterOnesFollow() throws Exception {
    assertTrue(skipped(Topics.IMPORTANCE_HISTORY.name()) >= 1, "the garbage bucket was counted");
    JsonNode h = json("/api/history?model=fmnist-resnet32&version=v7&layer=layer1");
    assertEquals(2, h.get("buckets").size());
    assertEquals(HISTORY_T0, h.get("buckets").get(0).get("bucketStartMs").asLong());
    assertTrue(h.get("buckets").get(0).get("rho").isNull());
    assertEquals(0.375, h.get("buckets").get(1).get("rho").asDouble());
    assertEquals(0.75, h.get("threshold").asDouble()); // the alert's
    // scores 1 2 4: filter 2 is best, importance 4 / 4; filter 1 second, 2 / 4
    assertEquals(2, h.get("top").get(0).get("filter").asInt());
    assertEquals(0.5, h.get("top").get(1).get("importance").get(1).asDouble());
    JsonNode alerts = json("/api/alerts?model=fmnist-resnet32");
    assertEquals(1, alerts.size());
    assertEquals("RAISED", alerts.get(0).get("state").asText());
    assertEquals("v7", alerts.get(0).get("version").asText());

    send(Topics.IMPORTANCE_HISTORY.name(), Topics.importanceKey("fmnist-resnet32", "v8", "layer1"),
        Topics.IMPORTANCE_HISTORY.valueSerde().serializer().serialize("", Fixtures.bucket("fmnist-resnet32", "v8", "layer1",
            HISTORY_T0 + 120_000, 60_000, "v1", 0.875, 2, 1.0, 4, 2, 1)));
    JsonNode later = awaitJson("/api/history?model=fmnist-resnet32&version=v8&layer=layer1");
    assertEquals(0.875, later.get("buckets").get(0).get("rho").asDouble());
  }

  @Test
  void serviceReportsItsAddress() {
    assertTrue(dashboard.port() > 0);
    assertEquals(URI.create("http://127.0.0.1:" + dashboard.port() + "/"), dashboard.url());
  }

  @Test
  void probesComeBackWithTheirPlan() throws Exception {
    JsonNode probes = json("/api/probes");
    assertEquals(1, probes.size());
    JsonNode p = probes.get(0);
    assertEquals("probe-1", p.get("id").asText());
    assertEquals("fmnist-resnet32", p.get("model").asText());
    assertEquals("halves-lr", p.get("layout").asText());
    assertEquals("left", p.get("regions").get(0).get("name").asText());
    assertEquals(6.0, p.get("regions").get(0).get("frequencyHz").asDouble());
    assertEquals("right", p.get("regions").get(1).get("name").asText());
    assertEquals(7.5, p.get("regions").get(1).get("frequencyHz").asDouble());
    assertEquals(120.0, p.get("fps").asDouble());
    assertEquals(240, p.get("windowFrames").asInt());
    assertEquals(120, p.get("hopFrames").asInt());
    assertEquals(5, p.get("signalBins").size());
    assertEquals("f1+f2", p.get("signalBins").get(3).get("label").asText());
    assertEquals("INTERMODULATION", p.get("signalBins").get(3).get("kind").asText());
    assertEquals(27, p.get("signalBins").get(3).get("bin").asInt());
  }

  @Test
  void layersAndRankedImportanceComeBackExactly() throws Exception {
    JsonNode layer = findLayer(json("/api/layers"), "fmnist-resnet32", "layer1");
    assertNotNull(layer);
    assertEquals(6, layer.get("windowsSeen").asLong());
    assertEquals(3, layer.get("filters").asInt());
    assertEquals("2023-11-14T22:13:22Z", layer.get("updatedAt").asText());
    assertEquals("probe-1", layer.get("probes").get(0).asText());

    JsonNode imp = json("/api/importance?model=fmnist-resnet32&layer=layer1");
    JsonNode filters = imp.get("filters");
    assertEquals(List.of(1, 2, 0), List.of(filters.get(0).get("filter").asInt(), filters.get(1).get("filter").asInt(),
        filters.get(2).get("filter").asInt()));
    JsonNode top = filters.get(0);
    assertEquals(1, top.get("rank").asInt());
    assertEquals(1.0, top.get("importance").asDouble());
    assertEquals(1.0, top.get("score").asDouble());
    assertEquals(0.5, top.get("fundamental").asDouble());
    assertEquals(0.25, top.get("harmonic").asDouble());
    assertEquals(0.25, top.get("intermodulation").asDouble());
    assertEquals(3.5, top.get("meanSnr").asDouble());
    assertEquals(4.25, top.get("paperSnrDb").asDouble());
  }

  @Test
  void spectrumComesBackExactlyFromTheLatestReplayedWindow() throws Exception {
    JsonNode s = json("/api/spectrum?probe=probe-1&layer=layer1&filter=1");
    assertEquals("img-5", s.get("imageId").asText());
    assertEquals(3, s.get("responsesSeen").asLong(), "replay of 3 of 5 records");
    JsonNode freq = s.get("frequencyHz");
    JsonNode amp = s.get("amplitude");
    assertEquals(121, freq.size());
    for (int b = 0; b <= 120; b++) {
      assertEquals(b * 120.0 / 240, freq.get(b).asDouble(), "frequency of bin " + b);
      assertEquals(Fixtures.spectrumValue(1, b), amp.get(b).floatValue(), "amplitude of bin " + b);
    }
    JsonNode im = s.get("signalBins").get(4);
    assertEquals("f2-f1", im.get("label").asText());
    assertEquals("INTERMODULATION", im.get("kind").asText());
    assertEquals(3, im.get("bin").asInt());
    double a = Fixtures.spectrumValue(1, 3);
    assertEquals(a, im.get("amplitude").asDouble());
    assertEquals(0.25, im.get("baseline").asDouble());
    assertEquals(a / 0.25, im.get("snr").asDouble());
    assertEquals(a - 0.25, im.get("corrected").asDouble());

    assertEquals(404, get("/api/spectrum?probe=probe-1&layer=layer1&filter=9").statusCode());
    assertEquals(404, get("/api/spectrum?probe=nobody&layer=layer1&filter=0").statusCode());
    assertEquals(400, get("/api/spectrum?probe=probe-1&layer=layer1&filter=x").statusCode());
  }

  @Test
  void validationComesBackExactlyWithAnUndefinedRhoAsNull() throws Exception {
    HttpResponse<String> r = get("/api/validation?model=fmnist-resnet32&layer=layer1");
    assertEquals(200, r.statusCode(), r.body());
    assertFalse(r.body().contains("NaN"), r.body());
    JsonNode v = MAPPER.readTree(r.body());
    assertEquals("fmnist-resnet32", v.get("model").asText());
    assertEquals("layer1", v.get("layer").asText());
    assertEquals("2023-11-14T22:13:23Z", v.get("generatedAt").asText());
    assertEquals(1_700_000_003_000L, v.get("generatedAtMs").asLong());
    assertEquals(512, v.get("images").asInt());
    assertEquals(256, v.get("curveImages").asInt());
    assertEquals(16, v.get("probeImages").asInt());
    assertEquals(32, v.get("filters").asInt());
    assertEquals(0.875, v.get("baseAccuracy").asDouble());
    assertEquals(0.375, v.get("baseCrossEntropy").asDouble());
    assertEquals("tag", v.get("defaultCriterion").asText());

    LayerValidation expected = Fixtures.validation("fmnist-resnet32", "layer1");
    JsonNode criteria = v.get("criteria");
    assertEquals(expected.getCriteria().size(), criteria.size());
    for (int i = 0; i < criteria.size(); i++) {
      var c = expected.getCriteria().get(i);
      JsonNode got = criteria.get(i);
      assertEquals(c.getCriterion().toString(), got.get("criterion").asText());
      for (var field : Map.of("rho", c.getRho(), "rhoLow", c.getRhoLow(), "rhoHigh", c.getRhoHigh(),
          "rhoAccuracy", c.getRhoAccuracy()).entrySet()) {
        if (Double.isNaN(field.getValue())) {
          assertTrue(got.get(field.getKey()).isNull(), c.getCriterion() + "." + field.getKey() + " is NaN, so null");
        } else {
          assertEquals(field.getValue(), got.get(field.getKey()).asDouble(), c.getCriterion() + "." + field.getKey());
        }
      }
    }
    assertTrue(criteria.get(3).get("rho").isNull(), "class-selectivity's NaN rho");
    JsonNode pruning = v.get("pruning");
    assertEquals(2, pruning.size());
    for (int i = 0; i < 2; i++) {
      var c = expected.getPruning().get(i);
      JsonNode got = pruning.get(i);
      assertEquals(c.getCriterion().toString(), got.get("criterion").asText());
      assertEquals(c.getFractions(), doubles(got.get("fractions")));
      assertEquals(c.getAccuracy(), doubles(got.get("accuracy")));
      assertEquals(c.getSpread(), doubles(got.get("spread")));
      assertEquals(c.getAuc(), got.get("auc").asDouble());
    }
    assertEquals(List.of(0.0, 0.0625, 0.125, 0.0625, 0.0), doubles(pruning.get(1).get("spread")));
  }

  @Test
  void undecodableValidationIsSkippedAndCountedAndLaterOnesStillArrive() throws Exception {
    double skippedBefore = skipped(Topics.VALIDATION.name());
    assertTrue(skippedBefore >= 1, "the garbage validation published before start was counted");
    String key = Topics.modelLayerKey("fmnist-resnet32", "layer2");
    send(Topics.VALIDATION.name(), key, "still not avro".getBytes(StandardCharsets.UTF_8));
    send(Topics.VALIDATION.name(), key, validationBytes(LayerValidation.newBuilder(Fixtures.validation("fmnist-resnet32", "layer2"))
        .setBaseAccuracy(0.9375).build()));

    JsonNode v = awaitJson("/api/validation?model=fmnist-resnet32&layer=layer2");
    assertEquals(0.9375, v.get("baseAccuracy").asDouble());
    assertEquals(skippedBefore + 1, skipped(Topics.VALIDATION.name()));
    assertTrue(registry.get("tagscope.dashboard.updates").tag("type", "validation").counter().count() >= 2);
    JsonNode all = json("/api/validation?model=fmnist-resnet32");
    assertTrue(all.size() >= 2, all.toString());
  }

  @Test
  void sseDeliversAnEventWhenAValidationIsPublished() throws Exception {
    JsonNode e = publishAndAwaitEvent("validation", "sse-validated", () -> send(Topics.VALIDATION.name(),
        Topics.modelLayerKey("fmnist-resnet32", "sse-validated"), validationBytes(Fixtures.validation("fmnist-resnet32", "sse-validated"))));
    assertEquals("validation", e.get("type").asText());
    assertEquals("fmnist-resnet32", e.get("model").asText());
    assertEquals("sse-validated", e.get("layer").asText());
  }

  @Test
  void sseDeliversAnEventWhenANewImportanceIsPublished() throws Exception {
    JsonNode e = publishAndAwaitEvent("importance", "sse-layer", () -> send(Topics.IMPORTANCE.name(), "fmnist-resnet32/sse-layer",
        importanceBytes(Fixtures.importance("fmnist-resnet32", "sse-layer", 42, List.of(Fixtures.filter(0, 1, 1.0, 1, 0, 0))))));
    assertEquals("importance", e.get("type").asText());
    assertEquals("fmnist-resnet32", e.get("model").asText());
    assertEquals("sse-layer", e.get("layer").asText());
    assertEquals("probe-1", e.get("probe").asText());
    assertEquals(42, e.get("windowsSeen").asLong());
  }

  /** Something to publish while the event stream is open. */
  private interface Publish {
    void run() throws Exception;
  }

  /**
   * Opens {@code /api/events}, waits for its greeting, publishes, and returns the data of the first
   * event of {@code type} whose data contains {@code marker}.
   */
  private static JsonNode publishAndAwaitEvent(String type, String marker, Publish publish) throws Exception {
    BlockingQueue<String> lines = new LinkedBlockingQueue<>();
    HttpRequest req = HttpRequest.newBuilder(URI.create(base + "/api/events"))
        .header("Accept", "text/event-stream").build();
    CompletableFuture<HttpResponse<Stream<String>>> pending = HTTP.sendAsync(req, HttpResponse.BodyHandlers.ofLines());
    HttpResponse<Stream<String>> resp = pending.get(10, TimeUnit.SECONDS);
    assertEquals(200, resp.statusCode());
    assertTrue(resp.headers().firstValue("Content-Type").orElse("").startsWith("text/event-stream"));
    Thread pump = new Thread(() -> {
      try {
        resp.body().forEach(lines::add);
      } catch (java.io.UncheckedIOException closedByTheTest) {
        // the stream ends when the test cancels the request
      }
    }, "sse-test-reader-" + type);
    pump.setDaemon(true);
    pump.start();
    try {
      assertNotNull(awaitLine(lines, l -> l.startsWith(": connected")), "no greeting on the event stream");
      publish.run();
      String data = null;
      String event = null;
      long deadline = System.nanoTime() + WAIT.toNanos();
      while (data == null && System.nanoTime() < deadline) {
        String line = lines.poll(1, TimeUnit.SECONDS);
        if (line == null) {
          continue;
        }
        if (line.startsWith("event:")) {
          event = line.substring(6).trim();
        } else if (line.startsWith("data:") && type.equals(event) && line.contains(marker)) {
          data = line.substring(5).trim();
        }
      }
      assertNotNull(data, "no " + type + " event for " + marker);
      return MAPPER.readTree(data);
    } finally {
      pending.cancel(true);
      resp.body().close();
    }
  }

  @Test
  void garbageIsSkippedAndLaterRecordsStillShow() throws Exception {
    double skippedBefore = skipped(Topics.IMPORTANCE.name());
    assertTrue(skippedBefore >= 1, "the garbage published before start was counted");
    send(Topics.IMPORTANCE.name(), "fmnist-resnet32/after-garbage", new byte[] {(byte) 0xC3, 0x01, 1, 2, 3});
    send(Topics.IMPORTANCE.name(), "fmnist-resnet32/after-garbage", importanceBytes(
        Fixtures.importance("fmnist-resnet32", "after-garbage", 11, List.of(Fixtures.filter(4, 1, 1.0, 0.5, 0.25, 0.25)))));

    JsonNode imp = awaitJson("/api/importance?model=fmnist-resnet32&layer=after-garbage");
    assertEquals(11, imp.get("windowsSeen").asLong());
    assertEquals(4, imp.get("filters").get(0).get("filter").asInt());
    assertEquals(skippedBefore + 1, skipped(Topics.IMPORTANCE.name()));
    assertTrue(registry.get("tagscope.dashboard.updates").tag("type", "importance").counter().count() >= 2);
    assertTrue(registry.getMeters().stream().anyMatch(m -> m.getId().getName().startsWith("kafka.consumer.")),
        "KafkaClientMetrics bound to the dashboard's consumer");
  }

  @Test
  void hostileLayerNameIsEscapedAndThePageNeverUsesInnerHtml() throws Exception {
    send(Topics.IMPORTANCE.name(), Topics.modelLayerKey("fmnist-resnet32", NASTY), importanceBytes(
        Fixtures.importance("fmnist-resnet32", NASTY, 1, List.of(Fixtures.filter(0, 1, 1.0, 1, 0, 0)))));
    long deadline = System.nanoTime() + WAIT.toNanos();
    HttpResponse<String> layers = get("/api/layers");
    while (!layers.body().contains("alert(1)") && System.nanoTime() < deadline) {
      Thread.sleep(100);
      layers = get("/api/layers");
    }
    assertFalse(layers.body().contains("<script>"), layers.body());
    assertTrue(layers.body().contains("\\u003Cscript\\u003Ealert(1)\\u003C/script\\u003E"), layers.body());
    assertNotNull(findLayer(MAPPER.readTree(layers.body()), "fmnist-resnet32", NASTY));

    HttpResponse<String> byName = get("/api/importance?model=fmnist-resnet32&layer="
        + java.net.URLEncoder.encode(NASTY, StandardCharsets.UTF_8));
    assertEquals(200, byName.statusCode());
    assertEquals(NASTY, MAPPER.readTree(byName.body()).get("layer").asText());
    HttpResponse<String> unknown = get("/api/importance?model=fmnist-resnet32&layer="
        + java.net.URLEncoder.encode("<b>x</b>", StandardCharsets.UTF_8));
    assertEquals(404, unknown.statusCode());
    assertFalse(unknown.body().contains("<b>"), unknown.body());

    String js = get("/app.js").body();
    assertTrue(js.contains("textContent"));
    assertFalse(js.contains("innerHTML"), "app.js must not use innerHTML");
    assertFalse(js.contains("outerHTML") || js.contains("insertAdjacentHTML") || js.contains("document.write"));
  }

  @Test
  void pageScriptAndChartJsAreServedWithTheCsp() throws Exception {
    for (String path : List.of("/", "/app.js", "/style.css", "/webjars/chart.js/4.4.7/dist/chart.umd.js", "/healthz")) {
      HttpResponse<String> r = get(path);
      assertEquals(200, r.statusCode(), path);
      String csp = r.headers().firstValue("Content-Security-Policy").orElse("");
      assertTrue(csp.contains("script-src 'self'"), path + ": " + csp);
      assertFalse(csp.contains("unsafe-inline"), path + ": " + csp);
    }
    assertTrue(get("/").body().contains("/webjars/chart.js/4.4.7/dist/chart.umd.js"));
    assertTrue(get("/webjars/chart.js/4.4.7/dist/chart.umd.js").headers().firstValue("Content-Type").orElse("")
        .contains("javascript"));
    JsonNode health = json("/healthz");
    assertEquals("ok", health.get("status").asText());
    assertTrue(health.get("caughtUp").asBoolean());
  }

  // ------------------------------------------------------------------ helpers

  private static void send(String topic, String key, byte[] value) throws Exception {
    try (KafkaProducer<byte[], byte[]> p = new KafkaProducer<>(Map.of(
        ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers(),
        ProducerConfig.ACKS_CONFIG, "all"), new ByteArraySerializer(), new ByteArraySerializer())) {
      p.send(new ProducerRecord<>(topic, key.getBytes(StandardCharsets.UTF_8), value)).get(30, TimeUnit.SECONDS);
    }
  }

  private static byte[] importanceBytes(LayerImportance li) {
    return Topics.IMPORTANCE.valueSerde().serializer().serialize(Topics.IMPORTANCE.name(), li);
  }

  private static byte[] responseBytes(TagResponse r) {
    return Topics.TAG_RESPONSES.valueSerde().serializer().serialize(Topics.TAG_RESPONSES.name(), r);
  }

  private static byte[] validationBytes(LayerValidation v) {
    return Topics.VALIDATION.valueSerde().serializer().serialize(Topics.VALIDATION.name(), v);
  }

  private static List<Double> doubles(JsonNode array) {
    List<Double> out = new java.util.ArrayList<>();
    array.forEach(n -> out.add(n.asDouble()));
    return out;
  }

  static byte[] probeBytes(ProbeSpec p) {
    return Topics.PROBES.valueSerde().serializer().serialize(Topics.PROBES.name(), p);
  }

  private static double skipped(String topic) {
    return registry.get("tagscope.dashboard.skipped").tag("topic", topic).counter().count();
  }

  private static HttpResponse<String> get(String path) throws Exception {
    return HTTP.send(HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(10)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private static JsonNode json(String path) throws Exception {
    HttpResponse<String> r = get(path);
    assertEquals(200, r.statusCode(), path + " -> " + r.body());
    return MAPPER.readTree(r.body());
  }

  /** GETs until 200 (the record is on its way through the reader), at most {@link #WAIT}. */
  private static JsonNode awaitJson(String path) throws Exception {
    long deadline = System.nanoTime() + WAIT.toNanos();
    HttpResponse<String> r = get(path);
    while (r.statusCode() != 200 && System.nanoTime() < deadline) {
      Thread.sleep(100);
      r = get(path);
    }
    assertEquals(200, r.statusCode(), path + " -> " + r.body());
    return MAPPER.readTree(r.body());
  }

  private static JsonNode findLayer(JsonNode layers, String model, String layer) {
    for (JsonNode l : layers) {
      if (l.get("model").asText().equals(model) && l.get("layer").asText().equals(layer)) {
        return l;
      }
    }
    return null;
  }

  private static String awaitLine(BlockingQueue<String> lines, java.util.function.Predicate<String> p) throws InterruptedException {
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (System.nanoTime() < deadline) {
      String l = lines.poll(1, TimeUnit.SECONDS);
      if (l != null && p.test(l)) {
        return l;
      }
    }
    return null;
  }
}
