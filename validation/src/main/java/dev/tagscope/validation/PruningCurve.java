package dev.tagscope.validation;

import java.util.Comparator;
import java.util.List;
import java.util.stream.IntStream;

/**
 * Cumulative ablation (pruning) of one criterion: the filters are zeroed in order of increasing
 * criterion (least important first; ties broken by lower filter index), a fraction at a time, and
 * the accuracy is measured after each step (Li et al., ICLR 2017, "Pruning Filters for Efficient
 * ConvNets", section 4; Morcos et al., ICLR 2018, section 3.2). A criterion that ranks well keeps
 * the accuracy up longest, so a larger area under the curve is better.
 *
 * @param criterion the order's name
 * @param fractions fraction of filters zeroed at each point, ascending, the first 0
 * @param accuracy accuracy at each point, 0..1 (the first is the unablated accuracy)
 * @param spread standard deviation at each point over seeds (random orders); empty otherwise
 */
public record PruningCurve(String criterion, double[] fractions, double[] accuracy, double[] spread) {

  /**
   * The default steps: 0, 10, ..., 90 % of the filters.
   *
   * @return {@code [0.0, 0.1, ..., 0.9]}
   */
  public static double[] defaultFractions() {
    return IntStream.rangeClosed(0, 9).mapToDouble(i -> i / 10.0).toArray();
  }

  /**
   * Filters to zero at a fraction: {@code floor(fraction * C)} (with a small tolerance, so 0.3 of 10 is 3).
   *
   * @param fraction 0..1
   * @param filters C
   * @return how many filters are zeroed
   */
  public static int zeroedAt(double fraction, int filters) {
    return (int) Math.floor(fraction * filters + 1e-9);
  }

  /**
   * Filter indices from least to most important.
   *
   * @param scores {@code [C]} criterion, higher = more important
   * @return the permutation, ascending score, ties by lower index
   */
  public static int[] ascendingOrder(double[] scores) {
    return IntStream.range(0, scores.length).boxed()
        .sorted(Comparator.<Integer>comparingDouble(i -> scores[i]).thenComparingInt(i -> i))
        .mapToInt(Integer::intValue).toArray();
  }

  /**
   * The masks of a pruning curve, one per fraction after the first.
   *
   * @param order filters from least to most important
   * @param fractions the curve's fractions (the first, 0, needs no mask)
   * @return {@code [fractions.length - 1][C]}: 0 for the zeroed filters, 1 elsewhere
   */
  public static float[][] masks(int[] order, double[] fractions) {
    float[][] out = new float[fractions.length - 1][order.length];
    for (int s = 1; s < fractions.length; s++) {
      java.util.Arrays.fill(out[s - 1], 1f);
      int z = zeroedAt(fractions[s], order.length);
      for (int i = 0; i < z; i++) {
        out[s - 1][order[i]] = 0f;
      }
    }
    return out;
  }

  /**
   * Area under the curve by the trapezoid rule, divided by the fraction range, so it reads as a
   * mean accuracy over the range (0..1).
   *
   * @return the normalised area; the single accuracy when the curve has one point
   */
  public double auc() {
    if (fractions.length == 1) {
      return accuracy[0];
    }
    double area = 0;
    for (int i = 1; i < fractions.length; i++) {
      area += (fractions[i] - fractions[i - 1]) * (accuracy[i] + accuracy[i - 1]) / 2;
    }
    return area / (fractions[fractions.length - 1] - fractions[0]);
  }

  /**
   * The mean curve of several random orders, with the standard deviation per point.
   *
   * @param name the name of the mean curve, e.g. {@code random}
   * @param seeds one curve per seed, same fractions
   * @return mean accuracy and spread (sample standard deviation; 0 for one seed)
   */
  public static PruningCurve meanOf(String name, List<PruningCurve> seeds) {
    double[] f = seeds.get(0).fractions();
    double[] mean = new double[f.length];
    double[] sd = new double[f.length];
    for (int i = 0; i < f.length; i++) {
      org.apache.commons.math3.stat.descriptive.SummaryStatistics s = new org.apache.commons.math3.stat.descriptive.SummaryStatistics();
      for (PruningCurve c : seeds) {
        s.addValue(c.accuracy()[i]);
      }
      mean[i] = s.getMean();
      sd[i] = seeds.size() > 1 ? s.getStandardDeviation() : 0;
    }
    return new PruningCurve(name, f, mean, sd);
  }
}
