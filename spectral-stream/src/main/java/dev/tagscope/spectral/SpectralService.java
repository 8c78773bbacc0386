package dev.tagscope.spectral;

import dev.tagscope.service.KafkaClientPolicy;
import dev.tagscope.service.TagscopeService;
import dev.tagscope.spectral.internal.ThreadFailurePolicy;
import dev.tagscope.spectral.internal.WindowProcessor;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.kafka.KafkaStreamsMetrics;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.BiFunction;
import java.util.stream.Stream;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the {@link SpectralTopology} as a Kafka Streams application.
 *
 * <p>Defaults: {@code application.id = tagscope-spectral-stream},
 * {@code processing.guarantee = exactly_once_v2}, {@code commit.interval.ms = 200} (the dashboard
 * stays live), {@code state.dir} a fresh temporary folder (deleted by {@link #close()} once Kafka
 * Streams has stopped) unless given. Any {@link StreamsConfig} key in {@code overrides} wins over
 * these, except {@code processing.guarantee} and the client settings exactly-once depends on,
 * which {@link KafkaClientPolicy} pins: an override that changes one is refused. The Tagscope topics must exist (e.g. {@code Topics.createAll}); internal topics are
 * created by Kafka Streams. Kafka Streams' own metrics are bound to the registry with
 * Micrometer's {@link KafkaStreamsMetrics}.
 *
 * <p>A stream thread that dies of an unexpected error is replaced, at most
 * {@value #MAX_THREAD_REPLACEMENTS} times within {@link #THREAD_REPLACEMENT_WINDOW}: an error that
 * comes back on every attempt then shuts the client down ({@link #state()} becomes
 * {@code ERROR}) and {@link #failure()} says why, instead of replacing threads for ever.
 *
 * <pre>{@code
 * try (SpectralService s = new SpectralService("127.0.0.1:9092", Map.of(), registry).start()) {
 *   if (!s.awaitRunning(Duration.ofSeconds(60))) throw new IllegalStateException(s.state().toString());
 *   ...
 * }
 * }</pre>
 */
public final class SpectralService implements TagscopeService {
  /**
   * Counter of layer-frames consumed (a record of {@code T} frames counts {@code T}): the window
   * processor's name, published here for callers outside the module (the demo's per-stage throughput).
   */
  public static final String FRAMES_METER = WindowProcessor.FRAMES_METER;
  /** Counter of rank alerts, tag {@code state} = {@code raised} or {@code cleared}: the stability processor's name. */
  public static final String ALERTS_METER = dev.tagscope.spectral.internal.StabilityProcessor.ALERTS_METER;
  /** Counter of activation records consumed, readable or not: the window processor's name. */
  public static final String RECORDS_METER = WindowProcessor.RECORDS_METER;
  /** Default {@code application.id}. */
  public static final String APPLICATION_ID = "tagscope-spectral-stream";
  /** Stream-thread replacements allowed within {@link #THREAD_REPLACEMENT_WINDOW} before the client shuts down. */
  public static final int MAX_THREAD_REPLACEMENTS = 3;
  /** The sliding window of {@link #MAX_THREAD_REPLACEMENTS}: 10 minutes. */
  public static final Duration THREAD_REPLACEMENT_WINDOW = Duration.ofMinutes(10);
  /** How long {@link #close()} waits for Kafka Streams to stop: 30 s. */
  public static final Duration CLOSE_TIMEOUT = Duration.ofSeconds(30);
  private static final Logger LOG = LoggerFactory.getLogger(SpectralService.class);

  private final MeterRegistry registry;
  private final Properties props = new Properties();
  private final Path tempStateDir;
  private final Topology topology;
  private final CountDownLatch running = new CountDownLatch(1);
  private final BiFunction<Topology, Properties, KafkaStreams> streamsFactory;
  private final ThreadFailurePolicy threadFailures =
      new ThreadFailurePolicy(SpectralSettings.STAGE, MAX_THREAD_REPLACEMENTS, THREAD_REPLACEMENT_WINDOW, System::nanoTime);
  private KafkaStreams streams;
  private KafkaStreamsMetrics metrics;

  /**
   * @param bootstrapServers Kafka {@code bootstrap.servers}, e.g. {@code "127.0.0.1:9092"}
   * @param overrides extra or replacing Kafka Streams settings (may be empty, not null)
   * @param registry where the topology counters and Kafka Streams metrics go
   * @throws IllegalArgumentException when {@code bootstrapServers} is blank or {@code registry} is null
   * @throws dev.tagscope.service.PinnedSettingException when an override changes a pinned setting
   *     ({@code processing.guarantee}, {@code consumer.isolation.level}, ...), naming it
   * @throws UncheckedIOException when no temporary state folder can be created
   */
  public SpectralService(String bootstrapServers, Map<String, Object> overrides, MeterRegistry registry) {
    this(bootstrapServers, overrides, SpectralSettings.of(registry), KafkaStreams::new);
  }

  /**
   * As {@link #SpectralService(String, Map, MeterRegistry)} with topology settings of the caller's
   * (the importance history's bucket, reference and alert threshold; the plan cache).
   *
   * @param bootstrapServers Kafka {@code bootstrap.servers}, e.g. {@code "127.0.0.1:9092"}
   * @param overrides extra or replacing Kafka Streams settings (may be empty, not null)
   * @param settings the topology settings; its registry also gets the Kafka Streams metrics
   * @throws IllegalArgumentException when {@code bootstrapServers} is blank or {@code settings} is null
   * @throws dev.tagscope.service.PinnedSettingException when an override changes a pinned setting, naming it
   * @throws UncheckedIOException when no temporary state folder can be created
   */
  public SpectralService(String bootstrapServers, Map<String, Object> overrides, SpectralSettings settings) {
    this(bootstrapServers, overrides, settings, KafkaStreams::new);
  }

  /** As the public constructor, with the Kafka Streams client made by {@code streamsFactory} (tests). */
  SpectralService(String bootstrapServers, Map<String, Object> overrides, MeterRegistry registry,
                  BiFunction<Topology, Properties, KafkaStreams> streamsFactory) {
    this(bootstrapServers, overrides, SpectralSettings.of(registry), streamsFactory);
  }

  private SpectralService(String bootstrapServers, Map<String, Object> overrides, SpectralSettings settings,
                          BiFunction<Topology, Properties, KafkaStreams> streamsFactory) {
    this.streamsFactory = streamsFactory;
    if (bootstrapServers == null || bootstrapServers.isBlank()) {
      throw new IllegalArgumentException("bootstrapServers: required, e.g. \"127.0.0.1:9092\"");
    }
    if (settings == null) {
      throw new IllegalArgumentException("settings: required; pass SpectralSettings.of(registry)");
    }
    this.registry = settings.registry();
    // processing.guarantee=exactly_once_v2 and the client settings it depends on are pinned by the policy.
    KafkaClientPolicy.Builder policy = KafkaClientPolicy.streams().bootstrapServers(bootstrapServers)
        .set(StreamsConfig.APPLICATION_ID_CONFIG, APPLICATION_ID)
        .set(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, 200);
    // Unreadable probe specs are handled inside the topology; this only silences Kafka's advice to opt in.
    // The key is already deprecated in 4.3 (it goes with the old handler API), yet 4.3 logs the advice without it.
    @SuppressWarnings("deprecation")
    String globalHandler = StreamsConfig.PROCESSING_EXCEPTION_HANDLER_GLOBAL_ENABLED_CONFIG;
    policy.set(globalHandler, true);
    // Internal (repartition, changelog) topics carry stimulus-time stamps too; see TopicSpec.TIMESTAMP_CONFIGS.
    dev.tagscope.schemas.TopicSpec.TIMESTAMP_CONFIGS.forEach((k, v) -> policy.set(StreamsConfig.topicPrefix(k), v));
    // Tag responses of wide layers under rich plans pass Kafka's 1 MiB default (TopicSpec.MAX_MESSAGE_BYTES). The
    // window processor dead-letters one still larger than the producer's max.request.size before it is sent: under
    // exactly-once a record the producer refuses puts the transaction in an abortable state, and Streams would retry
    // it for ever.
    policy.set(StreamsConfig.topicPrefix(TopicConfig.MAX_MESSAGE_BYTES_CONFIG), dev.tagscope.schemas.TopicSpec.MAX_MESSAGE_BYTES);
    policy.set(StreamsConfig.producerPrefix(ProducerConfig.MAX_REQUEST_SIZE_CONFIG), dev.tagscope.schemas.TopicSpec.MAX_MESSAGE_BYTES);
    Map<String, Object> cfg = policy.overrides(overrides == null ? Map.of() : overrides).build();
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
  @Override
  public synchronized SpectralService start() {
    if (streams != null) {
      throw new IllegalStateException("already started");
    }
    streams = streamsFactory.apply(topology, props);
    streams.setStateListener((now, before) -> {
      if (now == KafkaStreams.State.ERROR) {
        LOG.error("spectral-stream {} -> {}: {}", before, now, threadFailures.failure().orElse("see the errors logged before"));
      } else {
        LOG.info("spectral-stream {} -> {}", before, now);
      }
      if (now == KafkaStreams.State.RUNNING) {
        running.countDown();
      }
    });
    streams.setUncaughtExceptionHandler(threadFailures);
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
  @Override
  public boolean awaitRunning(Duration timeout) throws InterruptedException {
    if (streams == null) {
      throw new IllegalStateException("not started: call start() first");
    }
    long deadline = System.nanoTime() + timeout.toNanos();
    // in slices, so that a client that went to ERROR (or was closed) ends the wait at once
    while (!running.await(Math.min(100, Math.max(1, (deadline - System.nanoTime()) / 1_000_000)), TimeUnit.MILLISECONDS)) {
      if (isFinished() || System.nanoTime() >= deadline) {
        return running.getCount() == 0;
      }
    }
    return true;
  }

  /**
   * The service name.
   *
   * @return {@code "spectral"}
   */
  @Override
  public String name() {
    return "spectral";
  }

  /**
   * Whether Kafka Streams stopped by itself.
   *
   * @return true after {@link #start()} once the client is in {@code ERROR}, {@code PENDING_SHUTDOWN}
   *     or {@code NOT_RUNNING}
   */
  @Override
  public synchronized boolean isFinished() {
    if (streams == null) {
      return false;
    }
    KafkaStreams.State st = streams.state();
    return st == KafkaStreams.State.ERROR || st == KafkaStreams.State.PENDING_ERROR
        || st == KafkaStreams.State.PENDING_SHUTDOWN || st == KafkaStreams.State.NOT_RUNNING;
  }

  /** @return the Kafka Streams state, or {@code CREATED} before {@link #start()} */
  public synchronized KafkaStreams.State state() {
    return streams == null ? KafkaStreams.State.CREATED : streams.state();
  }

  /**
   * Why the service shut itself down: a stream thread kept failing more often than
   * {@value #MAX_THREAD_REPLACEMENTS} replacements within {@link #THREAD_REPLACEMENT_WINDOW} allow,
   * or Kafka Streams went to {@code ERROR} for another reason.
   *
   * @return an {@link IllegalStateException} whose message gives the reason with the last error;
   *     empty while that has not happened
   */
  @Override
  public synchronized Optional<Throwable> failure() {
    Optional<String> why = threadFailures.failure();
    if (why.isPresent()) {
      return Optional.of(new IllegalStateException(why.get()));
    }
    if (streams != null && (streams.state() == KafkaStreams.State.ERROR || streams.state() == KafkaStreams.State.PENDING_ERROR)) {
      return Optional.of(new IllegalStateException("Kafka Streams went to state " + streams.state() + "; see the errors logged before"));
    }
    return Optional.empty();
  }

  /** @return the Kafka Streams state folder ({@code state.dir}) this service uses */
  public Path stateDirectory() {
    return Path.of(String.valueOf(props.get(StreamsConfig.STATE_DIR_CONFIG)));
  }

  /**
   * Stops the application, waiting up to {@link #CLOSE_TIMEOUT}, unbinds its metrics and, once
   * Kafka Streams has stopped, removes a temporary state folder. When Kafka Streams does not stop
   * in time its threads may still write to the state folder, so the folder is left in place (with
   * a warning naming it); calling {@code close()} again waits again and cleans up once it stopped.
   */
  @Override
  public synchronized void close() {
    if (streams != null) {
      if (!streams.close(CLOSE_TIMEOUT)) {
        LOG.warn("spectral-stream did not stop within {} (state {}); {} left in place, its threads may still use it", CLOSE_TIMEOUT,
            streams.state(), tempStateDir != null ? "temporary state folder " + tempStateDir : "the state folder");
        unbindMetrics();
        return; // keep streams: a later close() waits again
      }
      streams = null;
    }
    unbindMetrics();
    if (tempStateDir != null && Files.exists(tempStateDir)) {
      try (Stream<Path> walk = Files.walk(tempStateDir)) {
        walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      } catch (IOException e) {
        LOG.warn("cannot delete state folder {}", tempStateDir, e);
      }
    }
  }

  private void unbindMetrics() {
    if (metrics != null) {
      metrics.close();
      metrics = null;
    }
  }
}
