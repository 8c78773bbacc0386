package dev.tagscope.service;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.OffsetAndTimestamp;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads every partition of some topics without a consumer group: assigns them itself, starts
 * each at a chosen {@link StartPosition}, picks up partitions that appear later (a topic created
 * after the start, partitions added), and says when the partitions assigned at the start were
 * read up to the end they had then. The dashboard's topic reader, the worker's probe cache and
 * the demo's tag-response collector are built on it.
 *
 * <pre>{@code
 * PartitionCatchUp<byte[], byte[]> reader = new PartitionCatchUp<>("dashboard", consumer,
 *     Map.of("tagscope.importance", StartPosition.beginning(),
 *            "tagscope.tag-responses", StartPosition.lastRecords(2000)),
 *     Duration.ofSeconds(5));
 * while (running) {
 *   for (ConsumerRecord<byte[], byte[]> r : reader.poll(Duration.ofMillis(200))) { ... }
 *   if (reader.caughtUpWithStart()) { ... everything that was there at the start is read ... }
 * }
 * }</pre>
 *
 * <p>A topic created later is found at the next look-up. Partitions added to a topic the consumer
 * already reads are found once the consumer refreshes its metadata, every
 * {@code metadata.max.age.ms} (Kafka's default 5 minutes; lower it on the consumer to see them
 * sooner): the look-up reads the consumer's metadata and sends no request for topics it knows.
 *
 * <p>Offsets are resolved when a partition is assigned, with {@code beginningOffsets},
 * {@code endOffsets} and {@code offsetsForTimes}, and the partition is positioned with
 * {@code seek}: never a lazy {@code seekToEnd}, which the consumer would resolve at its next poll
 * and so skip what was written in between. For a {@code read_committed} consumer the end offset
 * is the last stable offset. The consumer must not subscribe to topics and needs no group (see
 * {@link KafkaClientPolicy#readCommittedConsumer(String)} with {@code null}); this class assigns
 * and polls it but never closes it. Not thread-safe: use it on the consumer's thread.
 *
 * @param <K> record key type
 * @param <V> record value type
 */
public final class PartitionCatchUp<K, V> {
  /** Interval between partition look-ups in {@link #poll(Duration)} while a topic does not exist: 1 s. */
  public static final Duration LOOKUP_WHILE_MISSING = Duration.ofSeconds(1);
  /** Interval between partition look-ups in {@link #poll(Duration)} once every topic exists: 10 s. */
  public static final Duration LOOKUP_INTERVAL = Duration.ofSeconds(10);
  /** Longest single poll of {@link #readToCurrentEnd(Duration, java.util.function.Consumer)}: 100 ms. */
  private static final Duration READ_POLL = Duration.ofMillis(100);
  private static final Logger LOG = LoggerFactory.getLogger(PartitionCatchUp.class);

  private final String name;
  private final Consumer<K, V> consumer;
  private final Map<String, StartPosition> topics;
  private final Duration requestTimeout;
  private final Set<TopicPartition> assigned = new LinkedHashSet<>();
  private final Map<TopicPartition, Long> startOffsets = new HashMap<>();
  private final Map<TopicPartition, Long> endsAtAssignment = new HashMap<>();
  /** End offsets of the partitions assigned at the start, not yet reached; removed once reached. */
  private final Map<TopicPartition, Long> startTargets = new HashMap<>();
  private boolean lookedUp;
  private long nextLookupNanos;

  /**
   * Configures the reader; nothing is looked up before {@link #assignNewPartitions()} or
   * {@link #poll(Duration)}.
   *
   * @param name who reads, for the log (e.g. {@code "dashboard"})
   * @param consumer a consumer without a group subscription; polled here, closed by the caller
   * @param topics each topic to read with where its partitions start, in look-up order
   * @param requestTimeout longest wait of each metadata and offset request
   * @throws IllegalArgumentException when {@code topics} is empty or the timeout is negative
   */
  public PartitionCatchUp(String name, Consumer<K, V> consumer, Map<String, StartPosition> topics, Duration requestTimeout) {
    this.name = Objects.requireNonNull(name, "name");
    this.consumer = Objects.requireNonNull(consumer, "consumer");
    if (topics == null || topics.isEmpty()) {
      throw new IllegalArgumentException("topics: give at least one topic with its start position");
    }
    if (requestTimeout == null || requestTimeout.isNegative()) {
      throw new IllegalArgumentException("requestTimeout must be a duration >= 0, got " + requestTimeout);
    }
    this.topics = Collections.unmodifiableMap(new LinkedHashMap<>(topics));
    this.requestTimeout = requestTimeout;
  }

  /**
   * Looks up the partitions of every topic and assigns those not assigned yet, each at its
   * topic's start position, keeping the others where they are. The partitions of the first
   * call are the ones {@link #caughtUpWithStart()} waits for (those that held records between
   * their start and their end then); partitions found later are read by the same rule.
   *
   * @return the topics that have no partitions yet (do not exist), in look-up order; empty when all exist
   * @throws org.apache.kafka.common.KafkaException when the cluster does not answer within the request timeout
   */
  public Set<String> assignNewPartitions() {
    List<TopicPartition> fresh = new ArrayList<>();
    Set<String> missing = new LinkedHashSet<>();
    for (String topic : topics.keySet()) {
      List<PartitionInfo> infos = consumer.partitionsFor(topic, requestTimeout);
      if (infos == null || infos.isEmpty()) {
        if (!lookedUp) {
          LOG.info("{}: topic {} does not exist yet; it is picked up once created", name, topic);
        }
        missing.add(topic);
        continue;
      }
      for (PartitionInfo p : infos) {
        TopicPartition tp = new TopicPartition(p.topic(), p.partition());
        if (!assigned.contains(tp)) {
          fresh.add(tp);
        }
      }
    }
    if (!fresh.isEmpty()) {
      assignAtStart(fresh);
    }
    lookedUp = true;
    nextLookupNanos = System.nanoTime() + (missing.isEmpty() ? LOOKUP_INTERVAL : LOOKUP_WHILE_MISSING).toNanos();
    return missing;
  }

  /** Resolves the start and end offsets of the fresh partitions first, so a failed request leaves the assignment as it was. */
  private void assignAtStart(List<TopicPartition> fresh) {
    Map<TopicPartition, Long> begin = consumer.beginningOffsets(fresh, requestTimeout);
    Map<TopicPartition, Long> end = consumer.endOffsets(fresh, requestTimeout);
    Map<TopicPartition, Long> timeQuery = new HashMap<>();
    for (TopicPartition tp : fresh) {
      StartPosition at = topics.get(tp.topic());
      if (at.kind == StartPosition.Kind.TIMESTAMP) {
        timeQuery.put(tp, at.value);
      }
    }
    Map<TopicPartition, OffsetAndTimestamp> byTime =
        timeQuery.isEmpty() ? Map.of() : consumer.offsetsForTimes(timeQuery, requestTimeout);
    assigned.addAll(fresh);
    consumer.assign(new ArrayList<>(assigned));
    for (TopicPartition tp : fresh) {
      StartPosition at = topics.get(tp.topic());
      long b = begin.getOrDefault(tp, 0L);
      long e = end.getOrDefault(tp, b);
      long start = at.offset(b, e, byTime.get(tp));
      consumer.seek(tp, start);
      startOffsets.put(tp, start);
      endsAtAssignment.put(tp, e);
      if (!lookedUp && e > start) {
        startTargets.put(tp, e);
      }
      LOG.info("{} reads {} from offset {} ({}; beginning {}, end {})", name, tp, start, at, b, e);
    }
  }

  /**
   * Looks up partitions when due ({@link #LOOKUP_WHILE_MISSING} while a topic is missing,
   * {@link #LOOKUP_INTERVAL} after; at once on the first call), then polls. With nothing
   * assigned yet (no topic exists) it waits {@code timeout} instead, since a consumer without an
   * assignment may not poll.
   *
   * @param timeout longest wait for records
   * @return the records fetched, possibly none
   * @throws org.apache.kafka.common.KafkaException as {@link Consumer#poll(Duration)} and the look-up
   */
  public ConsumerRecords<K, V> poll(Duration timeout) {
    if (!lookedUp || System.nanoTime() - nextLookupNanos >= 0) {
      assignNewPartitions();
    }
    if (assigned.isEmpty()) {
      try {
        Thread.sleep(timeout.toMillis());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      return ConsumerRecords.empty();
    }
    return consumer.poll(timeout);
  }

  /**
   * Polls the partitions assigned so far, without looking up new ones.
   *
   * @param timeout longest wait for records
   * @return the records fetched; none at once when nothing is assigned
   */
  public ConsumerRecords<K, V> pollAssigned(Duration timeout) {
    return assigned.isEmpty() ? ConsumerRecords.empty() : consumer.poll(timeout);
  }

  /**
   * Whether every partition assigned by the first {@link #assignNewPartitions()} was read up to
   * the end offset it had then. Partitions found later, and records written after the start, do
   * not count.
   *
   * @return true once they all were (at once when there was nothing to read); false before the first look-up
   */
  public boolean caughtUpWithStart() {
    if (!lookedUp) {
      return false;
    }
    startTargets.entrySet().removeIf(t -> consumer.position(t.getKey(), requestTimeout) >= t.getValue());
    return startTargets.isEmpty();
  }

  /**
   * Reads every assigned partition up to its end offset of now, handing each record to
   * {@code each}. Looks up no new partitions: call {@link #assignNewPartitions()} first.
   *
   * @param timeout longest wait in all, besides the end-offset request
   * @param each told every record read, in poll order
   * @return true when the ends were reached in time; false when they were not or nothing is assigned
   */
  public boolean readToCurrentEnd(Duration timeout, java.util.function.Consumer<? super ConsumerRecord<K, V>> each) {
    if (assigned.isEmpty()) {
      return false;
    }
    Map<TopicPartition, Long> end = consumer.endOffsets(assigned, requestTimeout);
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      if (reached(end)) {
        return true;
      }
      if (System.nanoTime() - deadline > 0) {
        return false;
      }
      for (ConsumerRecord<K, V> r : consumer.poll(READ_POLL)) {
        each.accept(r);
      }
    }
  }

  private boolean reached(Map<TopicPartition, Long> ends) {
    for (Map.Entry<TopicPartition, Long> e : ends.entrySet()) {
      if (consumer.position(e.getKey(), requestTimeout) < e.getValue()) {
        return false;
      }
    }
    return true;
  }

  /**
   * The partitions assigned so far.
   *
   * @return an unmodifiable view, in assignment order
   */
  public Set<TopicPartition> assignment() {
    return Collections.unmodifiableSet(assigned);
  }

  /**
   * Where each assigned partition started.
   *
   * @return partition to the offset it was positioned at when assigned (a copy)
   */
  public Map<TopicPartition, Long> startOffsets() {
    return Map.copyOf(startOffsets);
  }

  /**
   * The end offset of each assigned partition when it was assigned (the last stable offset for
   * a {@code read_committed} consumer).
   *
   * @return partition to end offset (a copy)
   */
  public Map<TopicPartition, Long> endOffsetsAtAssignment() {
    return Map.copyOf(endsAtAssignment);
  }

  /**
   * Where a partition is first read from: the beginning, the last records, or the first record at
   * or after a time. Immutable.
   */
  public static final class StartPosition {
    private enum Kind { BEGINNING, LAST, TIMESTAMP }

    private static final StartPosition BEGINNING = new StartPosition(Kind.BEGINNING, 0);

    private final Kind kind;
    private final long value;

    private StartPosition(Kind kind, long value) {
      this.kind = kind;
      this.value = value;
    }

    /**
     * The first offset still in the log (a compacted topic's state).
     *
     * @return the position
     */
    public static StartPosition beginning() {
      return BEGINNING;
    }

    /**
     * The last {@code count} offsets before the end, or the beginning when the log holds fewer:
     * {@code max(beginning, end - count)}. Transaction markers take offsets too, so a
     * transactional topic replays somewhat fewer than {@code count} records.
     *
     * @param count offsets to replay, 0 for none (start at the end)
     * @return the position
     * @throws IllegalArgumentException when negative
     */
    public static StartPosition lastRecords(long count) {
      if (count < 0) {
        throw new IllegalArgumentException("count must be >= 0 records to replay, got " + count);
      }
      return new StartPosition(Kind.LAST, count);
    }

    /**
     * The first record whose timestamp is at or after {@code timestampMs}; a partition holding
     * none starts at its end as resolved at assignment.
     *
     * @param timestampMs record time, epoch milliseconds
     * @return the position
     * @throws IllegalArgumentException when negative (Kafka refuses negative timestamps in this look-up)
     */
    public static StartPosition firstAtOrAfter(long timestampMs) {
      if (timestampMs < 0) {
        throw new IllegalArgumentException("timestampMs must be >= 0 (epoch ms), got " + timestampMs);
      }
      return new StartPosition(Kind.TIMESTAMP, timestampMs);
    }

    long offset(long beginning, long end, OffsetAndTimestamp found) {
      return switch (kind) {
        case BEGINNING -> beginning;
        case LAST -> Math.max(beginning, end - value);
        case TIMESTAMP -> found != null ? found.offset() : end;
      };
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof StartPosition s && s.kind == kind && s.value == value;
    }

    @Override
    public int hashCode() {
      return kind.hashCode() * 31 + Long.hashCode(value);
    }

    @Override
    public String toString() {
      return switch (kind) {
        case BEGINNING -> "from the beginning";
        case LAST -> "the last " + value + " offsets";
        case TIMESTAMP -> "from the first record at or after " + value + " ms";
      };
    }
  }
}
