package dev.tagscope.producer.internal;

import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

/**
 * The producer's two waits before a frame is sent: a paced frame waits for its deadline on the
 * monotonic clock; an unpaced one waits while its record timestamp (stimulus time) is more than
 * the allowed lead ahead of the wall clock. Both park in steps of at most 50 ms and give up when
 * asked to stop or interrupted.
 */
public final class Pacing {
  private Pacing() {}

  /**
   * Parks until the monotonic clock reaches {@code deadline}.
   *
   * @param deadlineNanos a {@link System#nanoTime()} value
   * @param stopping true once the caller should stop
   * @return true at the deadline; false when stopped or interrupted meanwhile
   */
  public static boolean waitUntil(long deadlineNanos, BooleanSupplier stopping) {
    while (true) {
      if (stopping.getAsBoolean() || Thread.currentThread().isInterrupted()) {
        return false;
      }
      long left = deadlineNanos - System.nanoTime();
      if (left <= 0) {
        return true;
      }
      LockSupport.parkNanos(Math.min(left, 50_000_000L));
    }
  }

  /**
   * Parks while {@code timestampMs} is more than {@code leadMs} ahead of the wall clock.
   *
   * @param timestampMs the frame's record timestamp, epoch ms
   * @param leadMs the most it may lead the wall clock, ms
   * @param stopping true once the caller should stop
   * @return true once within the lead; false when stopped or interrupted meanwhile
   */
  public static boolean waitForLead(long timestampMs, long leadMs, BooleanSupplier stopping) {
    if (timestampMs - System.currentTimeMillis() <= leadMs) {
      return true;
    }
    while (true) {
      if (stopping.getAsBoolean() || Thread.currentThread().isInterrupted()) {
        return false;
      }
      long left = timestampMs - leadMs - System.currentTimeMillis();
      if (left <= 0) {
        return true;
      }
      LockSupport.parkNanos(Math.min(left, 50L) * 1_000_000L);
    }
  }
}
