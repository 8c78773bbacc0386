package dev.tagscope.launcher;

import dev.tagscope.dashboard.DashboardService;
import dev.tagscope.worker.ModelDescription;
import io.micrometer.core.instrument.MeterRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code tagscope dashboard}: the live page and JSON API against an external cluster. */
@Command(name = "dashboard", mixinStandardHelpOptions = true,
    description = "Serve the live dashboard and JSON API over the importance and tag-response topics.")
final class DashboardCommand implements Callable<Integer> {
  @Mixin KafkaOptions kafka;
  @Mixin DashboardOptions dashboard;
  @Mixin MetricsOptions metrics;

  @Option(names = "--model", paramLabel = "FILE",
      description = "Model whose card (<model>.json beside it) names the classes shown beside top examples; the model"
          + " itself is not loaded (default: none, labels are shown as numbers).")
  Path model;

  @Override
  public Integer call() throws Exception {
    if (model != null && !Files.isRegularFile(model)) {
      throw new IllegalArgumentException("--model: " + model + " is not a file; give the model whose card names the classes,"
          + " e.g. models/fmnist-resnet32.onnx, or leave it out");
    }
    List<String> classes = model == null ? List.of() : ModelDescription.cardClasses(model);
    MeterRegistry registry = metrics.registry();
    // Ctrl-C waits until the dashboard is closed.
    try (ServiceRunner runner = ServiceRunner.install()) {
      DashboardService service = new DashboardService(kafka.required(), dashboard.settings(kafka.overrides(), classes), registry);
      // Serving starts at once; catching up on the topics goes on in the background, so no wait here.
      runner.start(service);
      System.out.println("dashboard: " + service.url() + "  (Ctrl-C to stop)");
      return runner.awaitEnd();
    } finally {
      metrics.close();
    }
  }
}
