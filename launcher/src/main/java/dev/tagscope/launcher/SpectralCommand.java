package dev.tagscope.launcher;

import dev.tagscope.spectral.HistorySettings;
import dev.tagscope.spectral.SpectralService;
import dev.tagscope.spectral.SpectralSettings;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import org.apache.kafka.streams.StreamsConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code tagscope spectral}: the Kafka Streams spectral application against an external cluster. */
@Command(name = "spectral", mixinStandardHelpOptions = true,
    description = "Window activations, run the spectral core, and publish tag responses, running importance, the importance"
        + " history and rank-stability alerts (exactly_once_v2).")
final class SpectralCommand implements Callable<Integer> {
  @Mixin KafkaOptions kafka;
  @Mixin MetricsOptions metrics;
  @Mixin HistoryOptions history;
  @Mixin TopExamplesOptions topExamples;

  @Option(names = "--state-dir", description = "Kafka Streams state directory (default: a temporary one, rebuilt from changelogs at start).")
  Path stateDir;

  @Option(names = "--threads", defaultValue = "1", description = "Stream threads (default ${DEFAULT-VALUE}).")
  int threads;

  @Override
  public Integer call() throws Exception {
    if (threads < 1) {
      // Kafka Streams fails on a negative count with "/ by zero" and with 0 threads never reaches RUNNING.
      throw new IllegalArgumentException("--threads must be at least 1 stream thread, got " + threads);
    }
    HistorySettings historySettings = history.settings();
    SpectralSettings settings = topExamples.apply(SpectralSettings.of(metrics.registry()).withHistory(historySettings));
    Map<String, Object> overrides = new HashMap<>(kafka.overrides());
    if (stateDir != null) {
      overrides.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toAbsolutePath().toString());
    }
    overrides.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, threads);
    // Ctrl-C waits until Streams has closed (and deleted a temporary state folder); a start() that
    // throws (a bad --kafka value) still closes the service.
    try (ServiceRunner runner = ServiceRunner.install()) {
      runner.start(new SpectralService(kafka.required(), overrides, settings),
          Duration.ofMinutes(2));
      System.out.println("spectral: running  (Ctrl-C to stop)");
      return runner.awaitEnd();
    } finally {
      metrics.close();
    }
  }
}
