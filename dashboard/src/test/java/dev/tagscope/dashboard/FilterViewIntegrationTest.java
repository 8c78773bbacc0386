package dev.tagscope.dashboard;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tagscope.embedded.EmbeddedKafkaBroker;
import dev.tagscope.schemas.TopExamples;
import dev.tagscope.schemas.Topics;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import javax.imageio.ImageIO;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The filter panel's API against a real broker in the JVM: top examples, probe images, a 2 x 2
 * grid probe with a tag response whose corrected amplitudes are set, and a visualisations folder
 * written in the test come back from {@code /api/filter}, {@code /api/probe-image},
 * {@code /api/visualization} and {@code /api/classes} with the values written; the map is the one
 * the fixture's amplitudes make, computed here by hand.
 */
class FilterViewIntegrationTest {
  private static final ObjectMapper MAPPER = new ObjectMapper();
  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private static final Duration WAIT = Duration.ofSeconds(30);
  private static final String MODEL = "fmnist-resnet32";
  private static final String VERSION = "v1";
  private static final String LAYER = "layer1.0";
  private static final String PROBE = "grid-probe";
  private static final int FILTERS = 3;
  private static final int K = 2;
  private static final List<String> IMAGES = List.of("img-0", "img-1", "img-2");
  private static final List<String> CLASSES = List.of("T-shirt/top", "Trouser", "<b>Pullover</b>");

  private static EmbeddedKafkaBroker broker;
  private static DashboardService dashboard;
  private static String base;
  private static KafkaProducer<byte[], byte[]> producer;

  private static Path visFolder;
  private static Path secret;

  @BeforeAll
  static void start(@TempDir Path tmp) throws Exception {
    broker = EmbeddedKafkaBroker.start();
    broker.createTopics(1);
    producer = new KafkaProducer<>(Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers()),
        new ByteArraySerializer(), new ByteArraySerializer());
    send(Topics.PROBES.name(), PROBE, Topics.PROBES.valueSerde().serializer().serialize("", Fixtures.gridProbe(PROBE, MODEL, VERSION)));
    // Labels 0, 1, 2; img-2 is RGB (3 x 5 x 4) so the channel order is checked.
    for (int i = 0; i < IMAGES.size(); i++) {
      int c = i == 2 ? 3 : 1;
      send(Topics.PROBE_IMAGES.name(), Topics.probeImageKey(PROBE, IMAGES.get(i)), Topics.PROBE_IMAGES.valueSerde().serializer()
          .serialize("", Fixtures.probeImage(PROBE, IMAGES.get(i), i, i, c, i == 2 ? 5 : 28, i == 2 ? 4 : 28)));
    }
    send(Topics.PROBE_IMAGES.name(), "garbage", new byte[] {9, 9, 9});
    send(Topics.TOP_EXAMPLES.name(), Topics.importanceKey(MODEL, VERSION, LAYER), topExamplesBytes(
        Fixtures.topExamples(MODEL, VERSION, LAYER, PROBE, FILTERS, K, IMAGES)));
    send(Topics.IMPORTANCE.name(), Topics.importanceKey(MODEL, VERSION, LAYER), Topics.IMPORTANCE.valueSerde().serializer()
        .serialize("", Fixtures.scored(MODEL, VERSION, LAYER, 1, 4, 2)));
    send(Topics.TAG_RESPONSES.name(), Topics.probeLayerKey(PROBE, LAYER), Topics.TAG_RESPONSES.valueSerde().serializer()
        .serialize("", Fixtures.gridTagResponse(PROBE, MODEL, VERSION, LAYER, "img-1", FILTERS)));
    producer.flush();

    Path vis = tmp.resolve("vis");
    Files.createDirectories(vis);
    Files.write(tmp.resolve("secret.png"), pngOf(7));
    Files.write(vis.resolve("not-a-png.txt"), new byte[] {1});
    Files.createSymbolicLink(vis.resolve("link.png"), tmp.resolve("secret.png"));
    // Filter 0 has a real PNG; 1 names a file outside the folder, 2 a link to it (neither may be served).
    Fixtures.visualizations(vis, MODEL, VERSION, LAYER, List.of(0, 3),
        List.of(Map.of("filter", 1, "image", "../secret.png"), Map.of("filter", 2, "image", "link.png")));
    visFolder = vis;
    secret = tmp.resolve("secret.png");

