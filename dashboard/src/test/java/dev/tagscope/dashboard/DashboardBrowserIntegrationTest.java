package dev.tagscope.dashboard;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tagscope.embedded.EmbeddedKafkaBroker;
import dev.tagscope.schemas.ImportanceBucket;
import dev.tagscope.schemas.LayerImportance;
import dev.tagscope.schemas.RankAlert;
import dev.tagscope.schemas.Topics;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.File;
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
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.Select;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The page in headless Chromium (Debian {@code chromium} and {@code chromium-driver}; skipped
 * where they are absent) against a real broker in the JVM: importance, history buckets and
 * alerts of two versions of a model, built by the rule the spectral stream applies, are
 * published to the three topics; the test checks that the trend chart, the stability line, the
 * alerts list and the side-by-side view show them, restarts the dashboard and checks the history
 * is replayed. Screenshots go to {@code target/dashboard-browser*.png}.
 */
class DashboardBrowserIntegrationTest {
  private static final Path CHROMIUM = Path.of(System.getenv().getOrDefault("CHROME_BIN", "/usr/bin/chromium"));
  private static final Path CHROMEDRIVER = Path.of(System.getenv().getOrDefault("CHROMEDRIVER", "/usr/bin/chromedriver"));
  private static final String MODEL = "fmnist-resnet32";
  private static final String LAYER = "layer2.0";
  /** A version name a user could choose: must show as text, never as an element. */
  private static final String NASTY = "<img src=x onerror=alert(1)>";
  private static final int FILTERS = 16;
  private static final long BUCKET_MS = 60_000;
  private static final double THRESHOLD = 0.8;
  private static final Duration WAIT = Duration.ofSeconds(30);

  private static EmbeddedKafkaBroker broker;
  private static DashboardService dashboard;
  private static ChromeDriver driver;
  private static StreamsLikeHistory history;
  private static double[] latestV1;
  private static double[] latestV2;
  private static long t0;

  @BeforeAll
  static void start(@TempDir Path profile) throws Exception {
    Assumptions.assumeTrue(Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER),
        "needs Debian's chromium and chromium-driver (" + CHROMIUM + ", " + CHROMEDRIVER + "); skipped");
    broker = EmbeddedKafkaBroker.start();
    broker.createTopics(1);
    publish();
    dashboard = startDashboard();

    ChromeOptions options = new ChromeOptions();
    options.setBinary(CHROMIUM.toFile());
    options.addArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage", "--window-size=1400,3200",
        "--user-data-dir=" + profile.toAbsolutePath());
    ChromeDriverService service = new ChromeDriverService.Builder()
        .usingDriverExecutable(new File(CHROMEDRIVER.toString())).usingAnyFreePort().build();
    driver = new ChromeDriver(service, options);
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
    DashboardService d = new DashboardService(broker.bootstrapServers(), DashboardSettings.defaults().withPort(0),
        new SimpleMeterRegistry()).start();
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
      p.flush();
    }
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
    assertEquals(0L, js("return document.querySelectorAll('img').length;"));
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
