package dev.tagscope.tagging.spectral;

import dev.tagscope.schemas.SignalBin;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntToDoubleFunction;

/** Shared spectral arithmetic of the core (package-private). */
final class Spectra {
  /** Paper-compatible baseline: 3 neighbours each side (arXiv:2411.10084). */
  static final int PAPER_NEIGHBOURS = 3;
  /** Paper-compatible baseline skips the adjacent bin. */
  static final int PAPER_SKIP = 1;
  /** Relative floor of the baseline: epsilon = 1e-9 * largest amplitude. */
  static final double RELATIVE_EPSILON = 1e-9;

  private Spectra() {}

  /** Baseline floor from the largest amplitude of the layer in the window. */
  static double epsilon(double maxAmplitude) {
    double e = RELATIVE_EPSILON * maxAmplitude;
    return e >= Double.MIN_NORMAL ? e : Double.MIN_NORMAL;
  }

  /**
   * Baseline bins of each signal bin: {@code k} eligible bins each side from distance
   * {@code skip + 1} outward; eligible = in {@code [1, W/2]} and not a signal bin.
   *
   * @return {@code [S][]} bin indices
   */
  static int[][] baselineBins(List<SignalBin> bins, int half, int k, int skip) {
    boolean[] signal = new boolean[half + 1];
    for (SignalBin b : bins) {
      signal[b.getBin()] = true;
    }
    int[][] out = new int[bins.size()][];
    for (int s = 0; s < bins.size(); s++) {
      int centre = bins.get(s).getBin();
      List<Integer> picked = new ArrayList<>(2 * k);
      for (int side = -1; side <= 1; side += 2) {
        int got = 0;
        for (int d = skip + 1; got < k; d++) {
          int idx = centre + side * d;
          if (idx < 1 || idx > half) {
            break;
          }
          if (!signal[idx]) {
            picked.add(idx);
            got++;
          }
        }
      }
      out[s] = picked.stream().mapToInt(Integer::intValue).toArray();
    }
    return out;
  }

  /** Paper neighbours: bins at distance 2..4 each side within [1, W/2], signal bins not excluded. */
  static int[][] paperBins(List<SignalBin> bins, int half) {
    int[][] out = new int[bins.size()][];
    for (int s = 0; s < bins.size(); s++) {
      int centre = bins.get(s).getBin();
      List<Integer> picked = new ArrayList<>();
      for (int side = -1; side <= 1; side += 2) {
        for (int d = PAPER_SKIP + 1; d <= PAPER_SKIP + PAPER_NEIGHBOURS; d++) {
          int idx = centre + side * d;
          if (idx >= 1 && idx <= half) {
            picked.add(idx);
          }
        }
      }
      out[s] = picked.stream().mapToInt(Integer::intValue).toArray();
    }
    return out;
  }

  /** Mean of {@code amp} over {@code idx}; 0 when there is none. */
  static double mean(IntToDoubleFunction amp, int[] idx) {
    if (idx.length == 0) {
      return 0;
    }
    double sum = 0;
    for (int i : idx) {
      sum += amp.applyAsDouble(i);
    }
    return sum / idx.length;
  }

  /**
   * Paper-compatible score of one filter in one window: mean over signal bins of
   * {@code A / max(mean of paper neighbours, eps)}, in dB as {@code 20*log10}, the mean floored at
   * {@code eps} so the result stays finite.
   */
  static double paperSnrDb(IntToDoubleFunction amp, List<SignalBin> bins, int[][] paperBins, double eps) {
    double sum = 0;
    for (int s = 0; s < bins.size(); s++) {
      double base = mean(amp, paperBins[s]);
      sum += amp.applyAsDouble(bins.get(s).getBin()) / Math.max(base, eps);
    }
    double meanSnr = bins.isEmpty() ? 0 : sum / bins.size();
    return 20 * Math.log10(Math.max(meanSnr, eps));
  }
}
