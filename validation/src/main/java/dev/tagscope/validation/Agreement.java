package dev.tagscope.validation;

import java.util.Arrays;
import org.apache.commons.math3.random.RandomGenerator;
import org.apache.commons.math3.random.Well19937c;
import org.apache.commons.math3.stat.correlation.SpearmansCorrelation;
import org.apache.commons.math3.stat.descriptive.rank.Percentile;

/**
 * How well one per-filter criterion predicts per-filter ablation damage: Spearman's rank
 * correlation (ties get their average rank; Commons Math {@link SpearmansCorrelation}) with a
 * percentile bootstrap interval over filters (Efron and Tibshirani, "An Introduction to the
 * Bootstrap", 1993, section 13.3): the layer's filters are resampled with replacement
 * {@code resamples} times, rho is recomputed on each resample, and the interval is the
 * {@code (1-confidence)/2} and {@code (1+confidence)/2} percentiles of those rhos. Resamples on
 * which rho is undefined (a constant criterion or damage in the resample) are left out.
 *
 * @param rho Spearman rho on all filters; NaN when either series is constant
 * @param low lower end of the interval; NaN when no resample gave a defined rho
 * @param high upper end of the interval
 * @param resamples resamples with a defined rho
 */
public record Agreement(double rho, double low, double high, int resamples) {

  /**
   * Spearman rho of two series of equal length.
   *
   * @param x criterion per filter
   * @param y damage per filter
   * @return rho in [-1, 1], NaN when fewer than 2 filters or either series is constant
   * @throws IllegalArgumentException when the lengths differ
   */
  public static double spearman(double[] x, double[] y) {
    if (x.length != y.length) {
      throw new IllegalArgumentException("series of " + x.length + " and " + y.length + " filters");
    }
    if (x.length < 2 || constant(x) || constant(y)) {
      return Double.NaN;
    }
    return new SpearmansCorrelation().correlation(x, y);
  }

  /**
   * Rho with its percentile bootstrap interval.
   *
   * @param x criterion per filter
   * @param y damage per filter
   * @param resamples bootstrap resamples, at least 1 (1,000 is the usual choice)
   * @param confidence e.g. 0.95
   * @param seed seed of the resampling (Well19937c), so a report is repeatable
   * @return the agreement
   * @throws IllegalArgumentException when the lengths differ, {@code resamples < 1} or
   *     {@code confidence} is not in (0, 1)
   */
  public static Agreement of(double[] x, double[] y, int resamples, double confidence, long seed) {
    if (resamples < 1) {
      throw new IllegalArgumentException("bootstrap resamples must be >= 1, got " + resamples);
    }
    if (!(confidence > 0 && confidence < 1)) {
      throw new IllegalArgumentException("confidence must be in (0, 1), got " + confidence);
    }
    double rho = spearman(x, y);
    int n = x.length;
    RandomGenerator rng = new Well19937c(seed);
    double[] rhos = new double[resamples];
    int defined = 0;
    double[] bx = new double[n];
    double[] by = new double[n];
    for (int b = 0; b < resamples && n >= 2; b++) {
      for (int i = 0; i < n; i++) {
        int j = rng.nextInt(n);
        bx[i] = x[j];
        by[i] = y[j];
      }
      double r = spearman(bx, by);
      if (!Double.isNaN(r)) {
        rhos[defined++] = r;
      }
    }
    if (defined == 0) {
      return new Agreement(rho, Double.NaN, Double.NaN, 0);
    }
    double[] sample = Arrays.copyOf(rhos, defined);
    // Percentile's default estimation (R6 in Hyndman and Fan 1996) interpolates between order statistics.
    Percentile p = new Percentile();
    p.setData(sample);
    double alpha = (1 - confidence) / 2;
    return new Agreement(rho, p.evaluate(100 * alpha), p.evaluate(100 * (1 - alpha)), defined);
  }

  private static boolean constant(double[] v) {
    for (double d : v) {
      if (d != v[0]) {
        return false;
      }
    }
    return true;
  }
}
