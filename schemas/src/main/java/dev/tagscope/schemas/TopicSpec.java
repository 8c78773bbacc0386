package dev.tagscope.schemas;

import java.util.Map;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.serialization.Serde;

/**
 * One topic bound to its key and value serdes: the only place a topic name and its types
 * are spelled (see {@link Topics}).
 *
 * @param name topic name
 * @param keySerde key serde
 * @param valueSerde value serde
 * @param compacted whether the topic keeps only the latest value per key
 * @param retentionMs {@code retention.ms} the topic is created with, ms; -1 for the broker's default
 *     (7 days unless the cluster says otherwise). Record timestamps are stimulus time, so retention
 *     counts from a record's stimulus time, not from when it was written.
 * @param <K> key type
 * @param <V> value type
 */
public record TopicSpec<K, V>(String name, Serde<K> keySerde, Serde<V> valueSerde, boolean compacted, long retentionMs) {

  /**
   * A topic with the broker's default retention.
   *
   * @param name topic name
   * @param keySerde key serde
   * @param valueSerde value serde
   * @param compacted whether the topic keeps only the latest value per key
   */
  public TopicSpec(String name, Serde<K> keySerde, Serde<V> valueSerde, boolean compacted) {
    this(name, keySerde, valueSerde, compacted, -1);
  }

  /**
   * The admin request that creates this topic.
   *
   * @param partitions number of partitions (>= 1)
   * @param replicationFactor replicas per partition (1 on a single broker)
   * @return a {@link NewTopic} with {@code cleanup.policy=compact} where the topic is compacted,
   *     {@code retention.ms} where {@link #retentionMs()} is set, {@code max.message.bytes} =
   *     {@link #MAX_MESSAGE_BYTES} and {@link #TIMESTAMP_CONFIGS} always
   * @throws IllegalArgumentException when {@code partitions} or {@code replicationFactor} is below 1,
   *     naming the field and the fix ({@link #checkLayout(int, short)})
   */
  public NewTopic newTopic(int partitions, short replicationFactor) {
    checkLayout(partitions, replicationFactor);
    Map<String, String> configs = new java.util.HashMap<>(TIMESTAMP_CONFIGS);
    if (compacted) {
      configs.put(TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_COMPACT);
    }
    if (retentionMs > 0) {
      configs.put(TopicConfig.RETENTION_MS_CONFIG, Long.toString(retentionMs));
    }
    configs.put(TopicConfig.MAX_MESSAGE_BYTES_CONFIG, Integer.toString(MAX_MESSAGE_BYTES));
    return new NewTopic(name, partitions, replicationFactor).configs(configs);
  }

  /**
   * Checks a topic layout before any admin request is made (the broker's own refusal names
   * neither the setting nor the fix).
   *
   * @param partitions partitions per topic: at least 1; a consumer group or Streams application
   *     runs at most this many instances in parallel on a topic
   * @param replicationFactor replicas per partition: at least 1, at most the number of brokers
   * @throws IllegalArgumentException naming the field, the value and the fix
   */
  public static void checkLayout(int partitions, short replicationFactor) {
    if (partitions < 1) {
      throw new IllegalArgumentException("partitions must be at least 1 per topic, got " + partitions
          + "; give at least as many as the worker or Streams instances you mean to run in parallel, e.g. 4");
    }
    if (replicationFactor < 1) {
      throw new IllegalArgumentException("replicationFactor must be at least 1, got " + replicationFactor
          + "; use 1 on a single broker, up to the number of brokers (typically 3) on a cluster");
    }
  }

  /**
   * Largest record batch, in bytes, that Tagscope's topics accept ({@code max.message.bytes}, Kafka's
   * default 1 MiB): 8 MiB. A tag response grows with filters x signal bins (about 58 bytes per
   * filter and bin): a 64-filter layer under a {@code grid:4x4} plan (304 signal bins) is about
   * 1.14 MB, and 8 MiB holds about 480 filters at that plan. The Streams producer's
   * {@code max.request.size} is raised to match; a larger result goes to the dead-letter topic.
   */
  public static final int MAX_MESSAGE_BYTES = 8 * 1024 * 1024;

  /**
   * Record timestamps are stimulus time (probe start + frameIndex / fps), which an unpaced probe
   * runs ahead of the wall clock: 10,000 images of 2 s each are 5.5 hours of stimulus time. Kafka
   * refuses timestamps more than {@code message.timestamp.after.max.ms} ahead (default 1 hour),
   * so every Tagscope topic, and the Streams application's internal topics, accept any lead.
   */
  public static final Map<String, String> TIMESTAMP_CONFIGS =
      Map.of(TopicConfig.MESSAGE_TIMESTAMP_AFTER_MAX_MS_CONFIG, Long.toString(Long.MAX_VALUE));
}
