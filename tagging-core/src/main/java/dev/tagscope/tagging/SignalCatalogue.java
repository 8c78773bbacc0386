package dev.tagscope.tagging;

import dev.tagscope.schemas.ComponentKind;
import dev.tagscope.schemas.SignalBin;
import java.math.BigDecimal;
import java.math.MathContext;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.StringJoiner;

/**
 * The catalogue of signal bins of a frequency-tagging plan (DESIGN.md section 1; Böge et al.,
 * arXiv:2411.10084, sec. 3): where in the spectrum of a filter's response a tag can show up.
 *
 * <ul>
 *   <li>fundamentals {@code f_r}, one per region, labelled {@code "f1"}, {@code "f2"}, ...;
 *   <li>harmonics {@code n*f_r}, {@code n = 2..maxHarmonic}, labelled {@code "2f1"}, {@code "3f2"};
 *   <li>intermodulation (IM) terms {@code n*f_i + m*f_j} and {@code |n*f_i - m*f_j|} for every pair
 *       of regions {@code i < j}, {@code n, m >= 1}, order {@code n + m <= maxImOrder}, labelled
 *       {@code "f1+f2"}, {@code "2f1-f2"}, {@code "f2-f1"} (the sign is written so the value is
 *       positive: with 6 and 7.5 Hz, {@code "f2-f1"} is 1.5 Hz and {@code "2f1-f2"} is 4.5 Hz).
 * </ul>
 *
 * <p>Order of the list: fundamentals in region order; harmonics by {@code n}, then region;
 * IM terms by order, then frequency. {@link SignalBin#getOrder()} is 1 for a fundamental,
 * {@code n} for a harmonic and {@code n + m} for an IM term; {@link SignalBin#getBin()} is the
 * FFT bin {@code f * W / fps} (an exact integer) and {@link SignalBin#getFrequencyHz()} that bin's
 * centre {@code bin * fps / W} in Hz.
 *
 * <p>Example: 6 and 7.5 Hz at 120 fps, {@code W = 240} frames, {@code maxHarmonic = 4},
 * {@code maxImOrder = 4} gives 2 fundamentals, 6 harmonics and 12 IM terms, 20 bins in all.
 */
public final class SignalCatalogue {
  /** Tolerance on {@code f * W / fps} being an integer, in bins. */
  public static final double BIN_TOLERANCE = 1e-9;
  private static final int MAX_PERIOD_SEARCH = 1_000_000;

  private SignalCatalogue() {}

