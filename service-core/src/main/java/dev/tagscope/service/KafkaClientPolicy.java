package dev.tagscope.service;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;

/**
 * The one configuration policy for every Kafka client Tagscope makes: it builds the client's
 * settings from Tagscope's defaults, the user's overrides ({@code --kafka KEY=VALUE}) and the
 * settings exactly-once depends on, which it pins. An override of a pinned key is refused
 * before any client exists, with a {@link PinnedSettingException} that names the key, the value
 * given, the pinned value and why, the way Kafka Streams guards the consumer and producer
 * settings it owns. Every other setting (security, SASL, SSL, timeouts, {@code client.id},
 * batching, ...) stays the user's to change.
 *
 * <pre>{@code
 * Map<String, Object> cfg = KafkaClientPolicy.readCommittedConsumer(null)   // no consumer group
 *     .bootstrapServers("127.0.0.1:9092")
 *     .set(ConsumerConfig.CLIENT_ID_CONFIG, "tagscope-probes")             // a default
 *     .overrides(Map.of("security.protocol", "SSL"))                        // the user's
 *     .build();                                                             // pinned values last
 * }</pre>
 *
 * <h2>Pinned settings</h2>
 * <table>
 *   <caption>Settings no override may change</caption>
 *   <tr><th>key</th><th>pinned to</th><th>set on</th><th>why</th></tr>
 *   <tr><td>{@code isolation.level}</td><td>{@code read_committed}</td><td>consumers</td>
 *       <td>a {@code read_uncommitted} consumer also sees records of aborted transactions</td></tr>
 *   <tr><td>{@code enable.auto.commit}</td><td>{@code false}</td><td>consumers</td>
 *       <td>offsets are committed in the transaction that writes the results (readers without a
 *       group commit none); auto-commit would commit offsets of results never written</td></tr>
 *   <tr><td>{@code enable.idempotence}</td><td>{@code true}</td><td>producers</td>
 *       <td>without it a retried send can write a record twice; transactions need it</td></tr>
 *   <tr><td>{@code acks}</td><td>{@code all} (also written {@code -1})</td><td>producers</td>
 *       <td>with {@code 0} or {@code 1} a leader failure loses acknowledged records; idempotence
 *       needs {@code all}</td></tr>
 *   <tr><td>{@code transactional.id}</td><td>the caller's id on a transactional producer; unset
 *       on every other client</td><td>transactional producers</td>
 *       <td>two producers with one id fence each other; a producer that runs no transactions
 *       cannot send with one</td></tr>
 *   <tr><td>{@code processing.guarantee}</td><td>{@code exactly_once_v2}</td><td>Kafka Streams</td>
 *       <td>{@code at_least_once} processes records again after a failure</td></tr>
 * </table>
 *
 * <p>Each of these keys is pinned in the forms Kafka Streams hands to its own clients too:
 * prefixed with {@code consumer.}, {@code main.consumer.}, {@code restore.consumer.},
 * {@code global.consumer.}, {@code producer.} or {@code admin.} (for example
 * {@code consumer.isolation.level}, {@code producer.acks}).
 *
 * <p>The same pinned keys are checked for every kind of client, whether or not the kind uses
 * them, because one {@code --kafka} list goes to every client a command makes: an override that
 * one client would refuse is refused by all, at once. Keys are matched exactly, as Kafka matches
 * them (case-sensitive; {@code ACKS} is no Kafka setting); values are compared as Kafka reads
 * them: trimmed, case-insensitive, {@code -1} and {@code all} alike for {@code acks}, the
 * {@code transactional.id} case-sensitive. An override that gives the pinned value itself is
 * accepted and has no effect.
 *
 * <h2>Order</h2>
 * Tagscope's defaults ({@link Builder#set(String, Object)}) first, then the overrides
 * ({@link Builder#overrides(Map)}), which replace defaults, then
 * {@link Builder#bootstrapServers(String)} when given, then the pinned values of the kind.
 */
public final class KafkaClientPolicy {

