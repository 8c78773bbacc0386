package dev.tagscope.spectral.internal;

import static org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.REPLACE_THREAD;
import static org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The clock is a counter the test moves by hand: no test here waits for time to pass. */
class ThreadFailurePolicyTest {
  static final long MIN = Duration.ofMinutes(1).toNanos();

  final AtomicLong clock = new AtomicLong(Long.MAX_VALUE - 5 * MIN); // overflows during the test, as nanoTime may
  final ThreadFailurePolicy policy = new ThreadFailurePolicy("spectral-stream", 3, Duration.ofMinutes(10), clock::get);

  @Test
  void anErrorOnEveryAttemptGetsThreeReplacementsThenTheClientShutsDown() {
    RuntimeException poison = new IllegalStateException("poison record at offset 42");
    assertEquals(REPLACE_THREAD, policy.handle(poison));
    assertEquals(REPLACE_THREAD, policy.handle(poison));
    assertEquals(REPLACE_THREAD, policy.handle(poison));
    assertTrue(policy.failure().isEmpty());
    assertEquals(SHUTDOWN_CLIENT, policy.handle(poison));
    String why = policy.failure().orElseThrow();
    assertTrue(why.contains("failed 4 times within PT10M") && why.contains("at most 3 replacements"), why);
    assertTrue(why.contains("poison record at offset 42"), why);
    // once given up, it stays given up, even much later
    clock.addAndGet(60 * MIN);
    assertEquals(SHUTDOWN_CLIENT, policy.handle(new RuntimeException("other")));
    assertEquals(why, policy.failure().orElseThrow());
  }

  @Test
  void replacementsOlderThanTheWindowNoLongerCount() {
    RuntimeException e = new RuntimeException("transient");
    assertEquals(REPLACE_THREAD, policy.handle(e)); // t = 0
    clock.addAndGet(4 * MIN);
    assertEquals(REPLACE_THREAD, policy.handle(e)); // t = 4
    clock.addAndGet(4 * MIN);
    assertEquals(REPLACE_THREAD, policy.handle(e)); // t = 8: 3 within 10 min
    clock.addAndGet(2 * MIN);
    assertEquals(REPLACE_THREAD, policy.handle(e)); // t = 10: the one at t = 0 is 10 min old, out of the window
    clock.addAndGet(2 * MIN - 1);
    // t = 12 - 1 ns: replacements at 4, 8 and 10 are all within 10 min
    assertEquals(SHUTDOWN_CLIENT, policy.handle(e));
  }

  @Test
  void zeroReplacementsShutsDownOnTheFirstFailure() {
    ThreadFailurePolicy none = new ThreadFailurePolicy("x", 0, Duration.ofSeconds(1), clock::get);
    assertEquals(SHUTDOWN_CLIENT, none.handle(new RuntimeException("boom")));
    assertTrue(none.failure().orElseThrow().contains("boom"));
  }

  @Test
  void badLimitsRefused() {
    assertThrows(IllegalArgumentException.class, () -> new ThreadFailurePolicy("x", -1, Duration.ofSeconds(1), clock::get));
    assertThrows(IllegalArgumentException.class, () -> new ThreadFailurePolicy("x", 1, Duration.ZERO, clock::get));
    assertThrows(IllegalArgumentException.class, () -> new ThreadFailurePolicy("x", 1, null, clock::get));
  }
}
