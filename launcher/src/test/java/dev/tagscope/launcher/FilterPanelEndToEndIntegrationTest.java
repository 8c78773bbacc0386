package dev.tagscope.launcher;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tagscope.dashboard.DashboardService;
import dev.tagscope.dashboard.DashboardSettings;
import dev.tagscope.embedded.EmbeddedKafkaBroker;
import dev.tagscope.testsupport.HeadlessChromium;
import dev.tagscope.testsupport.ProjectFiles;
import dev.tagscope.worker.ModelDescription;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
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
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * Issue 10 end to end, with nothing made up: {@code tagscope demo --visualize} probes the bundled
 * model on a broker of the test's own, then a dashboard started on that broker shows, in headless
 * Chromium (Debian {@code chromium} and {@code chromium-driver}; skipped without them), the top
 * filter's visualisation (the PNG the visualiser wrote, byte for byte), its top examples as the
 * stream kept them (probe images from the producer, class names from the model card) and its
 * spatial map as the stream's latest tag response gives it. Screenshot:
 * {@code launcher/target/filter-panel-end-to-end.png}.
 */
class FilterPanelEndToEndIntegrationTest {
  private static final Duration WAIT = Duration.ofSeconds(60);
  private static final String LAYER = "layer2.4";
  private static final int IMAGES = 3;
  private static final ObjectMapper MAPPER = new ObjectMapper();

  @Test
  void theDemosVisualisationTopExamplesAndSpatialMapShowInTheFilterPanel(@TempDir Path tmp) throws Exception {
    Assumptions.assumeTrue(HeadlessChromium.available(), HeadlessChromium.missing());
    Path vis = tmp.resolve("vis");
    Path report = tmp.resolve("report.json");
    try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start()) {
      String bs = broker.bootstrapServers();
      CommandLineTest.Run demo = CommandLineTest.run("demo", "--bootstrap-servers", bs, "--count", Integer.toString(IMAGES),
          "--layout", "quadrants", "--layers", LAYER,
          "--model", ProjectFiles.bundledModel().toString(), "--images", ProjectFiles.samples().toString(), "--no-dashboard", "--visualize", "--visualize-steps", "16",
          "--visualizations", vis.toString(), "--report", report.toString());
      assertEquals(0, demo.rc(), demo.err());

      JsonNode index = MAPPER.readTree(vis.resolve("index.json").toFile());
      JsonNode best = index.get("layers").get(0).get("filters").get(0);
      assertEquals(1, best.get("rank").asInt());
      int filter = best.get("filter").asInt();
      JsonNode reportBest = MAPPER.readTree(report.toFile()).get("layers").get(0).get("ranking").get(0);
      assertEquals(reportBest.get("filter").asInt(), filter, "the visualised top filter is the report's");
      String version = index.get("modelVersion").asText();
      String model = index.get("model").asText();
      List<String> classes = ModelDescription.cardClasses(ProjectFiles.bundledModel());

      DashboardSettings settings = DashboardSettings.defaults().withPort(0).withClasses(classes).withVisualizations(vis);
      try (DashboardService dashboard = new DashboardService(bs, settings, new SimpleMeterRegistry()).start()) {
        assertTrue(dashboard.awaitCaughtUp(WAIT), "dashboard caught up with its topics");
        JsonNode api = get(dashboard.url() + "api/filter?model=" + enc(model) + "&version=" + enc(version) + "&layer="
            + enc(LAYER) + "&filter=" + filter);
        assertEquals(IMAGES, api.get("examples").size(), "every probed image is an example (k = 8 > 3 images)");
        for (JsonNode e : api.get("examples")) {
          assertEquals(classes.get(e.get("label").asInt()), e.get("className").asText(), "the card's class name");
        }
        assertEquals(2, api.get("map").get("rows").asInt());
        assertEquals(2, api.get("map").get("cols").asInt());
        byte[] served = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(dashboard.url()
            + api.get("visualization").get("url").asText().replaceFirst("^/", ""))).build(),
            HttpResponse.BodyHandlers.ofByteArray()).body();
        assertArrayEquals(Files.readAllBytes(vis.resolve(best.get("image").asText())), served, "the visualiser's own PNG");

        ChromeDriver driver = HeadlessChromium.start(tmp.resolve("profile"));
        try {
          driver.get(dashboard.url() + "#model=" + enc(model) + "&version=" + enc(version) + "&layer=" + enc(LAYER));
          await(driver, "the ranked filters listed", "document.querySelector('#filters-table tbody tr[data-filter=\"" + filter + "\"]')");
          driver.findElement(By.cssSelector("#filters-table tbody tr[data-filter='" + filter + "']")).click();
          await(driver, "filter " + filter + "'s panel filled", "document.getElementById('filter-title').textContent === 'Filter "
              + filter + " \u00b7 rank 1' && document.querySelectorAll('#examples figure').length === " + IMAGES
              + " && document.querySelectorAll('#map-grid .map-cell').length === 4"
              + " && [...document.querySelectorAll('#filter-panel img')].every(i => i.hidden || (i.complete && i.naturalWidth > 0))");
          assertEquals(28L, js(driver, "return document.getElementById('vis-img').naturalWidth;"));
          List<WebElement> figures = driver.findElements(By.cssSelector("#examples figure"));
          for (int i = 0; i < IMAGES; i++) {
            assertEquals(api.get("examples").get(i).get("className").asText(),
                figures.get(i).findElement(By.className("example-class")).getText());
          }
          List<WebElement> cells = driver.findElements(By.cssSelector("#map-grid .map-cell"));
          for (int c = 0; c < 4; c++) {
            assertEquals(api.get("map").get("cells").get(c / 2).get(c % 2).asDouble(),
                Double.parseDouble(cells.get(c).getDomAttribute("data-value")), 1e-12);
          }
          js(driver, "document.getElementById('filter-panel').scrollIntoView();");
          Files.createDirectories(Path.of("target"));
          Files.write(Path.of("target", "filter-panel-end-to-end.png"),
              driver.findElement(By.id("layer-card")).getScreenshotAs(OutputType.BYTES));
        } finally {
          driver.quit();
        }
      }
    }
  }

  private static Object js(ChromeDriver driver, String script, Object... args) {
    return ((JavascriptExecutor) driver).executeScript(script, args);
  }

  private static void await(ChromeDriver driver, String what, String condition) {
    new WebDriverWait(driver, WAIT).withMessage(what)
        .until(d -> Boolean.TRUE.equals(js(driver, "return !!(" + condition + ");")));
  }

  private static JsonNode get(String url) throws Exception {
    HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(url)).build(),
        HttpResponse.BodyHandlers.ofString());
    assertEquals(200, r.statusCode(), url + ": " + r.body());
    return MAPPER.readTree(r.body());
  }

  private static String enc(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8);
  }
}
