package dev.tagscope.launcher;

import dev.tagscope.schemas.TagResponse;
import dev.tagscope.schemas.Topics;
import dev.tagscope.service.KafkaClientPolicy;
import dev.tagscope.service.PartitionCatchUp.StartPosition;
import dev.tagscope.service.PartitionCatchUp;
import dev.tagscope.tagging.spectral.LayerAccumulator;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.kafka.clients.consumer.CloseOptions;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * Reads one probe's tag responses back from {@code tagscope.tag-responses} (read_committed, no
 * consumer group, every partition: a {@link PartitionCatchUp}) and folds them into a
 * {@link LayerAccumulator} per layer, so the demo's report is built from what the Streams
 * application actually published.
 */
final class TagResponseCollector implements AutoCloseable {
  private final KafkaConsumer<byte[], byte[]> consumer;
  private final PartitionCatchUp<byte[], byte[]> reader;
  private final String probeId;
  private final String keyPrefix;
  private final boolean fold;
  private final Map<String, LayerAccumulator> layers = new LinkedHashMap<>();
  private long windows;
  private long unreadable;

  /**
   * @param bootstrapServers the cluster
   * @param clientOverrides extra consumer properties ({@code --kafka}); pinned ones are refused
   * @param probeId the probe whose windows to collect; others are ignored
   * @param fromTimestampMs the probe's start time (epoch ms): tag responses carry stimulus time,
   *     which never precedes it, so reading starts at each partition's first record at or after
   *     it rather than at the beginning of a long-lived topic
   */
  TagResponseCollector(String bootstrapServers, Map<String, Object> clientOverrides, String probeId, long fromTimestampMs) {
    this(bootstrapServers, clientOverrides, probeId, fromTimestampMs, true);
  }

  /**
   * A collector that only counts the probe's windows as they arrive, by their keys
   * ({@code probeId/layer}), without decoding them: the benchmark's end-of-probe signal, which must
   * not spend the cores it measures on building a report nobody reads.
   *
   * @param bootstrapServers the cluster
   * @param probeId the probe whose windows to count
   * @param fromTimestampMs the probe's start time (epoch ms), as for the folding collector
   * @return a collector whose {@link #layers()} stays empty
   */
  static TagResponseCollector counting(String bootstrapServers, String probeId, long fromTimestampMs) {
    return new TagResponseCollector(bootstrapServers, Map.of(), probeId, fromTimestampMs, false);
  }

  private TagResponseCollector(String bootstrapServers, Map<String, Object> clientOverrides, String probeId, long fromTimestampMs,
                               boolean fold) {
    Map<String, Object> props = KafkaClientPolicy.readCommittedConsumer(null).bootstrapServers(bootstrapServers)
        .set(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest").overrides(clientOverrides).build();
    this.consumer = new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    this.probeId = probeId;
    this.keyPrefix = Topics.probeLayerKey(probeId, "");
    this.fold = fold;
    // Where no record is that recent yet, each partition starts at its end resolved at assignment: a
    // lazy seekToEnd would be resolved at the first poll and could skip windows written before it.
    this.reader = new PartitionCatchUp<>("tag-response collector", consumer,
        Map.of(Topics.TAG_RESPONSES.name(), StartPosition.firstAtOrAfter(Math.max(0, fromTimestampMs))), Duration.ofSeconds(30));
    try {
      reader.assignNewPartitions();
    } catch (RuntimeException e) {
      consumer.close(); // no group to leave: returns at once
      throw e;
    }
  }

  /**
   * Polls once and folds this probe's new windows in.
   *
   * @param timeout longest wait; partitions that appeared since are looked up first when due
   * @return windows collected so far (all layers)
   */
  long poll(Duration timeout) {
    for (ConsumerRecord<byte[], byte[]> r : reader.poll(timeout)) {
      if (!fold) {
        if (r.key() != null && new String(r.key(), StandardCharsets.UTF_8).startsWith(keyPrefix)) {
          windows++;
        }
        continue;
      }
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
