package dev.tagscope.dashboard;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tagscope.embedded.EmbeddedKafkaBroker;
import dev.tagscope.testsupport.HeadlessChromium;
import dev.tagscope.schemas.ImportanceBucket;
import dev.tagscope.schemas.LayerImportance;
import dev.tagscope.schemas.RankAlert;
import dev.tagscope.schemas.Topics;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.support.ui.Select;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The page in headless Chromium (Debian {@code chromium} and {@code chromium-driver}; skipped
 * where they are absent) against a real broker in the JVM: importance, history buckets and
 * alerts of two versions of a model, built by the rule the spectral stream applies, are
 * published to the three topics; the test checks that the trend chart, the stability line, the
 * alerts list and the side-by-side view show them, restarts the dashboard and checks the history
 * is replayed. The filter panel: a 2 x 2 grid probe of v1 with a tag response whose corrected
 * amplitudes are set, top examples with probe images and labels, and a visualisations folder
 * written here; selecting a filter shows its visualisation, its top examples with class names (one
 * named like markup), and a heatmap whose cells carry the fixture's values, and new top examples
 * replace the shown ones live. Screenshots go to {@code target/dashboard-browser*.png} and
 * {@code target/filter-view.png}.
 */
class DashboardBrowserIntegrationTest {
  private static final String MODEL = "fmnist-resnet32";
  private static final String LAYER = "layer2.0";
  /** A version name a user could choose: must show as text, never as an element. */
  private static final String NASTY = "<img src=x onerror=alert(1)>";
  private static final int FILTERS = 16;
  private static final long BUCKET_MS = 60_000;
  private static final double THRESHOLD = 0.8;
  private static final Duration WAIT = Duration.ofSeconds(30);
  private static final String PROBE = "grid-probe";
  private static final List<String> IMAGES = List.of("img-0", "img-1", "img-2");
  /** Class names by label; label 1 is named like markup. */
  private static final List<String> CLASSES = List.of("T-shirt/top", NASTY, "Pullover");
  private static final int K = 3;
  private static Path visualizations;

  private static EmbeddedKafkaBroker broker;
  private static DashboardService dashboard;
  private static ChromeDriver driver;
  private static StreamsLikeHistory history;
  private static double[] latestV1;
  private static double[] latestV2;
  private static long t0;

  @BeforeAll
  static void start(@TempDir Path profile, @TempDir Path vis) throws Exception {
    Assumptions.assumeTrue(HeadlessChromium.available(), HeadlessChromium.missing());
    broker = EmbeddedKafkaBroker.start();
    broker.createTopics(1);
    visualizations = vis;
    List<Integer> all = new ArrayList<>();
    for (int f = 0; f < FILTERS; f++) {
      all.add(f);
    }
    Fixtures.visualizations(vis, MODEL, "v1", LAYER, all, List.of());
    publish();
    dashboard = startDashboard();

    driver = HeadlessChromium.start(profile);
  }

  @AfterAll
  static void stop() {
    if (driver != null) {
      driver.quit();
    }
    if (dashboard != null) {
      dashboard.close();
    }
    if (broker != null) {
      broker.close();
    }
  }

  private static DashboardService startDashboard() throws InterruptedException {
    DashboardService d = new DashboardService(broker.bootstrapServers(), DashboardSettings.defaults().withPort(0)
        .withClasses(CLASSES).withVisualizations(visualizations), new SimpleMeterRegistry()).start();
    assertTrue(d.awaitCaughtUp(WAIT), "dashboard caught up with its topics");
    return d;
  }

