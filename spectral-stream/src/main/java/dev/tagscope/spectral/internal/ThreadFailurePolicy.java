package dev.tagscope.spectral.internal;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Optional;
import java.util.function.LongSupplier;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Uncaught-exception handler of a Kafka Streams client that replaces a failed stream thread at
 * most {@code maxReplacements} times within any {@code window}, then shuts the client down.
 *
 * <p>Why a bound: a replaced thread resumes from the last commit, so an error that recurs on
 * every attempt (a poison record the topology does not catch, a corrupt store) fails the new
 * thread again at once; replacing it without end would loop forever while looking alive. A
 * transient error, spread out in time, still gets a new thread. Once the bound is hit the answer
 * is {@code SHUTDOWN_CLIENT} (every later call too), the client goes to {@code ERROR}, and
 * {@link #failure()} says why.
 *
 * <p>The handler is called on the failing stream thread; calls are serialised, so several threads
 * failing together share one budget.
 */
public final class ThreadFailurePolicy implements StreamsUncaughtExceptionHandler {
  private static final Logger LOG = LoggerFactory.getLogger(ThreadFailurePolicy.class);

  private final String name;
  private final int maxReplacements;
  private final Duration window;
  private final long windowNanos;
  private final LongSupplier nanoClock;
  private final Deque<Long> replacedAt = new ArrayDeque<>();
  private String failure;

  /**
   * @param name the client, for log and failure messages, e.g. {@code "spectral-stream"}
   * @param maxReplacements thread replacements allowed within any {@code window} (>= 0; 0 shuts
   *     the client down on the first failure)
   * @param window the sliding time window, > 0
   * @param nanoClock monotonic time in nanoseconds, e.g. {@code System::nanoTime}
   * @throws IllegalArgumentException when {@code maxReplacements < 0}, {@code window} is not
   *     positive, or an argument is null
   */
  public ThreadFailurePolicy(String name, int maxReplacements, Duration window, LongSupplier nanoClock) {
    if (name == null || nanoClock == null) {
      throw new IllegalArgumentException("name and nanoClock: required");
    }
    if (maxReplacements < 0) {
      throw new IllegalArgumentException("maxReplacements: must be >= 0, got " + maxReplacements);
    }
    if (window == null || window.isZero() || window.isNegative()) {
      throw new IllegalArgumentException("window: must be a positive duration, got " + window);
    }
    this.name = name;
    this.maxReplacements = maxReplacements;
    this.window = window;
    this.windowNanos = window.toNanos();
    this.nanoClock = nanoClock;
  }

  /**
   * Decides what happens to the client after a stream thread died of {@code e}.
   *
   * @param e what killed the thread
   * @return {@code REPLACE_THREAD} while fewer than {@code maxReplacements} replacements happened
   *     in the last {@code window}; {@code SHUTDOWN_CLIENT} from then on
   */
  @Override
  public synchronized StreamThreadExceptionResponse handle(Throwable e) {
    if (failure != null) {
      LOG.error("{}: another stream thread failed while the client is shutting down ({})", name, failure, e);
      return StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
    }
    long now = nanoClock.getAsLong();
    // subtraction, not comparison of absolute values: nanoTime may overflow
    while (!replacedAt.isEmpty() && now - replacedAt.peekFirst() >= windowNanos) {
      replacedAt.removeFirst();
    }
    if (replacedAt.size() < maxReplacements) {
      replacedAt.addLast(now);
      LOG.error("{}: stream thread failed; replacing it ({} of at most {} replacements within {})", name, replacedAt.size(),
          maxReplacements, window, e);
      return StreamThreadExceptionResponse.REPLACE_THREAD;
    }
    failure = name + ": a stream thread failed " + (replacedAt.size() + 1) + " times within " + window
        + " (at most " + maxReplacements + " replacements allowed), so the error repeats; shutting the client down. Last error: " + e;
    LOG.error(failure, e);
    return StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
  }

  /** @return why this policy shut the client down, or empty while it has not */
  public synchronized Optional<String> failure() {
    return Optional.ofNullable(failure);
  }
}