  /**
   * Validates a plan and lists all its signal bins.
   *
   * @param frequenciesHz tag frequency {@code f_r} of each region, in Hz, region order (non-empty)
   * @param fps frames per second of stimulus time (> 0)
   * @param windowFrames {@code W}, frames per FFT window (even, >= 2)
   * @param maxHarmonic {@code H}: harmonics {@code n*f_r} for {@code n = 2..H}; 1 means none
   * @param maxImOrder {@code M}: IM terms of order {@code n + m <= M}; 0 or 1 means none
   * @return the signal bins in catalogue order (fundamentals, harmonics, IM)
   * @throws PlanException naming the field and the fix when {@code fps <= 0}; {@code W < 2} or odd;
   *     {@code maxHarmonic < 1} or {@code maxImOrder < 0}; a frequency is missing, not finite or
   *     {@code <= 0}; a fundamental is not on an exact bin (the message gives the smallest
   *     multiple of frames that puts every tag frequency on a bin); a component is at or above
   *     Nyquist {@code fps/2}; an IM term is at 0 Hz; two different components share one bin
   */
  public static List<SignalBin> build(double[] frequenciesHz, double fps, int windowFrames,
                                      int maxHarmonic, int maxImOrder) {
    WindowGeometry.of(fps, windowFrames, 0, 0); // PlanException for fps or windowFrames, checked in one place
    if (maxHarmonic < 1) {
      throw new PlanException("maxHarmonic", "must be >= 1 (1 = fundamentals only, no harmonics), got " + maxHarmonic);
    }
    if (maxImOrder < 0) {
      throw new PlanException("maxImOrder", "must be >= 0 (0 or 1 = no intermodulation terms), got " + maxImOrder);
    }
    if (frequenciesHz == null || frequenciesHz.length == 0) {
      throw new PlanException("frequencies", "give one tag frequency per region (e.g. 6 and 7.5 Hz)");
    }
    for (int r = 0; r < frequenciesHz.length; r++) {
      double f = frequenciesHz[r];
      if (!(f > 0) || Double.isInfinite(f)) {
        throw new PlanException("frequencies", "tag frequency f" + (r + 1) + " must be a finite number of Hz > 0, got " + fmt(f));
      }
    }
    int half = windowFrames / 2;
    int n = frequenciesHz.length;
    long[] bins = new long[n];
    checkOnBins(frequenciesHz, fps, windowFrames, bins);

    double binWidth = fps / windowFrames;
    for (int r = 0; r < n; r++) {
      if (bins[r] == 0) {
        throw new PlanException("frequencies", "f" + (r + 1) + " = " + fmt(frequenciesHz[r]) + " Hz is below the bin width "
            + fmt(binWidth) + " Hz of a " + windowFrames + "-frame window at " + fmt(fps) + " fps (DC bin): choose a higher tag frequency or a longer window");
      }
    }
    List<Term> terms = new ArrayList<>();
    // Fundamentals.
    for (int r = 0; r < n; r++) {
      terms.add(new Term("f" + (r + 1), ComponentKind.FUNDAMENTAL, bins[r], 1));
    }
    checkCollisions(terms, binWidth);
    double maxComponent = maxComponentHz(frequenciesHz, maxHarmonic, maxImOrder);
    String fpsFix = "raise fps above " + fmt(2 * maxComponent) + " (and keep every tag frequency on an exact bin)";
    for (Term t : terms) {
      if (t.bin >= half) {
        throw new PlanException("fps", "fundamental " + t.label + " = " + fmt(t.bin * binWidth) + " Hz is at or above Nyquist (fps/2 = "
            + fmt(fps / 2) + " Hz): " + fpsFix + ", or choose tag frequencies below " + fmt(fps / 2) + " Hz");
      }
    }
    // Harmonics, by n then region; the walk stops at the first n that reaches Nyquist.
    for (int h = 2; h <= maxHarmonic; h++) {
      for (int r = 0; r < n; r++) {
        long b = h * bins[r];
        String label = h + "f" + (r + 1);
        if (b >= half) {
          throw new PlanException("maxHarmonic", "harmonic " + label + " = " + fmt(h * frequenciesHz[r]) + " Hz is at or above Nyquist (fps/2 = "
              + fmt(fps / 2) + " Hz): set maxHarmonic to " + (h - 1) + (h - 1 == 1 ? " (no harmonics)" : "") + ", or " + fpsFix);
        }
        terms.add(new Term(label, ComponentKind.HARMONIC, b, h));
      }
    }
    // IM terms, order by order.
    for (int order = 2; order <= maxImOrder && n >= 2; order++) {
      List<Term> ofOrder = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        for (int j = i + 1; j < n; j++) {
          for (int a = 1; a < order; a++) {
            int m = order - a;
            String ti = coef(a) + "f" + (i + 1);
            String tj = coef(m) + "f" + (j + 1);
            long sum = a * bins[i] + m * bins[j];
            long diff = a * bins[i] - m * bins[j];
            String sumLabel = ti + "+" + tj;
            String diffLabel = diff >= 0 ? ti + "-" + tj : tj + "-" + ti;
            if (diff == 0) {
              throw new PlanException("maxImOrder", "intermodulation term " + diffLabel + " is at 0 Hz (" + ti + " = " + tj + " = "
                  + fmt(a * frequenciesHz[i]) + " Hz), where no response can be told from the mean: set maxImOrder to " + (order - 1)
                  + ", or choose tag frequencies that are not in a " + m + ":" + a + " ratio");
            }
            for (Term t : List.of(new Term(sumLabel, ComponentKind.INTERMODULATION, sum, order),
                new Term(diffLabel, ComponentKind.INTERMODULATION, Math.abs(diff), order))) {
              if (t.bin >= half) {
                throw new PlanException("maxImOrder", "intermodulation term " + t.label + " = " + fmt(t.bin * binWidth)
                    + " Hz is at or above Nyquist (fps/2 = " + fmt(fps / 2) + " Hz): set maxImOrder to " + (order - 1)
                    + (order - 1 < 2 ? " (no intermodulation terms)" : "") + ", or " + fpsFix);
              }
              ofOrder.add(t);
            }
          }
        }
      }
      ofOrder.sort(Comparator.comparingLong((Term t) -> t.bin));
      terms.addAll(ofOrder);
    }
    checkCollisions(terms, binWidth);

