package dev.tagscope.schemas.fuzz;

import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * What the inputs of one fuzz test class came to, per decoder: how many, the outcomes (decoded,
 * or refused with which error), and the time spent in the decoder. {@link FuzzReport} starts a
 * fresh tally for every class and prints it when the class ends.
 */
public final class Outcomes {
  private static Outcomes current = new Outcomes();

  private final Map<String, Decoder> decoders = new TreeMap<>();

  private static final class Decoder {
    long inputs;
    long nanos;
    final Map<String, Long> outcomes = new TreeMap<>();
  }

  static synchronized Outcomes start() {
    current = new Outcomes();
    return current;
  }

  static synchronized Outcomes current() {
    return current;
  }

  /**
   * Counts one input of the running fuzz test.
   *
   * @param decoder e.g. {@code "tagscope.probes value"}
   * @param outcome e.g. {@code "decoded"} or {@code "refused: SerializationException"}
   * @param nanos time spent in the decoder
   */
  public static void record(String decoder, String outcome, long nanos) {
    Outcomes o;
    synchronized (Outcomes.class) {
      o = current;
    }
    o.add(decoder, outcome, nanos);
  }

  private synchronized void add(String decoder, String outcome, long nanos) {
    Decoder d = decoders.computeIfAbsent(decoder, k -> new Decoder());
    d.inputs++;
    d.nanos += nanos;
    d.outcomes.merge(outcome, 1L, Long::sum);
  }

  synchronized long inputs() {
    return decoders.values().stream().mapToLong(d -> d.inputs).sum();
  }

  /**
   * @param test the fuzz test's name
   * @param wallNanos how long the test ran, Jazzer's mutations and the checks included
   * @return one line for the test, then per decoder one with its inputs and rate and one per outcome
   */
  synchronized String report(String test, long wallNanos) {
    long inputs = inputs();
    StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "fuzz %s: %,d inputs in %.1f s, %,.0f inputs/s%n",
        test, inputs, wallNanos / 1e9, inputs / Math.max(wallNanos / 1e9, 1e-9)));
    decoders.forEach((name, d) -> {
      sb.append(String.format(Locale.ROOT, "  %-40s %,10d inputs, %,9.0f inputs/s in the decoder%n", name, d.inputs,
          d.inputs / Math.max(d.nanos / 1e9, 1e-9)));
      d.outcomes.forEach((outcome, n) -> sb.append(String.format(Locale.ROOT, "    %,10d  %s%n", n, outcome)));
    });
    return sb.toString();
  }
}
