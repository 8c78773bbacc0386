package dev.tagscope.dashboard;

import dev.tagscope.service.KafkaClientPolicy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import org.apache.kafka.clients.consumer.ConsumerConfig;

/**
 * Settings of a {@link DashboardService}. Immutable; start from {@link #defaults()} and change
 * one field at a time with the {@code with...} methods:
 *
 * <pre>{@code
 * DashboardSettings s = DashboardSettings.defaults().withPort(0).withTagResponseReplay(500);
 * }</pre>
 *
 * @param host interface the HTTP server binds; default {@code 127.0.0.1} (loopback only, safe
 *     by default: the dashboard has no authentication). Use {@code 0.0.0.0} to expose it.
 * @param port TCP port of the HTTP server; default 8080; 0 picks a free port, which
 *     {@link DashboardService#port()} reports after start
 * @param tagResponseReplay tag-response records replayed per partition at start: the reader
 *     starts each {@code tagscope.tag-responses} partition at
 *     {@code max(beginning, end - tagResponseReplay)}; default 2000
 * @param historyBuckets buckets of {@code tagscope.importance-history} held per model, version
 *     and layer (the latest by bucket start; the whole topic is replayed at start, so the page's
 *     history survives a restart); default 1440, 24 h of 60-s buckets, about 16 bytes per filter
 *     and bucket
 * @param keepAlive interval between SSE keep-alive comments on {@code /api/events}; default 15 s
 * @param eventCoalescing how long change events are gathered before they are sent on
 *     {@code /api/events}; changes of one kind to one layer inside that time become one event;
 *     default 100 ms
 * @param consumerProperties extra Kafka consumer properties (e.g. {@code security.protocol},
 *     SASL settings for an external cluster); may not set deserializers, {@code group.id},
 *     {@code group.protocol} or {@code bootstrap.servers}, which the service owns, nor change the
 *     settings {@link KafkaClientPolicy} pins ({@code isolation.level=read_committed},
 *     {@code enable.auto.commit=false}, ...)
 * @param classes the model's class names by label (logit index), shown beside the labels of top
 *     examples; the dashboard loads no model, so the launcher passes them (from the model card or
 *     {@code ActivationModel.classes()}); empty (the default): label numbers are shown
 * @param visualizations the folder {@code tagscope visualize} wrote (its {@code index.json} names a
 *     PNG per filter); null (the default): {@value #DEFAULT_VISUALIZATIONS} in the working folder
 *     when it exists at start, else none. A folder given must exist.
 */
