package dev.tagscope.launcher;

import dev.tagscope.schemas.TagResponse;
import dev.tagscope.schemas.Topics;
import dev.tagscope.tagging.spectral.LayerAccumulator;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.CloseOptions;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndTimestamp;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * Reads one probe's tag responses back from {@code tagscope.tag-responses} (read_committed, no
 * consumer group) and folds them into a {@link LayerAccumulator} per layer, so the demo's report
 * is built from what the Streams application actually published.
 */
final class TagResponseCollector implements AutoCloseable {
  private final KafkaConsumer<byte[], byte[]> consumer;
  private final String probeId;
  private final Map<String, LayerAccumulator> layers = new LinkedHashMap<>();
  private long windows;
  private long unreadable;

  /**
   * @param bootstrapServers the cluster
   * @param clientOverrides extra consumer properties
   * @param probeId the probe whose windows to collect; others are ignored
   * @param fromTimestampMs the probe's start time (epoch ms): tag responses carry stimulus time,
   *     which never precedes it, so reading starts at each partition's first record at or after
   *     it rather than at the beginning of a long-lived topic
   */
  TagResponseCollector(String bootstrapServers, Map<String, Object> clientOverrides, String probeId, long fromTimestampMs) {
    Map<String, Object> props = new LinkedHashMap<>(clientOverrides);
    props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
    props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    this.consumer = new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    this.probeId = probeId;
    List<TopicPartition> parts = new ArrayList<>();
    for (PartitionInfo p : consumer.partitionsFor(Topics.TAG_RESPONSES.name(), Duration.ofSeconds(30))) {
      parts.add(new TopicPartition(p.topic(), p.partition()));
    }
    consumer.assign(parts);
    Map<TopicPartition, Long> query = new LinkedHashMap<>();
    parts.forEach(tp -> query.put(tp, Math.max(0, fromTimestampMs)));
    Map<TopicPartition, OffsetAndTimestamp> found = consumer.offsetsForTimes(query, Duration.ofSeconds(30));
    // Where no record is that recent yet, start at today's end, resolved now: a lazy seekToEnd
    // would be resolved at the first poll and could skip windows written before it.
    Map<TopicPartition, Long> ends = consumer.endOffsets(parts, Duration.ofSeconds(30));
    for (TopicPartition tp : parts) {
      OffsetAndTimestamp at = found.get(tp);
      consumer.seek(tp, at != null ? at.offset() : ends.get(tp));
    }
  }

  /**
   * Polls once and folds this probe's new windows in.
   *
   * @param timeout longest wait
   * @return windows collected so far (all layers)
   */
  long poll(Duration timeout) {
    for (ConsumerRecord<byte[], byte[]> r : consumer.poll(timeout)) {
      TagResponse t;
      try {
        t = Topics.TAG_RESPONSES.valueSerde().deserializer().deserialize(r.topic(), r.value());
      } catch (SerializationException e) {
        unreadable++; // the Streams application owns this topic; a bad record is its bug, not ours to drop silently
        continue;
      }
      if (t == null || !probeId.equals(t.getProbeId())) {
        continue;
      }
      try {
        layers.computeIfAbsent(t.getLayer(), l -> new LayerAccumulator(t.getSignalBins())).add(t);
      } catch (IllegalArgumentException e) {
        // A window that disagrees with the layer's earlier ones (bins, filter count, a repeated filter):
        // counted as unreadable, like an undecodable one; the accumulator is left as it was.
        unreadable++;
        continue;
      }
      windows++;
    }
    return windows;
  }

  /** @return per layer, in the order first seen, the accumulated windows */
  Map<String, LayerAccumulator> layers() {
    return layers;
  }

  long windows() {
    return windows;
  }

  long unreadable() {
    return unreadable;
  }

  @Override
  public void close() {
    consumer.close(CloseOptions.timeout(Duration.ofSeconds(5)));
  }
}
