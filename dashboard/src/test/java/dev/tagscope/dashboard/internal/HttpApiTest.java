package dev.tagscope.dashboard.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tagscope.dashboard.Fixtures;
import dev.tagscope.schemas.AlertState;
import dev.tagscope.schemas.Topics;
import io.javalin.Javalin;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The HTTP surface over a hand-filled view, without a broker. */
class HttpApiTest {
  private static final ObjectMapper MAPPER = new ObjectMapper();
  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private static final String NASTY = "<script>alert(1)</script>";
  private static final String NASTY_Q = java.net.URLEncoder.encode(NASTY, StandardCharsets.UTF_8);
  private static final long T0 = 1_700_000_040_000L;

  private static DashboardView view;
  private static EventHub hub;
  private static Javalin app;
  private static String base;

  @BeforeAll
  static void start() {
    view = new DashboardView();
    view.acceptProbe("p1", Fixtures.probe("p1", "m"));
    view.acceptImportance("m/l1", Fixtures.importance("m", "l1", 3, List.of(
        Fixtures.filter(0, 2, 0.5, 0.25, 0.125, 0.125), Fixtures.filter(1, 1, 1.0, 0.5, 0.25, 0.25))));
    view.acceptImportance("m/" + NASTY, Fixtures.importance("m", NASTY, 1, List.of(Fixtures.filter(0, 1, 1.0, 1, 0, 0))));
    view.acceptTagResponse(Fixtures.tagResponse("p1", "m", "l1", "img-7", 2));
    view.acceptValidation("m/l1", Fixtures.validation("m", "l1"));
    view.acceptValidation("m/*", Fixtures.validation("m", "*"));
    // Two versions of a hostile-named model, with history and alerts.
    view.acceptImportance(Topics.importanceKey(NASTY, "v1", "conv"), Fixtures.scored(NASTY, "v1", "conv", 5, 4, 3, 2, 1));
    view.acceptImportance(Topics.importanceKey(NASTY, "v2", "conv"), Fixtures.scored(NASTY, "v2", "conv", 4, 5, 3, 1, 2));
    view.acceptBucket(Fixtures.bucket(NASTY, "v2", "conv", T0, 60_000, null, null, 0, null, 4, 5, 3, 1, 2));
    view.acceptBucket(Fixtures.bucket(NASTY, "v2", "conv", T0 + 60_000, 60_000, "v1", 0.625, 2, 0.5, 1, 5, 3, 4, 2));
    view.acceptAlert(Fixtures.alert(AlertState.RAISED, NASTY, "v2", "conv", T0 + 60_000, 0.625));
    view.acceptAlert(Fixtures.alert(AlertState.CLEARED, "m", "", "l1", T0, 0.875));
    hub = new EventHub(Duration.ofMillis(50), Duration.ofMillis(300));
    view.addListener(hub);
    app = HttpApi.create(view, hub, () -> true).start("127.0.0.1", 0);
    base = "http://127.0.0.1:" + app.port();
  }

  @AfterAll
  static void stop() {
    hub.close();
    app.stop();
  }

