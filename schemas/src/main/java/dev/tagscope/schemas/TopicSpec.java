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
 * @param <K> key type
 * @param <V> value type
 */
public record TopicSpec<K, V>(String name, Serde<K> keySerde, Serde<V> valueSerde, boolean compacted) {

  /**
   * The admin request that creates this topic.
   *
   * @param partitions number of partitions (>= 1)
   * @param replicationFactor replicas per partition (1 on a single broker)
   * @return a {@link NewTopic} with {@code cleanup.policy=compact} where the topic is compacted
   */
  public NewTopic newTopic(int partitions, short replicationFactor) {
    NewTopic topic = new NewTopic(name, partitions, replicationFactor);
    if (compacted) {
      topic.configs(Map.of(TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_COMPACT));
    }
    return topic;
  }
}