public record DashboardSettings(
    String host,
    int port,
    int tagResponseReplay,
    int historyBuckets,
    Duration keepAlive,
    Duration eventCoalescing,
    Map<String, String> consumerProperties,
    List<String> classes,
    Path visualizations) {

  /** Default bind address: loopback only. */
  public static final String DEFAULT_HOST = "127.0.0.1";
  /** Default HTTP port. */
  public static final int DEFAULT_PORT = 8080;
  /** Default tag-response records replayed per partition at start. */
  public static final int DEFAULT_TAG_RESPONSE_REPLAY = 2000;
  /** Default history buckets held per model, version and layer: 24 h of 60-s buckets. */
  public static final int DEFAULT_HISTORY_BUCKETS = dev.tagscope.dashboard.internal.DashboardView.DEFAULT_HISTORY_BUCKETS;
  /** The folder {@code tagscope visualize} writes by default, used when it exists and none is given. */
  public static final String DEFAULT_VISUALIZATIONS = "tagscope-visualizations";

  private static final Set<String> OWNED_PROPERTIES = Set.of(
      ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG,
      ConsumerConfig.GROUP_ID_CONFIG,
      ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG,
      ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG,
      ConsumerConfig.GROUP_PROTOCOL_CONFIG);

  /**
   * Validates every field.
   *
   * @throws IllegalArgumentException naming the field and the fix when a value is out of range
   * @throws dev.tagscope.service.PinnedSettingException when {@code consumerProperties} changes a
   *     pinned setting, naming it
   */
  public DashboardSettings {
    if (host == null || host.isBlank()) {
      throw new IllegalArgumentException("host must be an interface address or name, e.g. 127.0.0.1 (got '" + host + "')");
    }
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException("port must be 0..65535 (0 picks a free port); got " + port);
    }
    if (tagResponseReplay < 0) {
      throw new IllegalArgumentException("tagResponseReplay must be >= 0 records per partition; got " + tagResponseReplay);
    }
    if (historyBuckets < 1) {
      throw new IllegalArgumentException("historyBuckets must be >= 1 buckets per layer, e.g. 1440 (24 h of 60-s buckets); got "
          + historyBuckets);
    }
    if (keepAlive == null || keepAlive.isNegative() || keepAlive.isZero()) {
      throw new IllegalArgumentException("keepAlive must be a positive duration, e.g. 15 s; got " + keepAlive);
    }
    if (eventCoalescing == null || eventCoalescing.isNegative() || eventCoalescing.isZero()
        || eventCoalescing.compareTo(Duration.ofSeconds(10)) > 0) {
      throw new IllegalArgumentException("eventCoalescing must be > 0 and <= 10 s, e.g. 100 ms; got " + eventCoalescing);
    }
    Objects.requireNonNull(consumerProperties, "consumerProperties");
    for (String key : consumerProperties.keySet()) {
      if (OWNED_PROPERTIES.contains(key)) {
        throw new IllegalArgumentException("consumerProperties may not set '" + key
            + "': the dashboard reads with its own assignment, deserializers and no consumer group; remove it");
      }
    }
    KafkaClientPolicy.checkOverrides(consumerProperties);
    consumerProperties = Map.copyOf(consumerProperties);
    if (classes == null) {
      throw new IllegalArgumentException("classes must be a list of class names (empty when unknown), not null");
    }
    for (int i = 0; i < classes.size(); i++) {
      if (classes.get(i) == null) {
        throw new IllegalArgumentException("classes: class name " + i + " is null; give every label a name, or none");
      }
    }
    classes = List.copyOf(classes);
    if (visualizations != null && !Files.isDirectory(visualizations)) {
      throw new IllegalArgumentException("visualizations: " + visualizations + " is not a folder; run ./tagscope visualize"
          + " --out " + visualizations + " first, or leave it out");
    }
  }

  /**
   * The visualisations folder to read: {@link #visualizations()} when given, else
   * {@value #DEFAULT_VISUALIZATIONS} when it is a folder now.
   *
   * @return the folder, or null when there is none
   */
  public Path visualizationsFolder() {
    if (visualizations != null) {
      return visualizations;
    }
    Path d = Path.of(DEFAULT_VISUALIZATIONS);
    return Files.isDirectory(d) ? d : null;
  }

  /**
   * The defaults: 127.0.0.1:8080, 2000 tag responses replayed per partition, 1440 history
   * buckets held per layer, keep-alive every
   * 15 s, events coalesced over 100 ms, no extra consumer properties.
   *
   * @return default settings
   */
  public static DashboardSettings defaults() {
    return new DashboardSettings(DEFAULT_HOST, DEFAULT_PORT, DEFAULT_TAG_RESPONSE_REPLAY, DEFAULT_HISTORY_BUCKETS,
        Duration.ofSeconds(15), Duration.ofMillis(100), Map.of(), List.of(), null);
  }

  /**
   * @param newHost bind address
   * @return a copy with {@code host} changed
   * @throws IllegalArgumentException when blank
   */
  public DashboardSettings withHost(String newHost) {
    return new DashboardSettings(newHost, port, tagResponseReplay, historyBuckets, keepAlive, eventCoalescing, consumerProperties, classes, visualizations);
  }

  /**
   * @param newPort TCP port, 0 for any free port
   * @return a copy with {@code port} changed
   * @throws IllegalArgumentException when outside 0..65535
   */
  public DashboardSettings withPort(int newPort) {
    return new DashboardSettings(host, newPort, tagResponseReplay, historyBuckets, keepAlive, eventCoalescing, consumerProperties, classes, visualizations);
  }

  /**
   * @param records tag-response records replayed per partition at start
   * @return a copy with {@code tagResponseReplay} changed
   * @throws IllegalArgumentException when negative
   */
  public DashboardSettings withTagResponseReplay(int records) {
    return new DashboardSettings(host, port, records, historyBuckets, keepAlive, eventCoalescing, consumerProperties, classes, visualizations);
  }

  /**
   * @param buckets history buckets held per model, version and layer
   * @return a copy with {@code historyBuckets} changed
   * @throws IllegalArgumentException when below 1
   */
  public DashboardSettings withHistoryBuckets(int buckets) {
    return new DashboardSettings(host, port, tagResponseReplay, buckets, keepAlive, eventCoalescing, consumerProperties, classes, visualizations);
  }

  /**
   * @param interval time between SSE keep-alive comments
   * @return a copy with {@code keepAlive} changed
   * @throws IllegalArgumentException when not positive
   */
  public DashboardSettings withKeepAlive(Duration interval) {
    return new DashboardSettings(host, port, tagResponseReplay, historyBuckets, interval, eventCoalescing, consumerProperties, classes, visualizations);
  }

  /**
   * @param window time over which change events are gathered before they are sent
   * @return a copy with {@code eventCoalescing} changed
   * @throws IllegalArgumentException when not in (0, 10 s]
   */
  public DashboardSettings withEventCoalescing(Duration window) {
    return new DashboardSettings(host, port, tagResponseReplay, historyBuckets, keepAlive, window, consumerProperties, classes, visualizations);
  }

  /**
   * @param key a Kafka consumer property, e.g. {@code security.protocol}
   * @param value its value
   * @return a copy with that property added (or replaced)
   * @throws IllegalArgumentException when the service owns that property, or it changes a
   *     setting {@link KafkaClientPolicy} pins (a {@link dev.tagscope.service.PinnedSettingException})
   */
  public DashboardSettings withConsumerProperty(String key, String value) {
    Map<String, String> m = new LinkedHashMap<>(consumerProperties);
    m.put(Objects.requireNonNull(key, "key"), Objects.requireNonNull(value, "value"));
    return new DashboardSettings(host, port, tagResponseReplay, historyBuckets, keepAlive, eventCoalescing, m, classes, visualizations);
  }

  /**
   * @param names the model's class names by label, e.g. from the model card; empty for none
   * @return a copy with {@code classes} changed
   * @throws IllegalArgumentException when the list or a name is null
   */
  public DashboardSettings withClasses(List<String> names) {
    return new DashboardSettings(host, port, tagResponseReplay, historyBuckets, keepAlive, eventCoalescing, consumerProperties,
        names, visualizations);
  }

  /**
   * @param folder the folder {@code tagscope visualize} wrote, or null for the default
   *     ({@value #DEFAULT_VISUALIZATIONS} when it exists)
   * @return a copy with {@code visualizations} changed
   * @throws IllegalArgumentException when the folder does not exist
   */
  public DashboardSettings withVisualizations(Path folder) {
    return new DashboardSettings(host, port, tagResponseReplay, historyBuckets, keepAlive, eventCoalescing, consumerProperties,
        classes, folder);
  }
}