  /** The prefixes under which Kafka Streams passes settings to its own clients, e.g. {@code consumer.}. */
  public static final List<String> STREAMS_CLIENT_PREFIXES = List.of(
      "consumer.", "main.consumer.", "restore.consumer.", "global.consumer.", "producer.", "admin.");

  /** Kafka Streams' {@code processing.guarantee}; kafka-streams is not a dependency of this module. */
  static final String PROCESSING_GUARANTEE = "processing.guarantee";
  /** Kafka Streams' {@code exactly_once_v2}. */
  static final String EXACTLY_ONCE_V2 = "exactly_once_v2";

  /** One pinned key: its value (null for transactional.id, whose value is the caller's) and why. */
  private record Pin(String key, String value, String reason) {}

  private static final Pin ISOLATION = new Pin(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed",
      "a read_uncommitted consumer also sees records of aborted transactions, which breaks exactly-once");
  private static final Pin AUTO_COMMIT = new Pin(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false",
      "Tagscope commits a consumer's offsets only in the transaction that writes its results (readers without a group"
          + " commit none); auto-commit would commit offsets of records whose results were never written, so a crash"
          + " would lose them");
  private static final Pin IDEMPOTENCE = new Pin(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true",
      "without idempotence a retried send can write a record twice, and transactions need it");
  private static final Pin ACKS = new Pin(ProducerConfig.ACKS_CONFIG, "all",
      "a record counts as written only once every in-sync replica has it; with acks=0 or 1 a leader failure loses"
          + " acknowledged records, and Kafka refuses idempotence without acks=all");
  private static final Pin TRANSACTIONAL_ID = new Pin(ProducerConfig.TRANSACTIONAL_ID_CONFIG, null,
      "each transactional producer's id is Tagscope's (the worker's comes from --instance-id, Kafka Streams makes its"
          + " own): two producers sharing one fence each other, and a producer that runs no transactions cannot send"
          + " with one");
  private static final Pin GUARANTEE = new Pin(PROCESSING_GUARANTEE, EXACTLY_ONCE_V2,
      "with at_least_once Kafka Streams processes records again after a failure or a rebalance, so windows would be"
          + " counted twice in the importance");

  private static final Map<String, Pin> PINS = Map.of(
      ISOLATION.key(), ISOLATION, AUTO_COMMIT.key(), AUTO_COMMIT, IDEMPOTENCE.key(), IDEMPOTENCE,
      ACKS.key(), ACKS, TRANSACTIONAL_ID.key(), TRANSACTIONAL_ID, GUARANTEE.key(), GUARANTEE);

  /** The kinds of client Tagscope makes, each with the pinned settings it is given. */
  public enum Kind {
    /** A consumer that reads committed records only and never auto-commits, in a group or not. */
    READ_COMMITTED_CONSUMER(List.of(ISOLATION, AUTO_COMMIT)),
    /** A producer that writes each record once, outside transactions. */
    IDEMPOTENT_PRODUCER(List.of(IDEMPOTENCE, ACKS)),
    /** A producer that writes in transactions, with the caller's {@code transactional.id}. */
    TRANSACTIONAL_PRODUCER(List.of(IDEMPOTENCE, ACKS, TRANSACTIONAL_ID)),
    /** A Kafka Streams application, exactly-once. */
    STREAMS(List.of(GUARANTEE)),
    /** An Admin client (topics, metadata). */
    ADMIN(List.of());

    private final List<Pin> pins;

    Kind(List<Pin> pins) {
      this.pins = pins;
    }
  }

  private KafkaClientPolicy() {}

  /**
   * A consumer with {@code isolation.level=read_committed} and {@code enable.auto.commit=false}.
   *
   * @param groupId the consumer group, a default that an override may replace; {@code null} for
   *     a consumer that assigns its partitions itself, which then gets no {@code group.id} at
   *     all (one among the overrides is dropped: such a reader must not join a group)
   * @return a builder
   */
  public static Builder readCommittedConsumer(String groupId) {
    Builder b = new Builder(Kind.READ_COMMITTED_CONSUMER, null, groupId == null);
    if (groupId != null) {
      b.set(ConsumerConfig.GROUP_ID_CONFIG, groupId);
    }
    return b;
  }

