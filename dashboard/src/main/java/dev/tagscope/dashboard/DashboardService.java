package dev.tagscope.dashboard;

import dev.tagscope.dashboard.internal.DashboardView;
import dev.tagscope.dashboard.internal.EventHub;
import dev.tagscope.dashboard.internal.FilterView;
import dev.tagscope.dashboard.internal.HttpApi;
import dev.tagscope.dashboard.internal.TopicReader;
import dev.tagscope.service.KafkaClientPolicy;
import dev.tagscope.service.TagscopeService;
import io.javalin.Javalin;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.kafka.KafkaClientMetrics;
import java.net.URI;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.Properties;
import java.util.UUID;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The live dashboard: reads the importance, importance-history, alerts, tag-response, probe and
 * validation topics into memory and serves a web page and a JSON API over them (DESIGN.md
 * section 2, last stage).
 *
 * <pre>{@code
 * try (DashboardService d = new DashboardService("localhost:9092",
 *         DashboardSettings.defaults().withPort(0), registry).start()) {
 *   System.out.println("dashboard at " + d.url());
 *   ...
 * }
 * }</pre>
 *
 * <p>Kafka: one plain consumer, assigned to every partition of {@code tagscope.importance},
 * {@code tagscope.probes}, {@code tagscope.validation}, {@code tagscope.top-examples} and
 * {@code tagscope.probe-images} (kept 30 days, read from the beginning), of
 * {@code tagscope.importance-history} and {@code tagscope.alerts} (read from the beginning, so
 * the history survives a restart; the latest {@link DashboardSettings#historyBuckets()} buckets
 * per layer and {@link DashboardView#MAX_ALERTS} alerts are held) and of {@code tagscope.tag-responses} (read from {@code max(beginning, end - tagResponseReplay)}), with
 * no consumer group and no commits, so any number of dashboards can run side by side and each
 * rebuilds its view at start. Topics created later are picked up within seconds. The consumer
 * never creates topics.
 *
 * <p>Bad records are skipped and counted, not dead-lettered: see {@link TopicReader} for why.
 *
 * <p>HTTP endpoints: see {@link HttpApi}. The server binds {@link DashboardSettings#host()},
 * {@code 127.0.0.1} by default.
 *
 * <p>Meters (all registered in the registry passed in):
 * <ul>
 *   <li>{@code tagscope.dashboard.updates} (counter, tag {@code type} = probe | importance |
 *       tag-response | validation | history | alert | top-examples | probe-image): records taken
 *       into the view;
 *   <li>{@code tagscope.dashboard.skipped} (counter, tag {@code topic}): records skipped as
 *       undecodable or inconsistent;
 *   <li>{@code tagscope.dashboard.sse.clients} (gauge): browsers connected to
 *       {@code /api/events};
 *   <li>{@code kafka.consumer.*}: the consumer's own metrics through Micrometer's
 *       {@link KafkaClientMetrics}.
 * </ul>
 *
 * <p>Thread model: one reader thread ({@code tagscope-dashboard-reader}), one event writer
 * thread, Jetty's request threads. {@link #close()} stops all three.
 */
public final class DashboardService implements TagscopeService {
  /** Gauge of browsers connected to {@code /api/events}. */
  public static final String SSE_CLIENTS_METER = "tagscope.dashboard.sse.clients";
  private static final Logger LOG = LoggerFactory.getLogger(DashboardService.class);

  private final String bootstrapServers;
  private final DashboardSettings settings;
  private final MeterRegistry registry;
  private final DashboardView view;
  private EventHub hub;
  private Javalin app;
  /** Read by HTTP threads (/healthz) without the lock, so volatile. */
  private volatile TopicReader reader;
  private Thread readerThread;
  private KafkaClientMetrics kafkaMetrics;
  private Gauge clientsGauge;
  private boolean started;
  private boolean closed;

  /**
   * Configures, does not connect or bind; call {@link #start()}.
   *
   * @param bootstrapServers Kafka bootstrap servers, {@code host:port[,host:port...]}
   * @param settings HTTP and reader settings, e.g. {@link DashboardSettings#defaults()}
   * @param registry where the meters go (e.g. a {@code PrometheusMeterRegistry} or a
   *     {@code SimpleMeterRegistry})
   * @throws IllegalArgumentException when an argument is missing or blank, naming it
   */
  public DashboardService(String bootstrapServers, DashboardSettings settings, MeterRegistry registry) {
    if (bootstrapServers == null || bootstrapServers.isBlank()) {
      throw new IllegalArgumentException("bootstrapServers must be host:port[,host:port...] of the Kafka cluster; got '"
          + bootstrapServers + "'");
    }
    if (settings == null) {
      throw new IllegalArgumentException("settings must not be null; use DashboardSettings.defaults()");
    }
    if (registry == null) {
      throw new IllegalArgumentException("registry must not be null; pass e.g. new SimpleMeterRegistry()");
    }
    this.bootstrapServers = bootstrapServers;
    this.settings = settings;
    this.registry = registry;
    this.view = new DashboardView(DashboardView.DEFAULT_MAX_RESPONSE_PROBES, settings.historyBuckets());
  }

  /**
   * Starts the HTTP server, then the reader thread. Returns once the port is bound; the view
   * fills in the background (see {@link #awaitCaughtUp(Duration)}).
   *
   * @return this
   * @throws IllegalStateException when already started or closed, or when the port cannot be
   *     bound (the message names host and port); nothing is left running then
   */
  @Override
  public synchronized DashboardService start() {
    if (started || closed) {
      throw new IllegalStateException(closed ? "dashboard is closed" : "dashboard already started");
    }
    started = true;
    try {
      hub = new EventHub(settings.eventCoalescing(), settings.keepAlive());
      view.addListener(hub);
      // Bound to loopback, the page is meant for this machine only: refuse other Host names
      // (DNS rebinding). Bound to a wildcard or a public address, any name may reach it.
      app = HttpApi.create(view, hub, this::caughtUp, isLoopbackAddress(settings.host()),
          new FilterView(view, settings.classes(), settings.visualizationsFolder()));
      try {
        app.start(settings.host(), settings.port());
      } catch (RuntimeException e) {
        throw new IllegalStateException("cannot serve the dashboard on " + settings.host() + ":" + settings.port()
            + " (is the port in use? choose another with DashboardSettings.withPort, or 0 for any free port): " + e, e);
      }
      clientsGauge = Gauge.builder(SSE_CLIENTS_METER, hub, EventHub::clientCount)
          .description("Browsers connected to /api/events").register(registry);

      KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(consumerProperties());
      kafkaMetrics = new KafkaClientMetrics(consumer);
      kafkaMetrics.bindTo(registry);
      reader = new TopicReader(consumer, view, settings.tagResponseReplay(), registry);
      readerThread = new Thread(reader, "tagscope-dashboard-reader");
      readerThread.setDaemon(true);
      readerThread.start();
      LOG.info("dashboard serving {} (Kafka {})", url(), bootstrapServers);
      return this;
    } catch (RuntimeException e) {
      close();
      throw e;
    }
  }

  /** No group, read_committed, no auto-commit (pinned by {@link KafkaClientPolicy}); the rest overridable. */
  private Properties consumerProperties() {
    Properties p = KafkaClientPolicy.readCommittedConsumer(null).bootstrapServers(bootstrapServers)
        .set(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, "false")
        .set(ConsumerConfig.CLIENT_ID_CONFIG, "tagscope-dashboard-" + UUID.randomUUID().toString().substring(0, 8))
        // partitions added to a topic are seen with the consumer's next metadata refresh (PartitionCatchUp)
        .set(ConsumerConfig.METADATA_MAX_AGE_CONFIG, "10000")
        .overrides(settings.consumerProperties()).buildProperties();
    p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    return p;
  }

  /**
   * @return the TCP port the HTTP server listens on (the chosen one when settings asked for 0)
   * @throws IllegalStateException before {@link #start()}
   */
  public synchronized int port() {
    if (app == null) {
      throw new IllegalStateException("dashboard not started");
    }
    return app.port();
  }

  /**
   * @return the page's address, e.g. {@code http://127.0.0.1:8080/}; a wildcard bind address
   *     ({@code 0.0.0.0}, {@code ::}) is shown as 127.0.0.1
   * @throws IllegalStateException before {@link #start()}
   */
  public URI url() {
    String h = settings.host();
    if (h.equals("0.0.0.0") || h.equals("::") || h.equals("[::]")) {
      h = "127.0.0.1";
    } else if (h.contains(":") && !h.startsWith("[")) {
      h = "[" + h + "]";
    }
    return URI.create("http://" + h + ":" + port() + "/");
  }

  /** @return whether {@code host} (a literal address or a name) is a loopback address; false when it cannot be resolved */
  static boolean isLoopbackAddress(String host) {
    String h = host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
    try {
      return java.net.InetAddress.getByName(h).isLoopbackAddress();
    } catch (java.net.UnknownHostException e) {
      return false;
    }
  }

  /** @return true once every partition present at start has been read up to its end offset of that moment */
  public boolean caughtUp() {
    TopicReader r = reader;
    return r != null && r.caughtUp();
  }

  /**
   * Waits until the view holds everything that was on the topics at start.
   *
   * @param timeout longest wait
   * @return true when caught up, false on timeout
   * @throws InterruptedException when interrupted
   * @throws IllegalStateException before {@link #start()}
   */
  public boolean awaitCaughtUp(Duration timeout) throws InterruptedException {
    TopicReader r;
    synchronized (this) {
      r = reader;
    }
    if (r == null) {
      throw new IllegalStateException("dashboard not started");
    }
    return r.awaitCaughtUp(Objects.requireNonNull(timeout, "timeout"));
  }

  /**
   * Waits until the dashboard serves and holds everything that was on its topics at start (the
   * service contract's "running"; the same as {@link #awaitCaughtUp}).
   *
   * @param timeout longest wait
   * @return true when caught up, false on timeout
   * @throws InterruptedException when interrupted
   * @throws IllegalStateException before {@link #start()}
   */
  @Override
  public boolean awaitRunning(Duration timeout) throws InterruptedException {
    return awaitCaughtUp(timeout);
  }

  /**
   * The service name.
   *
   * @return {@code "dashboard"}
   */
  @Override
  public String name() {
    return "dashboard";
  }

  /**
   * The dashboard does not stop by itself: its reader retries Kafka errors. Only an
   * {@link Error} (out of memory) can end the reader thread early.
   *
   * @return a failure when the reader thread ended while the dashboard was not closed
   */
  @Override
  public synchronized Optional<Throwable> failure() {
    return isFinished() ? Optional.of(new IllegalStateException("the dashboard's topic reader ended unexpectedly; see the log"))
        : Optional.empty();
  }

  /**
   * Whether the reader thread ended while the dashboard was not closed.
   *
   * @return true when the page would no longer follow the topics
   */
  @Override
  public synchronized boolean isFinished() {
    return started && !closed && readerThread != null && !readerThread.isAlive();
  }

  /** Stops the reader, the event hub and the HTTP server; idempotent. */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    if (reader != null) {
      reader.stop();
      try {
        readerThread.join(5000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    if (kafkaMetrics != null) {
      kafkaMetrics.close();
    }
    if (hub != null) {
      hub.close();
    }
    if (app != null) {
      app.stop();
    }
    if (clientsGauge != null) {
      registry.remove(clientsGauge);
    }
  }
}