    dashboard = new DashboardService(broker.bootstrapServers(), DashboardSettings.defaults().withPort(0)
        .withEventCoalescing(Duration.ofMillis(50)).withClasses(CLASSES).withVisualizations(vis), new SimpleMeterRegistry()).start();
    base = "http://127.0.0.1:" + dashboard.port();
    assertTrue(dashboard.awaitCaughtUp(WAIT), "dashboard did not catch up");
  }

  @AfterAll
  static void stop() {
    if (producer != null) {
      producer.close();
    }
    if (dashboard != null) {
      dashboard.close();
    }
    if (broker != null) {
      broker.close();
    }
  }

  @Test
  void filterDetailCarriesRankTopExamplesWithClassNamesVisualisationAndMap() throws Exception {
    JsonNode f = json(filterPath(1));
    assertEquals(1, f.get("rank").asInt(), "scores 1 4 2: filter 1 is best");
    assertEquals(1.0, f.get("importance").asDouble());
    assertEquals(4.0, f.get("score").asDouble());
    assertEquals(K, f.get("k").asInt());
    assertEquals(IMAGES.size(), f.get("imagesSeen").asLong());
    assertTrue(f.get("classesKnown").asBoolean());
    JsonNode ex = f.get("examples");
    assertEquals(K, ex.size());
    for (int i = 0; i < K; i++) {
      int img = (1 + i) % IMAGES.size();
      JsonNode e = ex.get(i);
      assertEquals(PROBE, e.get("probe").asText());
      assertEquals(IMAGES.get(img), e.get("imageId").asText());
      assertEquals(Fixtures.exampleActivation(1, K, i), e.get("activation").asDouble());
      assertEquals(img, e.get("label").asInt());
      assertEquals(CLASSES.get(img), e.get("className").asText());
      assertEquals("/api/probe-image?probe=" + PROBE + "&image=" + IMAGES.get(img), e.get("imageUrl").asText());
    }
    assertEquals(5, ex.get(1).get("height").asInt(), "img-2 is 5 x 4");
    assertEquals(4, ex.get(1).get("width").asInt());

    JsonNode v = json(filterPath(0)).get("visualization");
    assertEquals("/api/visualization?model=" + MODEL + "&version=" + VERSION + "&layer=" + LAYER + "&filter=0", v.get("url").asText());
    assertEquals("activation-maximisation", v.get("method").asText());
    assertEquals(4.25, v.get("activation").asDouble());
    assertEquals(0.75, v.get("meanSampleActivation").asDouble());
    assertEquals(1, v.get("rank").asInt());
    assertTrue(f.get("visualization").isNull(), "filter 1's entry points outside the folder: none");
  }

  @Test
  void spatialMapIsTheFundamentalPerCellAndTheStrongestImPairs() throws Exception {
    for (int filter = 0; filter < FILTERS; filter++) {
      JsonNode m = json(filterPath(filter)).get("map");
      assertEquals(PROBE, m.get("probe").asText());
      assertEquals("img-1", m.get("imageId").asText());
      assertEquals("/api/probe-image?probe=" + PROBE + "&image=img-1", m.get("imageUrl").asText());
      assertEquals(2, m.get("rows").asInt());
      assertEquals(2, m.get("cols").asInt());
      for (int r = 0; r < 4; r++) {
        // region r (f_{r+1}) lies in row r / 2, column r % 2; its cell is its fundamental's corrected amplitude
        assertEquals((filter + 1) * (r + 1) / 8.0, m.get("cells").get(r / 2).get(r % 2).asDouble(), "filter " + filter + " region " + r);
        assertEquals(Fixtures.GRID_REGIONS.get(r), m.get("regions").get(r / 2).get(r % 2).asText());
      }
      // pairs: (r0c0, r0c1) sums 3/4 + 1/4 = 1; (r1c0, r1c1) (f + 1) / 16; the floor, 1 % of the largest
      // corrected amplitude max((f + 1) / 2, 3/4), is at most 0.015, below both.
      JsonNode pairs = m.get("imPairs");
      assertEquals(2, pairs.size());
      assertEquals("r0c0", pairs.get(0).get("first").asText());
      assertEquals("r0c1", pairs.get(0).get("second").asText());
      assertEquals(1.0, pairs.get(0).get("amplitude").asDouble());
      assertEquals("r1c0", pairs.get(1).get("first").asText());
      assertEquals("r1c1", pairs.get(1).get("second").asText());
      assertEquals((filter + 1) / 16.0, pairs.get(1).get("amplitude").asDouble());
    }
  }

  @Test
  void probeImagesArePngsOfTheirPixels() throws Exception {
    for (int i = 0; i < IMAGES.size(); i++) {
      HttpResponse<byte[]> r = getBytes("/api/probe-image?probe=" + enc(PROBE) + "&image=" + enc(IMAGES.get(i)));
      assertEquals(200, r.statusCode());
      assertEquals("image/png", r.headers().firstValue("Content-Type").orElse(""));
      BufferedImage img = ImageIO.read(new ByteArrayInputStream(r.body()));
      int c = i == 2 ? 3 : 1;
      assertEquals(i == 2 ? 4 : 28, img.getWidth());
      assertEquals(i == 2 ? 5 : 28, img.getHeight());
      for (int y = 0; y < img.getHeight(); y++) {
        for (int x = 0; x < img.getWidth(); x++) {
          int[] px = img.getRaster().getPixel(x, y, (int[]) null);
          assertEquals(c, px.length);
          for (int ch = 0; ch < c; ch++) {
            assertEquals(Fixtures.pixel(i, ch, y, x), px[ch], "image " + i + " channel " + ch + " at " + x + "," + y);
          }
        }
      }
    }
    assertEquals(404, getBytes("/api/probe-image?probe=" + PROBE + "&image=nope").statusCode());
    assertEquals(404, getBytes("/api/probe-image?probe=other&image=img-0").statusCode());
    assertEquals(400, getBytes("/api/probe-image?probe=" + PROBE).statusCode());
  }

  @Test
  void visualisationIsTheIndexedFileAndNothingElse() throws Exception {
    HttpResponse<byte[]> r = getBytes(visPath(LAYER, 0));
    assertEquals(200, r.statusCode());
    assertEquals("image/png", r.headers().firstValue("Content-Type").orElse(""));
    BufferedImage img = ImageIO.read(new ByteArrayInputStream(r.body()));
    assertEquals(28, img.getWidth());
    assertEquals((3 * 9 + 2) & 0xFF, img.getRaster().getSample(3, 2, 0));
    // Entries that lead outside the folder (a ../ path, a link) are absent; so are unknown filters and layers, and a
    // layer named like a path is only a name.
    assertEquals(404, getBytes(visPath(LAYER, 1)).statusCode());
    assertEquals(404, getBytes(visPath(LAYER, 2)).statusCode());
    assertEquals(404, getBytes(visPath(LAYER, 9)).statusCode());
    assertEquals(404, getBytes(visPath("../secret.png", 0)).statusCode());
    assertEquals(404, getBytes("/api/visualization?model=" + MODEL + "&version=other&layer=" + LAYER + "&filter=0").statusCode());
    assertEquals(400, getBytes("/api/visualization?model=" + MODEL + "&layer=" + LAYER + "&filter=..%2Fsecret").statusCode());
  }

  @Test
  void aFileReplacedByALinkAfterTheIndexWasReadIsNotServed() throws Exception {
    assertEquals(200, getBytes(visPath(LAYER, 3)).statusCode(), "a real PNG, and the index is read");
    Path png = visFolder.resolve(LAYER.replaceAll("[^A-Za-z0-9._-]", "_")).resolve("filter-3.png");
    Files.delete(png);
    Files.createSymbolicLink(png, secret);
    assertEquals(404, getBytes(visPath(LAYER, 3)).statusCode(), "the link leads outside the folder");
  }

  @Test
  void classesAndUnknownFilters() throws Exception {
    JsonNode c = json("/api/classes");
    assertEquals(CLASSES.size(), c.get("classes").size());
    assertEquals(CLASSES.get(2), c.get("classes").get(2).asText());
    assertEquals(404, getBytes(filterPath(99)).statusCode());
    assertEquals(404, getBytes("/api/filter?model=" + MODEL + "&version=" + VERSION + "&layer=nope&filter=0").statusCode());
    assertEquals(400, getBytes("/api/filter?model=" + MODEL + "&layer=" + LAYER).statusCode());
  }

  @Test
  void newTopExamplesReplaceTheOldOnes() throws Exception {
    String layer = "layer1.1";
    send(Topics.TOP_EXAMPLES.name(), Topics.importanceKey(MODEL, VERSION, layer), topExamplesBytes(
        Fixtures.topExamples(MODEL, VERSION, layer, PROBE, 1, 1, List.of("img-0"))));
    producer.flush();
    long deadline = System.nanoTime() + WAIT.toNanos();
    int status;
    do {
      Thread.sleep(50);
      status = getBytes(filterPath(layer, 0)).statusCode();
    } while (status == 404 && System.nanoTime() < deadline);
    JsonNode first = json(filterPath(layer, 0));
    assertEquals("img-0", first.get("examples").get(0).get("imageId").asText());
    assertTrue(first.get("rank").isNull(), "no importance for this layer yet");
    assertTrue(first.get("map").isNull(), "no tag response of this layer");
    send(Topics.TOP_EXAMPLES.name(), Topics.importanceKey(MODEL, VERSION, layer), topExamplesBytes(
        Fixtures.topExamples(MODEL, VERSION, layer, PROBE, 1, 1, List.of("img-2"))));
    producer.flush();
    deadline = System.nanoTime() + WAIT.toNanos();
    String shown;
    do {
      Thread.sleep(50);
      shown = json(filterPath(layer, 0)).get("examples").get(0).get("imageId").asText();
    } while (!shown.equals("img-2") && System.nanoTime() < deadline);
    assertEquals("img-2", shown);
    assertFalse(json(filterPath(layer, 0)).get("examples").get(0).get("className").isNull());
  }

  // ------------------------------------------------------------------ helpers

  private static String filterPath(int filter) {
    return filterPath(LAYER, filter);
  }

  private static String filterPath(String layer, int filter) {
    return "/api/filter?model=" + enc(MODEL) + "&version=" + enc(VERSION) + "&layer=" + enc(layer) + "&filter=" + filter;
  }

  private static String visPath(String layer, int filter) {
    return "/api/visualization?model=" + enc(MODEL) + "&version=" + enc(VERSION) + "&layer=" + enc(layer) + "&filter=" + filter;
  }

  private static String enc(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8);
  }

  private static byte[] topExamplesBytes(TopExamples t) {
    return Topics.TOP_EXAMPLES.valueSerde().serializer().serialize("", t);
  }

  private static byte[] pngOf(int value) throws java.io.IOException {
    BufferedImage img = new BufferedImage(2, 2, BufferedImage.TYPE_BYTE_GRAY);
    img.getRaster().setSample(0, 0, 0, value);
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
    ImageIO.write(img, "png", out);
    return out.toByteArray();
  }

  /**
   * One record at a time, acknowledged: pipelined first sends to a partition created a moment ago were seen to
   * retry with OutOfOrderSequenceException until the delivery timeout (2 min), losing the records.
   */
  private static void send(String topic, String key, byte[] value) throws Exception {
    producer.send(new ProducerRecord<>(topic, key.getBytes(StandardCharsets.UTF_8), value)).get(30, TimeUnit.SECONDS);
  }

  private static HttpResponse<byte[]> getBytes(String path) throws Exception {
    return HTTP.send(HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(10)).GET().build(),
        HttpResponse.BodyHandlers.ofByteArray());
  }

  private static JsonNode json(String path) throws Exception {
    HttpResponse<byte[]> r = getBytes(path);
    assertEquals(200, r.statusCode(), () -> path + ": " + new String(r.body(), StandardCharsets.UTF_8));
    return MAPPER.readTree(r.body());
  }
}