  static HttpResponse<String> get(String pathAndQuery) throws IOException, InterruptedException {
    return HTTP.send(HttpRequest.newBuilder(URI.create(base + pathAndQuery)).timeout(Duration.ofSeconds(10)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void importanceIsRankedJson() throws Exception {
    HttpResponse<String> r = get("/api/importance?model=m&layer=l1");
    assertEquals(200, r.statusCode());
    assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("application/json"));
    JsonNode body = MAPPER.readTree(r.body());
    assertEquals(1, body.get("filters").get(0).get("filter").asInt());
    assertEquals(1.0, body.get("filters").get(0).get("score").asDouble());
    assertEquals(0, body.get("filters").get(1).get("filter").asInt());
    assertEquals(0.125, body.get("filters").get(1).get("intermodulation").asDouble());
  }

  @Test
  void validationOfALayerIsJsonWithUndefinedRhoAsNull() throws Exception {
    HttpResponse<String> r = get("/api/validation?model=m&layer=l1");
    assertEquals(200, r.statusCode());
    assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("application/json"));
    assertFalse(r.body().contains("NaN"), r.body());
    JsonNode v = MAPPER.readTree(r.body());
    assertEquals("m", v.get("model").asText());
    assertEquals("l1", v.get("layer").asText());
    assertEquals("tag", v.get("defaultCriterion").asText());
    assertEquals(1_700_000_003_000L, v.get("generatedAtMs").asLong());
    JsonNode tag = v.get("criteria").get(0);
    assertEquals("tag", tag.get("criterion").asText());
    assertEquals(0.625, tag.get("rho").asDouble());
    assertEquals(0.5, tag.get("rhoLow").asDouble());
    assertEquals(0.75, tag.get("rhoHigh").asDouble());
    assertEquals(0.5, tag.get("rhoAccuracy").asDouble());
    assertTrue(v.get("criteria").get(3).get("rho").isNull(), "NaN rho of class-selectivity");
    JsonNode random = v.get("pruning").get(1);
    assertEquals("random", random.get("criterion").asText());
    assertEquals(0.25, random.get("fractions").get(1).asDouble());
    assertEquals(0.75, random.get("accuracy").get(1).asDouble());
    assertEquals(0.0625, random.get("spread").get(1).asDouble());
    assertEquals(0.5, random.get("auc").asDouble());

    JsonNode all = MAPPER.readTree(get("/api/validation?model=m").body());
    assertEquals(2, all.size());
    assertEquals("*", all.get(0).get("layer").asText());
    assertEquals("l1", all.get(1).get("layer").asText());
    assertEquals("[]", get("/api/validation?model=nobody").body());
  }

  @Test
  void missingValidationIs404NamingTheCommand() throws Exception {
    HttpResponse<String> r = get("/api/validation?model=m&layer=" + java.net.URLEncoder.encode(NASTY, StandardCharsets.UTF_8));
    assertEquals(404, r.statusCode());
    assertFalse(r.body().contains("<script>"), r.body());
    assertEquals("no validation of layer '" + NASTY + "' of model 'm'; ./tagscope validate writes one",
        MAPPER.readTree(r.body()).get("error").asText());
  }

  @Test
  void missingOrMalformedParametersAre400() throws Exception {
    for (String q : List.of("/api/validation", "/api/validation?layer=l1", "/api/validation?model=m&layer=",
        "/api/importance?model=m", "/api/importance?layer=l1", "/api/spectrum?probe=p1&layer=l1",
        "/api/spectrum?probe=p1&layer=l1&filter=abc", "/api/spectrum?probe=p1&layer=l1&filter=-1")) {
      HttpResponse<String> r = get(q);
      assertEquals(400, r.statusCode(), q);
      JsonNode body = MAPPER.readTree(r.body());
      assertEquals(400, body.get("status").asInt());
      assertTrue(body.get("error").asText().startsWith("query parameter '"), body.toString());
    }
  }

  @Test
  void unknownNamesAre404Json() throws Exception {
    HttpResponse<String> r = get("/api/importance?model=nope&layer=l1");
    assertEquals(404, r.statusCode());
    assertEquals("unknown model 'nope'", MAPPER.readTree(r.body()).get("error").asText());
    r = get("/api/spectrum?probe=p1&layer=l1&filter=5");
    assertEquals(404, r.statusCode());
    assertEquals("unknown filter 5 in layer 'l1' of probe 'p1'", MAPPER.readTree(r.body()).get("error").asText());
    r = get("/api/nothing-here");
    assertEquals(404, r.statusCode());
    assertEquals("no such endpoint: GET /api/nothing-here", MAPPER.readTree(r.body()).get("error").asText());
  }

  @Test
  void layersCarryTheirVersionAndImportanceTakesOne() throws Exception {
    JsonNode layers = MAPPER.readTree(get("/api/layers").body());
    // Sorted by model ("<" before "m"), then version, then layer.
    assertEquals(List.of("v1", "v2", "", ""), List.of(layers.get(0).get("version").asText(),
        layers.get(1).get("version").asText(), layers.get(2).get("version").asText(), layers.get(3).get("version").asText()));
    assertTrue(layers.get(1).get("alertOpen").asBoolean());
    assertEquals(2, layers.get(1).get("historyBuckets").asInt());
    assertFalse(layers.get(0).get("alertOpen").asBoolean()); // the alert names v2: v1 (the reference) is not marked
    assertFalse(layers.get(3).get("alertOpen").asBoolean()); // m/l1: its latest alert is CLEARED
    JsonNode v2 = MAPPER.readTree(get("/api/importance?model=" + NASTY_Q + "&version=v2&layer=conv").body());
    assertEquals(1, v2.get("filters").get(0).get("filter").asInt());
    assertEquals("v2", v2.get("version").asText());
    assertEquals(404, get("/api/importance?model=" + NASTY_Q + "&layer=conv").statusCode()); // no unversioned records
  }

  @Test
  void historyIsJsonOldestFirstWithTheAlertsThreshold() throws Exception {
    HttpResponse<String> r = get("/api/history?model=" + NASTY_Q + "&version=v2&layer=conv&top=2");
    assertEquals(200, r.statusCode(), r.body());
    assertFalse(r.body().contains("<script>"), r.body());
    JsonNode h = MAPPER.readTree(r.body());
    assertEquals(NASTY, h.get("model").asText());
    JsonNode buckets = h.get("buckets");
    assertEquals(2, buckets.size());
    assertEquals(T0, buckets.get(0).get("bucketStartMs").asLong());
    assertTrue(buckets.get(0).get("rho").isNull());
    assertEquals(0.625, buckets.get(1).get("rho").asDouble());
    assertEquals(0.5, buckets.get(1).get("topKOverlap").asDouble());
    assertEquals("v1", buckets.get(1).get("referenceVersion").asText());
    assertEquals(0.75, h.get("threshold").asDouble());
    assertTrue(h.get("thresholdFromAlert").asBoolean());
    // Latest bucket scores 1 5 3 4 2: best filter 1, then 3; importance = score / 5.
    JsonNode top = h.get("top");
    assertEquals(2, top.size());
    assertEquals(1, top.get(0).get("filter").asInt());
    assertEquals(List.of(1.0, 1.0), List.of(top.get(0).get("importance").get(0).asDouble(), top.get(0).get("importance").get(1).asDouble()));
    assertEquals(3, top.get(1).get("filter").asInt());
    assertEquals(List.of(0.2, 0.8), List.of(top.get(1).get("importance").get(0).asDouble(), top.get(1).get("importance").get(1).asDouble()));
    assertEquals(404, get("/api/history?model=m&layer=l1").statusCode());
    assertEquals(400, get("/api/history?model=m&layer=l1&top=0").statusCode());
    assertEquals(400, get("/api/history?model=m&layer=l1&top=lots").statusCode());
  }

  @Test
  void alertsAreJsonNewestFirstAndFilterable() throws Exception {
    HttpResponse<String> r = get("/api/alerts");
    assertEquals(200, r.statusCode());
    assertFalse(r.body().contains("<script>"), r.body());
    JsonNode all = MAPPER.readTree(r.body());
    assertEquals(2, all.size());
    assertEquals("RAISED", all.get(0).get("state").asText());
    assertEquals(NASTY, all.get(0).get("model").asText());
    assertTrue(all.get(0).get("open").asBoolean());
    assertEquals(3, all.get(0).get("movers").get(0).get("filter").asInt());
    assertEquals(4, all.get(0).get("movers").get(0).get("rank").asInt());
    assertEquals("CLEARED", all.get(1).get("state").asText());
    assertEquals(1, MAPPER.readTree(get("/api/alerts?model=m").body()).size());
    assertEquals(1, MAPPER.readTree(get("/api/alerts?limit=1").body()).size());
    assertEquals(0, MAPPER.readTree(get("/api/alerts?layer=nowhere").body()).size());
    assertEquals(400, get("/api/alerts?model=").statusCode());
    assertEquals(400, get("/api/alerts?limit=1001").statusCode());
  }

  @Test
  void compareGivesRhoOverlapAndBothRankings() throws Exception {
    HttpResponse<String> r = get("/api/compare?model=" + NASTY_Q + "&layer=conv&a=v1&b=v2&k=4");
    assertEquals(200, r.statusCode(), r.body());
    assertFalse(r.body().contains("<script>"), r.body());
    JsonNode c = MAPPER.readTree(r.body());
    // 5 4 3 2 1 against 4 5 3 1 2: sum d^2 = 4, rho = 1 - 24 / 120; top-4 {0,1,2,3} and {1,0,2,4}
    assertEquals(0.8, c.get("rho").asDouble(), 1e-12);
    assertEquals(0.75, c.get("topKOverlap").asDouble());
    assertEquals(4, c.get("topK").asInt());
    assertEquals(5, c.get("filters").asInt());
    assertEquals(0, c.get("a").get("filters").get(0).get("filter").asInt());
    assertEquals(1, c.get("b").get("filters").get(0).get("filter").asInt());
    // default k 8, capped at the 5 shared filters
    assertEquals(5, MAPPER.readTree(get("/api/compare?model=" + NASTY_Q + "&layer=conv&a=v1&b=v2").body()).get("topK").asInt());
    assertEquals(404, get("/api/compare?model=" + NASTY_Q + "&layer=conv&a=v1&b=v3").statusCode());
    assertEquals(400, get("/api/compare?model=" + NASTY_Q + "&a=v1&b=v2").statusCode());
    assertEquals(400, get("/api/compare?model=" + NASTY_Q + "&layer=conv&a=v1&b=v2&k=0").statusCode());
  }

  @Test
  void hostileLayerNameComesBackEscaped() throws Exception {
    HttpResponse<String> r = get("/api/layers");
    assertFalse(r.body().contains("<script>"), r.body());
    assertTrue(r.body().contains("\\u003Cscript\\u003Ealert(1)\\u003C/script\\u003E"), r.body());
    JsonNode layers = MAPPER.readTree(r.body());
    assertEquals(NASTY, layers.get(2).get("layer").asText()); // model m, no version: "<" sorts before "l"
    assertEquals("nosniff", r.headers().firstValue("X-Content-Type-Options").orElse(""));
  }

  @Test
  void staticFilesAndWebjarCarryTheCsp() throws Exception {
    for (String path : List.of("/", "/index.html", "/app.js", "/style.css", "/webjars/chart.js/4.4.7/dist/chart.umd.js",
        "/api/probes", "/healthz")) {
      HttpResponse<String> r = get(path);
      assertEquals(200, r.statusCode(), path);
      assertEquals(HttpApi.CSP, r.headers().firstValue("Content-Security-Policy").orElse("(none)"), path);
    }
    assertTrue(HttpApi.CSP.contains("script-src 'self'"));
    assertTrue(get("/webjars/chart.js/4.4.7/dist/chart.umd.js").body().contains("Chart"));
    String html = get("/").body();
    assertTrue(html.contains("<script src=\"/app.js\""), html);
    assertTrue(html.contains("<script src=\"/webjars/chart.js/4.4.7/dist/chart.umd.js\""), html);
  }

  @Test
  void pageHasNoInlineScriptAndItsJsNeverParsesHtml() throws IOException {
    String js = resource("/public/app.js");
    String html = resource("/public/index.html");
    for (String sink : List.of("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function")) {
      assertFalse(js.contains(sink), "app.js uses " + sink);
    }
    assertTrue(js.contains("textContent"));
    // Every <script> element loads a file; none carries code or inline handlers.
    assertEquals(html.split("<script", -1).length - 1, html.split("<script src=\"/", -1).length - 1);
    assertFalse(html.matches("(?s).*\\son[a-z]+=.*"), "inline event handler in index.html");
    assertFalse(html.contains("style=\""), "inline style in index.html");
  }

  @Test
  void eventStreamGreetsSendsChangesAndKeepAlives() throws Exception {
    java.util.concurrent.BlockingQueue<String> lines = new java.util.concurrent.LinkedBlockingQueue<>();
    HttpRequest req = HttpRequest.newBuilder(URI.create(base + "/api/events")).header("Accept", "text/event-stream").build();
    HttpResponse<java.util.stream.Stream<String>> resp = HTTP.send(req, HttpResponse.BodyHandlers.ofLines());
    Thread pump = new Thread(() -> {
      try {
        resp.body().forEach(lines::add);
      } catch (java.io.UncheckedIOException closedByTheTest) {
        // the stream ends when the test closes it
      }
    }, "sse-test-reader");
    pump.setDaemon(true);
    pump.start();
    try {
      assertEquals(": connected", lines.poll(10, java.util.concurrent.TimeUnit.SECONDS));
      view.acceptTagResponse(Fixtures.tagResponse("p1", "m", "l1", "img-8", 2));
      boolean sawEvent = false;
      boolean sawKeepAlive = false;
      String event = null;
      long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(20);
      while (!(sawEvent && sawKeepAlive) && System.nanoTime() < deadline) {
        String line = lines.poll(1, java.util.concurrent.TimeUnit.SECONDS);
        if (line == null) {
          continue;
        }
        if (line.equals(": keep-alive")) {
          sawKeepAlive = true;
        } else if (line.startsWith("event:")) {
          event = line.substring(6).trim();
        } else if (line.startsWith("data:") && "tag-response".equals(event)) {
          JsonNode e = MAPPER.readTree(line.substring(5).trim());
          assertEquals("p1", e.get("probe").asText());
          assertEquals("l1", e.get("layer").asText());
          assertEquals(2, e.get("windowsSeen").asLong(), "second response of p1/l1");
          sawEvent = true;
        }
      }
      assertTrue(sawEvent, "no tag-response event");
      assertTrue(sawKeepAlive, "no keep-alive comment");
    } finally {
      resp.body().close();
    }
  }

  @Test
  void healthzReportsCatchUp() throws Exception {
    JsonNode h = MAPPER.readTree(get("/healthz").body());
    assertEquals("ok", h.get("status").asText());
    assertTrue(h.get("caughtUp").asBoolean());
  }

  @Test
  void refusesRequestsAddressedToForeignHostNames() throws Exception {
    // A DNS-rebinding page sends its own name as Host; HttpClient will not forge Host, so speak raw HTTP.
    assertEquals(403, rawStatus("evil.example:" + app.port()));
    assertEquals(200, rawStatus("localhost:" + app.port()));
    assertEquals(200, rawStatus("127.0.0.1:" + app.port()));
  }

  @Test
  void loopbackHostNamesAreRecognised() {
    assertTrue(HttpApi.isLoopbackHost("127.0.0.1:8080"));
    assertTrue(HttpApi.isLoopbackHost("127.1.2.3"));
    assertTrue(HttpApi.isLoopbackHost("LOCALHOST:80"));
    assertTrue(HttpApi.isLoopbackHost("[::1]:8080"));
    assertFalse(HttpApi.isLoopbackHost("127.0.0.1.evil.example"));
    assertFalse(HttpApi.isLoopbackHost("localhost.evil.example:8080"));
    assertFalse(HttpApi.isLoopbackHost("[::2]:8080"));
    assertFalse(HttpApi.isLoopbackHost("10.0.0.1:8080"));
  }

  @Test
  void withoutTheHostCheckForeignNamesAreServed() throws Exception {
    Javalin open = HttpApi.create(view, hub, () -> true, false).start("127.0.0.1", 0);
    try {
      assertEquals(200, rawStatus("127.0.0.1", open.port(), "dashboard.example.org"));
    } finally {
      open.stop();
    }
  }

  private static int rawStatus(String hostHeader) throws IOException {
    return rawStatus("127.0.0.1", app.port(), hostHeader);
  }

  private static int rawStatus(String address, int port, String hostHeader) throws IOException {
    try (java.net.Socket socket = new java.net.Socket(address, port)) {
      socket.setSoTimeout(10_000);
      socket.getOutputStream().write(("GET /api/probes HTTP/1.1\r\nHost: " + hostHeader + "\r\nConnection: close\r\n\r\n")
          .getBytes(StandardCharsets.US_ASCII));
      String statusLine = new java.io.BufferedReader(new java.io.InputStreamReader(socket.getInputStream(),
          StandardCharsets.US_ASCII)).readLine();
      return Integer.parseInt(statusLine.split(" ")[1]);
    }
  }

  private static String resource(String path) throws IOException {
    try (InputStream in = HttpApiTest.class.getResourceAsStream(path)) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }
}
