package dev.tagscope.testsupport;

import dev.tagscope.schemas.TopicSpec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.Deserializer;

/**
 * Reads a topic back in a test the way a downstream reader sees it: every partition from the
 * beginning, outside any consumer group, {@code read_committed} unless a test needs to see what an
 * uncommitted reader would. Reading goes on until the test's condition holds on what was read
 * <em>and</em> every partition was read to its end offset, so a record written after the ones the
 * test waits for (a duplicate, say) is seen too; or until the timeout, after which the test
 * asserts on what came.
 */
public final class TopicReads {
  private TopicReads() {}

  /**
   * Reads a topic's committed records with its serdes.
   *
   * @param <K> key type
   * @param <V> value type
   * @param bootstrap the cluster, {@code host:port}
   * @param topic the topic and its serdes
   * @param timeout longest wait
   * @param done true once the records read so far are what the test waits for
   * @return every record read, in partition order (all partitions interleaved as polled)
   */
  public static <K, V> List<ConsumerRecord<K, V>> readCommitted(String bootstrap, TopicSpec<K, V> topic, Duration timeout,
                                                               Predicate<List<ConsumerRecord<K, V>>> done) {
    return read(bootstrap, topic.name(), topic.keySerde().deserializer(), topic.valueSerde().deserializer(), true, timeout, done);
  }

  /**
   * Reads a topic's records as bytes.
   *
   * @param bootstrap the cluster, {@code host:port}
   * @param topic the topic name
   * @param committedOnly true for {@code read_committed}, false for {@code read_uncommitted}
   *     (to show what exactly-once hides)
   * @param timeout longest wait
   * @param done true once the records read so far are what the test waits for
   * @return every record read
   */
  public static List<ConsumerRecord<byte[], byte[]>> readBytes(String bootstrap, String topic, boolean committedOnly,
                                                              Duration timeout, Predicate<List<ConsumerRecord<byte[], byte[]>>> done) {
    return read(bootstrap, topic, new ByteArrayDeserializer(), new ByteArrayDeserializer(), committedOnly, timeout, done);
  }

  private static <K, V> List<ConsumerRecord<K, V>> read(String bootstrap, String topic, Deserializer<K> keys, Deserializer<V> values,
                                                        boolean committedOnly, Duration timeout,
                                                        Predicate<List<ConsumerRecord<K, V>>> done) {
    Map<String, Object> cfg = new HashMap<>();
    cfg.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    cfg.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, committedOnly ? "read_committed" : "read_uncommitted");
    cfg.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    cfg.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 5000);
    List<ConsumerRecord<K, V>> out = new ArrayList<>();
    try (KafkaConsumer<K, V> c = new KafkaConsumer<>(cfg, keys, values)) {
      List<TopicPartition> parts = c.partitionsFor(topic, timeout).stream()
          .map(p -> new TopicPartition(topic, p.partition())).toList();
      c.assign(parts);
      c.seekToBeginning(parts);
      long deadline = System.nanoTime() + timeout.toNanos();
      while (System.nanoTime() < deadline) {
        c.poll(Duration.ofMillis(200)).forEach(out::add);
        if (done.test(out)) {
          Map<TopicPartition, Long> end = c.endOffsets(parts);
          if (parts.stream().allMatch(tp -> c.position(tp) >= end.get(tp))) {
            break;
          }
        }
      }
    }
    return out;
  }
}