  /**
   * A producer with {@code enable.idempotence=true}, {@code acks=all} and no {@code transactional.id}.
   *
   * @return a builder
   */
  public static Builder idempotentProducer() {
    return new Builder(Kind.IDEMPOTENT_PRODUCER, null, false);
  }

  /**
   * A producer with {@code enable.idempotence=true}, {@code acks=all} and the given
   * {@code transactional.id}.
   *
   * @param transactionalId the producer's {@code transactional.id}, unique per running instance
   * @return a builder
   * @throws IllegalArgumentException when the id is null or blank
   */
  public static Builder transactionalProducer(String transactionalId) {
    if (transactionalId == null || transactionalId.isBlank()) {
      throw new IllegalArgumentException("transactionalId: a transactional producer needs a non-blank transactional.id, got '"
          + transactionalId + "'");
    }
    return new Builder(Kind.TRANSACTIONAL_PRODUCER, transactionalId.trim(), false);
  }

  /**
   * A Kafka Streams application with {@code processing.guarantee=exactly_once_v2}.
   *
   * @return a builder
   */
  public static Builder streams() {
    return new Builder(Kind.STREAMS, null, false);
  }

  /**
   * An Admin client; it has no pinned settings of its own, but overrides are checked all the same.
   *
   * @return a builder
   */
  public static Builder admin() {
    return new Builder(Kind.ADMIN, null, false);
  }

  /**
   * Refuses overrides that set a pinned key (plain or with a Kafka Streams client prefix) to
   * another value than the pinned one, whichever client they are meant for; a
   * {@code transactional.id} is refused whatever its value. Used where overrides enter Tagscope
   * ({@code --kafka}, service settings), so that a command fails before anything starts.
   *
   * @param overrides client settings from the user, not null
   * @throws PinnedSettingException for the first such key, naming it, the value, the pinned value and why
   */
  public static void checkOverrides(Map<String, ?> overrides) {
    check(Objects.requireNonNull(overrides, "overrides"), null);
  }

  /**
   * Whether a key is pinned, plain or with a Kafka Streams client prefix.
   *
   * @param key a client setting's name
   * @return true for the keys of the pinned table and their prefixed forms
   */
  public static boolean isPinned(String key) {
    return pinOf(key) != null;
  }

  /**
   * The values pinned on a kind of client, as the built configuration holds them.
   *
   * @param kind the kind of client
   * @return key to value, without {@code transactional.id} (the caller's on a transactional producer)
   */
  public static Map<String, String> pinnedValues(Kind kind) {
    Map<String, String> out = new LinkedHashMap<>();
    for (Pin p : kind.pins) {
      if (p.value() != null) {
        out.put(p.key(), p.value());
      }
    }
    return out;
  }

  /** @return the pin of the key, the key itself or the rest after a Streams client prefix; null when not pinned */
  private static Pin pinOf(String key) {
    Pin p = PINS.get(key);
    if (p != null) {
      return p;
    }
    for (String prefix : STREAMS_CLIENT_PREFIXES) {
      if (key.startsWith(prefix)) {
        p = PINS.get(key.substring(prefix.length()));
        if (p != null) {
          return p;
        }
      }
    }
    return null;
  }

  private static void check(Map<String, ?> overrides, String transactionalId) {
    for (Map.Entry<String, ?> e : overrides.entrySet()) {
      String key = e.getKey();
      Pin pin = key == null ? null : pinOf(key);
      if (pin == null) {
        continue;
      }
      String pinned = pin == TRANSACTIONAL_ID ? transactionalId : pin.value();
      String given = String.valueOf(e.getValue());
      if (pinned == null || !same(pin, given, pinned)) {
        throw refusal(key, pin, given, pinned);
      }
    }
  }

