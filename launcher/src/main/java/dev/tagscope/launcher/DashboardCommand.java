package dev.tagscope.launcher;

import dev.tagscope.dashboard.DashboardService;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** {@code tagscope dashboard}: the live page and JSON API against an external cluster. */
@Command(name = "dashboard", mixinStandardHelpOptions = true,
    description = "Serve the live dashboard and JSON API over the importance and tag-response topics.")
final class DashboardCommand implements Callable<Integer> {
  @Mixin KafkaOptions kafka;
  @Mixin DashboardOptions dashboard;
  @Mixin MetricsOptions metrics;

  @Override
  public Integer call() throws Exception {
    MeterRegistry registry = metrics.registry();
    // Ctrl-C waits until the dashboard is closed.
    try (ServiceRunner runner = ServiceRunner.install()) {
      DashboardService service = new DashboardService(kafka.required(), dashboard.settings(kafka.overrides()), registry);
      // Serving starts at once; catching up on the topics goes on in the background, so no wait here.
      runner.start(service);
      System.out.println("dashboard: " + service.url() + "  (Ctrl-C to stop)");
      return runner.awaitEnd();
    } finally {
      metrics.close();
    }
  }
}
