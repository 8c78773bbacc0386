package dev.tagscope.launcher;

import java.util.Arrays;

/** The benchmarks' one timing rule: calls per second as the median of timed rounds after a warm-up round. */
final class Timing {
  private Timing() {}

  /**
   * Calls per second of {@code op}.
   *
   * @param op the operation
   * @param roundSeconds length of one round, seconds (&gt; 0)
   * @param rounds timed rounds after one warm-up round (&gt;= 1)
   * @return the median over the rounds, calls/s
   */
  static double callsPerSecond(Runnable op, double roundSeconds, int rounds) {
    long roundNanos = (long) (roundSeconds * 1e9);
    double[] rates = new double[rounds];
    for (int r = -1; r < rounds; r++) {
      long calls = 0;
      long start = System.nanoTime();
      long now;
      do {
        op.run();
        calls++;
        now = System.nanoTime();
      } while (now - start < roundNanos);
      if (r >= 0) {
        rates[r] = calls / ((now - start) / 1e9);
      }
    }
    Arrays.sort(rates);
    return rates[rounds / 2];
  }
}