  private static boolean same(Pin pin, String given, String pinned) {
    if (pin == TRANSACTIONAL_ID) {
      return given.trim().equals(pinned);
    }
    String g = given.trim().toLowerCase(Locale.ROOT);
    return g.equals(pinned) || (pin == ACKS && g.equals("-1"));
  }

  private static PinnedSettingException refusal(String key, Pin pin, String given, String pinned) {
    StringBuilder m = new StringBuilder(key);
    if (!key.equals(pin.key())) {
      String client = key.substring(0, key.length() - pin.key().length() - 1).replace('.', ' ');
      m.append(" (").append(pin.key()).append(" of Kafka Streams' ").append(client).append(" clients)");
    }
    if (pinned != null) {
      m.append(" is pinned to ").append(pinned);
    } else {
      m.append(" is pinned: Tagscope sets it itself, on its transactional producers only");
    }
    m.append(", got ").append(given).append(": ").append(pin.reason())
        .append("; remove the override (--kafka ").append(key).append('=').append(given).append(')');
    return new PinnedSettingException(key, given, pinned, pin.reason(), m.toString());
  }

  /**
   * The settings of one client, built in the order defaults, overrides, bootstrap servers, pinned
   * values. Not thread-safe; build once.
   */
  public static final class Builder {
    private final Kind kind;
    private final String transactionalId;
    private final boolean groupless;
    private final Map<String, Object> defaults = new LinkedHashMap<>();
    private final Map<String, Object> overrides = new LinkedHashMap<>();
    private String bootstrapServers;

    private Builder(Kind kind, String transactionalId, boolean groupless) {
      this.kind = kind;
      this.transactionalId = transactionalId;
      this.groupless = groupless;
    }

    /**
     * The cluster; wins over a {@code bootstrap.servers} among the overrides.
     *
     * @param servers {@code host:port[,host:port...]}; {@code null} leaves the overrides' value
     * @return this
     */
    public Builder bootstrapServers(String servers) {
      this.bootstrapServers = servers;
      return this;
    }

    /**
     * One of Tagscope's defaults for this client, which an override may replace.
     *
     * @param key a client setting that is not pinned
     * @param value its value
     * @return this
     * @throws IllegalArgumentException when the key is pinned: the policy sets those
     */
    public Builder set(String key, Object value) {
      if (isPinned(key)) {
        throw new IllegalArgumentException(key + " is pinned by KafkaClientPolicy; do not set it as a default");
      }
      defaults.put(key, value);
      return this;
    }

    /**
     * The user's settings ({@code --kafka}, service settings); they replace defaults. May be called
     * more than once; later values win.
     *
     * @param userSettings client settings, not null; values as Kafka takes them (text or typed)
     * @return this
     * @throws PinnedSettingException when one sets a pinned key (plain or prefixed) to another
     *     value than the pinned one, or sets {@code transactional.id} on a client other than a
     *     transactional producer
     */
    public Builder overrides(Map<String, ?> userSettings) {
      check(Objects.requireNonNull(userSettings, "overrides"), transactionalId);
      overrides.putAll(userSettings);
      return this;
    }

    /**
     * The settings for the client's constructor.
     *
     * @return a new mutable map: defaults, overrides (without pinned keys, which held the pinned
     *     value), bootstrap servers, pinned values
     */
    public Map<String, Object> build() {
      Map<String, Object> out = new LinkedHashMap<>(defaults);
      overrides.forEach((k, v) -> {
        if (!isPinned(k)) {
          out.put(k, v);
        }
      });
      if (groupless) {
        out.remove(ConsumerConfig.GROUP_ID_CONFIG);
      }
      if (bootstrapServers != null) {
        out.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
      }
      out.putAll(pinnedValues(kind));
      if (transactionalId != null) {
        out.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, transactionalId);
      }
      return out;
    }

    /**
     * As {@link #build()}, as {@link Properties} (for Kafka Streams and other Properties-based APIs).
     *
     * @return new properties with the same entries
     */
    public Properties buildProperties() {
      Properties p = new Properties();
      p.putAll(build());
      return p;
    }
  }
}