    List<SignalBin> out = new ArrayList<>(terms.size());
    for (Term t : terms) {
      out.add(SignalBin.newBuilder()
          .setLabel(t.label)
          .setKind(t.kind)
          .setFrequencyHz(t.bin * fps / windowFrames)
          .setBin((int) t.bin)
          .setOrder(t.order)
          .build());
    }
    return out;
  }

  /**
   * The smallest window, in frames, that puts every given frequency on an exact FFT bin at
   * {@code fps} and is even (the real FFT needs an even {@code W}).
   *
   * @param frequenciesHz tag frequencies in Hz (> 0)
   * @param fps frames per second (> 0)
   * @return the smallest such {@code W}; every valid {@code W} is a multiple of it
   * @throws PlanException ("frequencies") when no window up to 1,000,000 frames works, i.e. a
   *     frequency is not (close to) a rational multiple of {@code fps}
   */
  public static long smallestWindow(double[] frequenciesHz, double fps) {
    long lcm = 2;
    for (int r = 0; r < frequenciesHz.length; r++) {
      long q = period(frequenciesHz[r], fps);
      if (q < 0) {
        throw new PlanException("frequencies", "no window of up to " + MAX_PERIOD_SEARCH + " frames puts f" + (r + 1) + " = "
            + fmt(frequenciesHz[r]) + " Hz on an exact bin at " + fmt(fps) + " fps; choose a tag frequency that is a simple fraction of fps"
            + " (e.g. fps/20 = " + fmt(fps / 20) + " Hz)");
      }
      lcm = lcm / gcd(lcm, q) * q;
    }
    return lcm;
  }

  private static void checkOnBins(double[] freqs, double fps, int w, long[] bins) {
    StringJoiner off = new StringJoiner(", ");
    for (int r = 0; r < freqs.length; r++) {
      double x = freqs[r] * w / fps;
      long b = Math.round(x);
      if (Math.abs(x - b) > BIN_TOLERANCE) {
        off.add("f" + (r + 1) + " = " + fmt(freqs[r]) + " Hz (bin " + fmt(x) + ")");
      }
      bins[r] = b;
    }
    if (off.length() > 0) {
      long l = smallestWindow(freqs, fps);
      long next = ((w + l - 1) / l) * l;
      StringJoiner all = new StringJoiner(" and ");
      for (double f : freqs) {
        all.add(fmt(f));
      }
      throw new PlanException("windowFrames", off + " not on an exact bin of a " + w + "-frame window: W must be a multiple of "
          + l + " frames at " + fmt(fps) + " fps for " + all + " Hz (e.g. " + next + ")");
    }
  }

  private static void checkCollisions(List<Term> terms, double binWidth) {
    Map<Long, Term> seen = new HashMap<>();
    for (Term t : terms) {
      Term prev = seen.putIfAbsent(t.bin, t);
      if (prev != null) {
        String field = fieldOf(t.kind.ordinal() >= prev.kind.ordinal() ? t : prev);
        StringJoiner fixes = new StringJoiner(", or ");
        fixes.add("choose tag frequencies whose terms fall on distinct bins");
        for (Term x : List.of(prev, t)) {
          if (x.kind == ComponentKind.HARMONIC) {
            fixes.add("set maxHarmonic to " + (x.order - 1));
          } else if (x.kind == ComponentKind.INTERMODULATION) {
            fixes.add("set maxImOrder to " + (x.order - 1));
          }
        }
        throw new PlanException(field, prev.label + " = " + t.label + " = " + fmt(t.bin * binWidth) + " Hz (both on bin " + t.bin
            + "), so their responses cannot be told apart: " + fixes);
      }
    }
  }

  private static String fieldOf(Term t) {
    switch (t.kind) {
      case HARMONIC: return "maxHarmonic";
      case INTERMODULATION: return "maxImOrder";
      default: return "frequencies";
    }
  }

  private static double maxComponentHz(double[] f, int maxHarmonic, int maxImOrder) {
    double first = 0;
    double second = 0;
    for (double x : f) {
      if (x > first) {
        second = first;
        first = x;
      } else if (x > second) {
        second = x;
      }
    }
    double max = first * Math.max(1, maxHarmonic);
    if (f.length >= 2 && maxImOrder >= 2) {
      max = Math.max(max, (maxImOrder - 1) * first + second);
    }
    return max;
  }

  /** Smallest q with f*q/fps an integer (within tolerance), or -1. */
  private static long period(double f, double fps) {
    for (long q = 1; q <= MAX_PERIOD_SEARCH; q++) {
      double x = f * q / fps;
      if (Math.abs(x - Math.rint(x)) <= BIN_TOLERANCE) {
        return q;
      }
    }
    return -1;
  }

  private static long gcd(long a, long b) {
    while (b != 0) {
      long t = a % b;
      a = b;
      b = t;
    }
    return a;
  }

  private static String coef(int c) {
    return c == 1 ? "" : Integer.toString(c);
  }

  /** Formats a number without trailing zeros: 6, 7.5, 0.333333333. */
  static String fmt(double v) {
    if (Double.isNaN(v) || Double.isInfinite(v)) {
      return Double.toString(v);
    }
    if (v == Math.rint(v) && Math.abs(v) < 1e15) {
      return Long.toString((long) v);
    }
    return new BigDecimal(v).round(new MathContext(9)).stripTrailingZeros().toPlainString();
  }

  private record Term(String label, ComponentKind kind, long bin, int order) {}
}
