package dev.tagscope.worker.internal;

import dev.tagscope.schemas.ProbeSpec;
import dev.tagscope.schemas.Topics;
import dev.tagscope.service.PartitionCatchUp;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The probe specs of {@code tagscope.probes} (compacted, key probeId), read by a consumer
 * outside any group that is assigned every partition and starts from the beginning (a
 * {@link PartitionCatchUp}). A
 * tombstone removes a probe; an undecodable spec is logged and skipped (the topic is re-read
 * from the beginning at every start, so a dead letter would repeat). Not thread-safe: used by
 * the worker's poll thread only.
 */
public final class ProbeCache implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ProbeCache.class);

  private final Consumer<byte[], byte[]> consumer;
  private final PartitionCatchUp<byte[], byte[]> reader;
  private final Duration catchUpTimeout;
  private final Deserializer<String> keys;
  private final Deserializer<ProbeSpec> values;
  private final Map<String, ProbeSpec> probes = new HashMap<>();
  private long skipped;

  /**
   * @param consumer a consumer without group id, {@code isolation.level=read_committed},
   *     byte-array deserializers; closed by {@link #close()}
   * @param catchUpTimeout longest wait for one refresh to reach the end of the topic, and for
   *     each of its metadata and offset requests
   */
  public ProbeCache(Consumer<byte[], byte[]> consumer, Duration catchUpTimeout) {
    this.consumer = consumer;
    this.catchUpTimeout = catchUpTimeout;
    this.reader = new PartitionCatchUp<>("probe cache", consumer,
        Map.of(Topics.PROBES.name(), PartitionCatchUp.StartPosition.beginning()), catchUpTimeout);
    Serde<String> ks = Topics.PROBES.keySerde();
    Serde<ProbeSpec> vs = Topics.PROBES.valueSerde();
    this.keys = ks.deserializer();
    this.values = vs.deserializer();
  }

  /**
   * The spec of a probe as last read, without touching the broker.
   *
   * @param probeId the probe
   * @return the spec or {@code null}
   */
  public ProbeSpec get(String probeId) {
    return probes.get(probeId);
  }

  /**
   * Number of probes known.
   *
   * @return probes in the cache
   */
  public int size() {
    return probes.size();
  }

  /**
   * Undecodable probe records skipped so far.
   *
   * @return count
   */
  public long skipped() {
    return skipped;
  }

  /**
   * Reads the probes topic up to its current end (last stable offset), assigning any
   * partition not yet assigned and starting it from the beginning.
   *
   * @return true when the end was reached within the time limit
   */
  public boolean refresh() {
    if (!reader.assignNewPartitions().isEmpty()) {
      log.warn("topic {} has no partitions yet; probe specs unavailable", Topics.PROBES.name());
    }
    if (reader.readToCurrentEnd(catchUpTimeout, this::apply)) {
      return true;
    }
    if (!reader.assignment().isEmpty()) {
      log.warn("probe specs not read to the end of {} within {}", Topics.PROBES.name(), catchUpTimeout);
    }
    return false;
  }

  /** Applies whatever the consumer has fetched already, without waiting. */
  public void pollUpdates() {
    for (ConsumerRecord<byte[], byte[]> r : reader.pollAssigned(Duration.ZERO)) {
      apply(r);
    }
  }

  private void apply(ConsumerRecord<byte[], byte[]> r) {
    String key;
    try {
      key = r.key() == null ? null : keys.deserialize(r.topic(), r.key());
    } catch (RuntimeException e) {
      key = null;
    }
    if (r.value() == null) {
      if (key != null) {
        probes.remove(key);
      }
      return;
    }
    try {
      ProbeSpec spec = values.deserialize(r.topic(), r.value());
      probes.put(spec.getProbeId(), spec);
    } catch (SerializationException e) {
      skipped++;
      log.warn("skipping undecodable probe spec at {}-{}@{} (key {}): {}", r.topic(), r.partition(), r.offset(), key,
          e.getMessage());
    }
  }

  @Override
  public void close() {
    consumer.close();
  }
}