  /**
   * v1: six buckets of a steady ranking (the first three make the reference), v2: three buckets
   * whose ranking moved (an alert is raised), then one back near the reference (cleared). A third
   * version, named like markup, has a running importance only.
   */
  private static void publish() {
    Random rnd = new Random(11);
    t0 = (System.currentTimeMillis() / BUCKET_MS - 30) * BUCKET_MS; // half an hour ago, on a bucket boundary
    history = new StreamsLikeHistory(MODEL, LAYER, BUCKET_MS, 3, 4, THRESHOLD);
    for (int b = 0; b < 6; b++) {
      latestV1 = scores(rnd, false);
      history.add("v1", t0 + b * BUCKET_MS, latestV1);
    }
    for (int b = 6; b < 10; b++) {
      latestV2 = scores(rnd, b < 9);
      history.add("v2", t0 + b * BUCKET_MS, latestV2);
    }
    assertEquals(2, history.alerts.size(), "the data raises one alert and clears it");
    try (KafkaProducer<byte[], byte[]> p = new KafkaProducer<>(Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG,
        broker.bootstrapServers()), new ByteArraySerializer(), new ByteArraySerializer())) {
      importance(p, Fixtures.scored(MODEL, "v1", LAYER, latestV1));
      importance(p, Fixtures.scored(MODEL, "v2", LAYER, latestV2));
      importance(p, Fixtures.scored(MODEL, NASTY, LAYER, latestV1));
      history.publish(p);
      // The filter panel's data: a grid probe of v1, its images (labels 0, 1, 2), a tag response, top examples.
      send(p, Topics.PROBES.name(), PROBE, Topics.PROBES.valueSerde().serializer().serialize("", Fixtures.gridProbe(PROBE, MODEL, "v1")));
      for (int i = 0; i < IMAGES.size(); i++) {
        send(p, Topics.PROBE_IMAGES.name(), Topics.probeImageKey(PROBE, IMAGES.get(i)), Topics.PROBE_IMAGES.valueSerde()
            .serializer().serialize("", Fixtures.probeImage(PROBE, IMAGES.get(i), i, i, 1, 28, 28)));
      }
      send(p, Topics.TAG_RESPONSES.name(), Topics.probeLayerKey(PROBE, LAYER), Topics.TAG_RESPONSES.valueSerde().serializer()
          .serialize("", Fixtures.gridTagResponse(PROBE, MODEL, "v1", LAYER, "img-1", FILTERS)));
      topExamples(p, IMAGES);
      p.flush();
    }
  }

  /** Acknowledged one at a time (see FilterViewIntegrationTest#send: first sends to a new partition). */
  private static void send(KafkaProducer<byte[], byte[]> p, String topic, String key, byte[] value) {
    try {
      p.send(new ProducerRecord<>(topic, bytes(key), value)).get(30, java.util.concurrent.TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new IllegalStateException("cannot publish to " + topic, e);
    }
  }

  /** Top examples of v1's layer: filter f's are {@code images[(f + i) % n]}, i = 0..K-1. */
  private static void topExamples(KafkaProducer<byte[], byte[]> p, List<String> images) {
    send(p, Topics.TOP_EXAMPLES.name(), Topics.importanceKey(MODEL, "v1", LAYER), Topics.TOP_EXAMPLES.valueSerde().serializer()
        .serialize("", Fixtures.topExamples(MODEL, "v1", LAYER, PROBE, FILTERS, K, images)));
  }

  private static void importance(KafkaProducer<byte[], byte[]> p, LayerImportance li) {
    p.send(new ProducerRecord<>(Topics.IMPORTANCE.name(), bytes(Topics.importanceKey(li.getModel(), li.getModelVersion(),
        li.getLayer())), Topics.IMPORTANCE.valueSerde().serializer().serialize("", li)));
  }

  /** Filter i scores about 16 - i (steady); moved: the halves swap. Noise 0..0.4 keeps ranks mostly apart. */
  private static double[] scores(Random rnd, boolean moved) {
    double[] s = new double[FILTERS];
    for (int i = 0; i < FILTERS; i++) {
      int place = moved ? (i + FILTERS / 2) % FILTERS : i;
      s[i] = FILTERS - place + 0.4 * rnd.nextDouble();
    }
    return s;
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static String hash(String version) {
    return "#model=" + enc(MODEL) + "&version=" + enc(version) + "&layer=" + enc(LAYER);
  }

  private static String enc(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8);
  }

  private static Object js(String script, Object... args) {
    return ((JavascriptExecutor) driver).executeScript(script, args);
  }

  private static void await(String what, String condition) {
    new WebDriverWait(driver, WAIT).withMessage(what).until(d -> Boolean.TRUE.equals(js("return !!(" + condition + ");")));
  }

  /** The x values (bucket starts) and y values of one dataset of a chart, as the page handed them to Chart.js. */
  @SuppressWarnings("unchecked")
  private static List<List<Object>> points(String canvas, int dataset) {
    return (List<List<Object>>) js("return Chart.getChart(arguments[0]).data.datasets[arguments[1]].data"
        + ".map(p => [p.x, p.y]);", canvas, dataset);
  }

  private static double number(Object o) {
    return ((Number) o).doubleValue();
  }

  private static void screenshot(String name) throws IOException {
    Path out = Path.of("target", name);
    Files.createDirectories(out.getParent());
    Files.write(out, driver.getScreenshotAs(OutputType.BYTES));
  }

  @Test
  void trendStabilityAlertsAndVersionsRenderAndSurviveARestart() throws Exception {
    List<ImportanceBucket> v1 = history.buckets.stream().filter(b -> b.getModelVersion().equals("v1")).toList();
    List<ImportanceBucket> v2 = history.buckets.stream().filter(b -> b.getModelVersion().equals("v2")).toList();

    // --- v1: six buckets; the trend shows the latest bucket's top 8 filters, the first three buckets (the reference) have no rho.
    driver.get(dashboard.url() + hash("v1"));
    await("v1's history drawn", "window.Chart && Chart.getChart('trend-chart') && Chart.getChart('trend-chart').data.datasets.length === 8"
        + " && Chart.getChart('trend-chart').data.datasets[0].data.length === 6");
    int[] rank = Fixtures.ranks(latestV1);
    List<List<Object>> best = points("trend-chart", 0);
    int bestFilter = indexOfRank(rank, 1);
    assertEquals("filter " + bestFilter + " (#1)", js("return Chart.getChart('trend-chart').data.datasets[0].label;"));
    for (int b = 0; b < 6; b++) {
      assertEquals(t0 + b * BUCKET_MS, number(best.get(b).get(0)), 0);
      double score = v1.get(b).getFilters().get(bestFilter).getScore();
      double bucketMax = v1.get(b).getFilters().stream().mapToDouble(f -> f.getScore()).max().orElseThrow();
      assertEquals(score / bucketMax, number(best.get(b).get(1)), 1e-12);
    }
    assertEquals(1.0, number(best.get(5).get(1)), 1e-12, "the best filter of the latest bucket has importance 1");
    List<List<Object>> rho = points("stability-chart", 0);
    assertEquals(6, rho.size());
    for (int b = 0; b < 6; b++) {
      if (b < 3) {
        assertEquals(null, rho.get(b).get(1), "bucket " + b + " is part of the reference");
      } else {
        assertEquals(v1.get(b).getRho(), number(rho.get(b).get(1)), 1e-12);
        assertTrue(number(rho.get(b).get(1)) > THRESHOLD);
      }
    }
    List<List<Object>> thresholdLine = points("stability-chart", 2);
    assertEquals(THRESHOLD, number(thresholdLine.get(0).get(1)), 0);
    assertEquals(THRESHOLD, number(thresholdLine.get(1).get(1)), 0);
    String meta = driver.findElement(By.id("history-meta")).getText();
    assertTrue(meta.startsWith("6 buckets of 60 s"), meta);

    // --- the alerts list: newest first, CLEARED (bucket 9) then RAISED (bucket 6), each linking to v2's layer.
    await("two alerts listed", "document.querySelectorAll('#alerts-list li').length === 2");
    List<WebElement> alerts = driver.findElements(By.cssSelector("#alerts-list li"));
    assertTrue(alerts.get(0).getAttribute("class").contains("alert-cleared"), alerts.get(0).getAttribute("class"));
    assertTrue(alerts.get(1).getAttribute("class").contains("alert-raised"), alerts.get(1).getAttribute("class"));
    RankAlert raised = history.alerts.get(0);
    String raisedText = alerts.get(1).getText();
    assertTrue(raisedText.contains(MODEL + " @ v2 \u203a " + LAYER), raisedText);
    assertTrue(raisedText.contains(String.format(java.util.Locale.ROOT, "\u03c1 %.2f < 0.80 against v1", raised.getRho())), raisedText);
    assertTrue(raisedText.contains("f" + raised.getMovers().get(0).getFilter() + " #" + raised.getMovers().get(0).getReferenceRank()
        + "\u2192#" + raised.getMovers().get(0).getRank()), raisedText);
    assertEquals("2 alerts", driver.findElement(By.id("alerts-count")).getText()); // none open: the latest is CLEARED

    // --- following the alert's link selects v2: four buckets, the first three below the threshold.
    alerts.get(1).findElement(By.tagName("a")).click();
    await("v2's history drawn", "Chart.getChart('stability-chart') && Chart.getChart('stability-chart').data.datasets[0].data.length === 4");
    assertEquals("[\"" + MODEL + "\",\"v2\",\"" + LAYER + "\"]", driver.findElement(By.id("layer-select")).getAttribute("value"));
    assertStabilityOfV2(v2);

    // --- versions side by side: v1 against v2, rho and top-k overlap of their latest running importances.
    await("the versions of the layer offered", "document.getElementById('compare-title-b').textContent === 'B: v2'"
        + " && document.querySelector('#compare-a option[value=\"v1\"]')");
    new Select(driver.findElement(By.id("compare-a"))).selectByValue("v1");
    await("v1 and v2 side by side", "document.getElementById('compare-title-a').textContent === 'A: v1'"
        + " && document.getElementById('compare-title-b').textContent === 'B: v2'"
        + " && document.querySelectorAll('#compare-table-a tbody tr').length === " + FILTERS);
    double versionsRho = StreamsLikeHistory.spearman(latestV1, latestV2);
    double versionsOverlap = StreamsLikeHistory.overlap(latestV1, latestV2, 8);
    String headline = driver.findElement(By.id("compare-headline")).getText();
    assertTrue(headline.startsWith(String.format(java.util.Locale.ROOT, "\u03c1 = %.2f \u00b7 top-8 overlap %.2f", versionsRho,
        versionsOverlap)), headline);
    assertEquals(FILTERS, driver.findElements(By.cssSelector("#compare-table-b tbody tr")).size());
    String firstB = driver.findElement(By.cssSelector("#compare-table-b tbody tr")).getAttribute("data-filter");
    assertEquals(String.valueOf(indexOfRank(Fixtures.ranks(latestV2), 1)), firstB);

    // --- names from users stay text: the markup-named version is listed, and no element was made of it.
    assertTrue((Boolean) js("return [...document.images].every(i => !i.getAttribute('src')"
        + " || i.getAttribute('src').startsWith('/api/'));"), "every image comes from the API");
    assertTrue((Boolean) js("return [...document.querySelectorAll('#layer-select optgroup')].some(g => g.label === arguments[0]);",
        MODEL + " @ " + NASTY));
    assertTrue(new Select(driver.findElement(By.id("compare-b"))).getOptions().stream().anyMatch(o -> o.getText().equals(NASTY)));
    screenshot("dashboard-browser.png");

    // --- restart: a new dashboard replays the topics; the page shows the same history and alerts.
    dashboard.close();
    dashboard = startDashboard();
    driver.get("about:blank");
    driver.get(dashboard.url() + hash("v2"));
    await("v2's history drawn after the restart",
        "window.Chart && Chart.getChart('stability-chart') && Chart.getChart('stability-chart').data.datasets[0].data.length === 4"
        + " && document.querySelectorAll('#alerts-list li').length === 2");
    assertStabilityOfV2(v2);
    assertEquals(8L, js("return Chart.getChart('trend-chart').data.datasets.length;"));
    screenshot("dashboard-browser-restarted.png");
    assertTrue(driver.findElement(By.id("history-body")).isDisplayed());
  }

  @Test
  void selectingAFilterShowsItsVisualisationTopExamplesAndMap() throws Exception {
    driver.get(dashboard.url() + hash("v1"));
    int filter = indexOfRank(Fixtures.ranks(latestV1), 2);
    await("the ranked filters listed", "document.querySelector('#filters-table tbody tr[data-filter=\"" + filter + "\"]')");
    driver.findElement(By.cssSelector("#filters-table tbody tr[data-filter='" + filter + "']")).click();
    await("filter " + filter + "'s panel filled", "document.getElementById('filter-title').textContent === 'Filter " + filter
        + " \u00b7 rank 2' && document.querySelectorAll('#examples figure').length === " + K
        + " && document.querySelectorAll('#map-grid .map-cell').length === 4"
        + " && [...document.querySelectorAll('#filter-panel img')].every(i => i.hidden || (i.complete && i.naturalWidth > 0))");

    // The visualisation: the folder's PNG of this filter, decoded by the browser at its 28 x 28 pixels.
    assertEquals(28L, js("return document.getElementById('vis-img').naturalWidth;"));
    assertTrue(driver.findElement(By.id("vis-img")).getAttribute("src").endsWith("&filter=" + filter));
    assertEquals("pixelated", js("return getComputedStyle(document.getElementById('vis-img')).imageRendering;"));
    assertTrue(driver.findElement(By.id("vis-note")).getText().contains("objective reached " + sig3(4.25 + filter)),
        driver.findElement(By.id("vis-note")).getText());

    // Top examples: images (filter + i) % 3 with their labels' class names, activation (filter + 1) * (K - i) / 4.
    List<WebElement> figures = driver.findElements(By.cssSelector("#examples figure"));
    for (int i = 0; i < K; i++) {
      int img = (filter + i) % IMAGES.size();
      WebElement fig = figures.get(i);
      assertEquals(CLASSES.get(img), fig.findElement(By.className("example-class")).getText());
      assertEquals(sig3(Fixtures.exampleActivation(filter, K, i)), fig.findElement(By.className("example-act")).getText());
      assertEquals(28L, js("return arguments[0].querySelector('img').naturalWidth;", fig));
      assertTrue(fig.getAttribute("title").startsWith(PROBE + " / " + IMAGES.get(img) + ":"), fig.getAttribute("title"));
    }
    // The class named like markup is text: shown verbatim, and no element was made of it.
    assertTrue((Boolean) js("return [...document.querySelectorAll('.example-class')].some(e => e.textContent === arguments[0]"
        + " && e.children.length === 0);", NASTY));
    assertTrue((Boolean) js("return [...document.images].every(i => !i.getAttribute('src') || i.getAttribute('src').startsWith('/api/'));"));

    // The map: 2 x 2 cells over the window's image, each the corrected amplitude at its region's fundamental.
    List<WebElement> cells = driver.findElements(By.cssSelector("#map-grid .map-cell"));
    for (int r = 0; r < 4; r++) {
      WebElement cell = cells.get(r); // row-major, as region r lies at row r / 2, column r % 2
      double expected = (filter + 1) * (r + 1) / 8.0;
      assertEquals(String.valueOf(r / 2), cell.getAttribute("data-row"));
      assertEquals(String.valueOf(r % 2), cell.getAttribute("data-col"));
      assertEquals(expected, Double.parseDouble(cell.getAttribute("data-value")), 0);
      assertEquals(Fixtures.GRID_REGIONS.get(r) + ": " + sig3(expected), cell.getAttribute("title"));
    }
    assertEquals(28L, js("return document.getElementById('map-img').naturalWidth;"));
    assertTrue(driver.findElement(By.id("map-img")).getAttribute("src").endsWith("image=img-1"));
    List<WebElement> pairs = driver.findElements(By.cssSelector("#im-pairs li"));
    assertEquals(2, pairs.size());
    assertEquals("r0c0 + r0c1 " + sig3(1.0), pairs.get(0).getText());
    assertEquals("r1c0 + r1c1 " + sig3((filter + 1) / 16.0), pairs.get(1).getText());
    assertEquals(sig3((filter + 1) * 4 / 8.0), driver.findElement(By.id("map-max")).getText());
    WebElement panel = driver.findElement(By.id("layer-card"));
    ((JavascriptExecutor) driver).executeScript("document.getElementById('filter-panel').scrollIntoView();");
    Files.createDirectories(Path.of("target"));
    Files.write(Path.of("target", "filter-view.png"), panel.getScreenshotAs(OutputType.BYTES));

    // Live: new top examples (only img-0 now) replace the shown ones without a reload.
    try (KafkaProducer<byte[], byte[]> p = new KafkaProducer<>(Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG,
        broker.bootstrapServers()), new ByteArraySerializer(), new ByteArraySerializer())) {
      topExamples(p, List.of("img-0"));
      p.flush();
    }
    await("the new top examples shown", "[...document.querySelectorAll('#examples .example-class')].every(e => e.textContent === "
        + "'T-shirt/top') && document.querySelectorAll('#examples figure').length === " + K);
  }

  /** A number as the page's fmt(x) writes it: three significant figures (JavaScript's toPrecision(3)). */
  private static String sig3(double v) {
    return String.format(java.util.Locale.ROOT, "%.3g", v);
  }

  /** v2's rho and overlap per bucket as built, with the alert's threshold (not the default) drawn. */
  private static void assertStabilityOfV2(List<ImportanceBucket> v2) {
    List<List<Object>> rho = points("stability-chart", 0);
    List<List<Object>> overlap = points("stability-chart", 1);
    List<Double> shown = new ArrayList<>();
    for (int b = 0; b < 4; b++) {
      assertEquals(v2.get(b).getBucketStartMs(), number(rho.get(b).get(0)), 0);
      assertEquals(v2.get(b).getRho(), number(rho.get(b).get(1)), 1e-12);
      assertEquals(v2.get(b).getTopKOverlap(), number(overlap.get(b).get(1)), 1e-12);
      shown.add(number(rho.get(b).get(1)));
    }
    assertTrue(shown.get(0) < THRESHOLD && shown.get(1) < THRESHOLD && shown.get(2) < THRESHOLD && shown.get(3) >= THRESHOLD,
        "moved for three buckets, back in the fourth: " + shown);
    assertEquals("alert threshold 0.80", js("return Chart.getChart('stability-chart').data.datasets[2].label;"));
  }

  private static int indexOfRank(int[] rank, int r) {
    for (int i = 0; i < rank.length; i++) {
      if (rank[i] == r) {
        return i;
      }
    }
    throw new IllegalArgumentException("no rank " + r);
  }
}
