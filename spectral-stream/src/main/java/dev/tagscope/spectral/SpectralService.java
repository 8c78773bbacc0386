package dev.tagscope.spectral;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.kafka.KafkaStreamsMetrics;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the {@link SpectralTopology} as a Kafka Streams application.
 *
 * <p>Defaults: {@code application.id = tagscope-spectral-stream},
 * {@code processing.guarantee = exactly_once_v2}, {@code commit.interval.ms = 200} (the dashboard
 * stays live), {@code state.dir} a fresh temporary folder (deleted on {@link #close()}) unless
 * given. Any {@link StreamsConfig} key in {@code overrides} wins over these. The Tagscope topics
 * must exist (e.g. {@code Topics.createAll}); internal topics are created by Kafka Streams.
 * Kafka Streams' own metrics are bound to the registry with Micrometer's
 * {@link KafkaStreamsMetrics}; a stream thread that dies of an unexpected error is replaced.
 *
 * <pre>{@code
 * try (SpectralService s = new SpectralService("127.0.0.1:9092", Map.of(), registry).start()) {
 *   if (!s.awaitRunning(Duration.ofSeconds(60))) throw new IllegalStateException(s.state().toString());
 *   ...
 * }
 * }</pre>
 */
public final class SpectralService implements AutoCloseable {
  /** Default {@code application.id}. */
  public static final String APPLICATION_ID = "tagscope-spectral-stream";
  private static final Logger LOG = LoggerFactory.getLogger(SpectralService.class);

  private final MeterRegistry registry;
  private final Properties props = new Properties();
  private final Path tempStateDir;
  private final Topology topology;
  private final CountDownLatch running = new CountDownLatch(1);
  private KafkaStreams streams;
  private KafkaStreamsMetrics metrics;

  /**
   * @param bootstrapServers Kafka {@code bootstrap.servers}, e.g. {@code "127.0.0.1:9092"}
   * @param overrides extra or replacing Kafka Streams settings (may be empty, not null)
   * @param registry where the topology counters and Kafka Streams metrics go
   * @throws IllegalArgumentException when {@code bootstrapServers} is blank or {@code registry} is null
   * @throws UncheckedIOException when no temporary state folder can be created
   */
  public SpectralService(String bootstrapServers, Map<String, Object> overrides, MeterRegistry registry) {
    if (bootstrapServers == null || bootstrapServers.isBlank()) {
      throw new IllegalArgumentException("bootstrapServers: required, e.g. \"127.0.0.1:9092\"");
    }
    this.registry = registry;
    SpectralSettings settings = SpectralSettings.of(registry);
    Map<String, Object> cfg = new HashMap<>();
    cfg.put(StreamsConfig.APPLICATION_ID_CONFIG, APPLICATION_ID);
    cfg.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
    cfg.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
    cfg.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, 200);
    // Internal (repartition, changelog) topics carry stimulus-time stamps too; see TopicSpec.TIMESTAMP_CONFIGS.
    dev.tagscope.schemas.TopicSpec.TIMESTAMP_CONFIGS.forEach((k, v) -> cfg.put(StreamsConfig.topicPrefix(k), v));
    // Unreadable probe specs are handled inside the topology; this only silences Kafka's advice to opt in.
    cfg.put(StreamsConfig.PROCESSING_EXCEPTION_HANDLER_GLOBAL_ENABLED_CONFIG, true);
    if (overrides != null) {
      cfg.putAll(overrides);
    }
    if (!cfg.containsKey(StreamsConfig.STATE_DIR_CONFIG)) {
      try {
        tempStateDir = Files.createTempDirectory("tagscope-spectral-");
      } catch (IOException e) {
        throw new UncheckedIOException("cannot create a state folder; set " + StreamsConfig.STATE_DIR_CONFIG + " in overrides", e);
      }
      cfg.put(StreamsConfig.STATE_DIR_CONFIG, tempStateDir.toString());
    } else {
      tempStateDir = null;
    }
    props.putAll(cfg);
    StreamsBuilder builder = new StreamsBuilder();
    SpectralTopology.build(builder, settings);
    this.topology = builder.build(props);
  }

  /** @return the topology this service runs (for {@code describe()}) */
  public Topology topology() {
    return topology;
  }

  /**
   * Starts the application (returns at once).
   *
   * @return this
   * @throws IllegalStateException when already started
   */
  public synchronized SpectralService start() {
    if (streams != null) {
      throw new IllegalStateException("already started");
    }
    streams = new KafkaStreams(topology, props);
    streams.setStateListener((now, before) -> {
      LOG.info("spectral-stream {} -> {}", before, now);
      if (now == KafkaStreams.State.RUNNING) {
        running.countDown();
      }
    });
    streams.setUncaughtExceptionHandler(e -> {
      LOG.error("spectral-stream thread failed; replacing it", e);
      return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.REPLACE_THREAD;
    });
    metrics = new KafkaStreamsMetrics(streams);
    metrics.bindTo(registry);
    streams.start();
    return this;
  }

  /**
   * Waits until the application first reaches RUNNING.
   *
   * @param timeout how long to wait
   * @return true when RUNNING was reached in time
   * @throws InterruptedException when interrupted
   * @throws IllegalStateException when not started
   */
  public boolean awaitRunning(Duration timeout) throws InterruptedException {
    if (streams == null) {
      throw new IllegalStateException("not started: call start() first");
    }
    return running.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
  }

  /** @return the Kafka Streams state, or {@code CREATED} before {@link #start()} */
  public synchronized KafkaStreams.State state() {
    return streams == null ? KafkaStreams.State.CREATED : streams.state();
  }

  /** Stops the application (waits up to 30 s), unbinds its metrics, removes a temporary state folder. */
  @Override
  public synchronized void close() {
    if (streams != null) {
      streams.close(Duration.ofSeconds(30));
      streams = null;
    }
    if (metrics != null) {
      metrics.close();
      metrics = null;
    }
    if (tempStateDir != null) {
      try (Stream<Path> walk = Files.walk(tempStateDir)) {
        walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      } catch (IOException e) {
        LOG.warn("cannot delete state folder {}", tempStateDir, e);
      }
    }
  }
}
