package dev.tagscope.producer.internal;

import dev.tagscope.producer.Sampling;
import java.util.HashMap;
import java.util.Map;

/**
 * The state of a {@link Sampling} over the requests one producer reads: a record counter per
 * partition (every k-th) or the last slot probed (N per minute); the rules are {@link Sampling}'s.
 * Not thread-safe: the poll thread's.
 */
public final class RequestSampler {
  private final Sampling sampling;
  private final Map<Integer, Long> seen = new HashMap<>();
  private long lastSlot = Long.MIN_VALUE;

  /**
   * @param sampling the rule
   */
  public RequestSampler(Sampling sampling) {
    this.sampling = sampling;
  }

  /**
   * Whether the next record read is probed; call once per record, in the order read.
   *
   * @param partition the record's partition
   * @param timestampMs the record's timestamp, epoch ms (-1 when it has none)
   * @return true when it is probed
   */
  public boolean sample(int partition, long timestampMs) {
    if (sampling.isEveryK()) {
      long n = seen.merge(partition, 1L, Long::sum) - 1;
      return n % sampling.everyK() == 0;
    }
    if (timestampMs < 0) {
      return false;
    }
    long slot = (long) Math.floor(timestampMs / sampling.slotMs());
    if (slot <= lastSlot) {
      return false;
    }
    lastSlot = slot;
    return true;
  }

  /**
   * Starts counting a partition afresh (every k-th): the next record read of it is probed. Call
   * when the partition is assigned.
   *
   * @param partition the partition
   */
  public void restart(int partition) {
    seen.remove(partition);
  }
}
