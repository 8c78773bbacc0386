package dev.tagscope.testsupport;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;

/**
 * Headless Chromium for the browser tests: Debian's {@code chromium} and {@code chromium-driver}
 * (or {@code CHROME_BIN} and {@code CHROMEDRIVER}), which {@code .ci/run} installs; a test skips
 * itself where they are absent ({@link #available()}).
 */
public final class HeadlessChromium {
  /** The browser binary. */
  public static final Path CHROMIUM = Path.of(System.getenv().getOrDefault("CHROME_BIN", "/usr/bin/chromium"));
  /** The matching driver binary. */
  public static final Path CHROMEDRIVER = Path.of(System.getenv().getOrDefault("CHROMEDRIVER", "/usr/bin/chromedriver"));

  private HeadlessChromium() {}

  /** @return whether both binaries are executable here */
  public static boolean available() {
    return Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER);
  }

  /** @return why a test that needs the browser is skipped */
  public static String missing() {
    return "needs Debian's chromium and chromium-driver (" + CHROMIUM + ", " + CHROMEDRIVER + "); skipped";
  }

  /**
   * Starts a headless browser with a 1400 x 3200 window, no sandbox (CI runs as root), no GPU and
   * no background network, on a driver at a free port.
   *
   * @param profile a fresh folder for the browser profile
   * @return the driver; {@code quit()} it
   */
  public static ChromeDriver start(Path profile) {
    ChromeOptions options = new ChromeOptions();
    options.setBinary(CHROMIUM.toFile());
    options.addArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage", "--window-size=1400,3200",
        "--user-data-dir=" + profile.toAbsolutePath());
    ChromeDriverService service = new ChromeDriverService.Builder()
        .usingDriverExecutable(new File(CHROMEDRIVER.toString())).usingAnyFreePort().build();
    return new ChromeDriver(service, options);
  }
}
