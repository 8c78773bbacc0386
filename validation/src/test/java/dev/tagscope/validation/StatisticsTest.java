package dev.tagscope.validation;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import org.apache.commons.math3.random.Well19937c;
import org.junit.jupiter.api.Test;

/** Class selectivity, Spearman rho, the bootstrap interval and pruning curves against values worked out by hand. */
class StatisticsTest {

  @Test
  void classSelectivityByHand() {
    // mu_max = 4, mu_-max = (1 + 1 + 1) / 3 = 1: (4 - 1) / (4 + 1) = 0.6
    assertEquals(0.6, ClassSelectivity.index(new double[] {1, 4, 1, 1}), 1e-12);
    // equal means: not selective
    assertEquals(0.0, ClassSelectivity.index(new double[] {2, 2, 2}), 1e-12);
    // fires for one class only: fully selective
    assertEquals(1.0, ClassSelectivity.index(new double[] {0, 0, 3}), 1e-12);
    // never fires: 0, not NaN
    assertEquals(0.0, ClassSelectivity.index(new double[] {0, 0}), 1e-12);
    assertThrows(IllegalArgumentException.class, () -> ClassSelectivity.index(new double[] {1, -0.5}));
    assertThrows(IllegalArgumentException.class, () -> ClassSelectivity.index(new double[] {1}));
  }

  @Test
  void spearmanByHand() {
    // ranks x = 1..5, ranks y = 1, 2, 3, 5, 4 -> d^2 = 0+0+0+1+1 = 2; rho = 1 - 6*2/(5*24) = 0.9
    assertEquals(0.9, Agreement.spearman(new double[] {1, 2, 3, 4, 5}, new double[] {10, 20, 30, 50, 40}), 1e-12);
    // monotone but not linear: 1
    assertEquals(1.0, Agreement.spearman(new double[] {1, 2, 3, 4}, new double[] {1, 8, 27, 64}), 1e-12);
    assertEquals(-1.0, Agreement.spearman(new double[] {1, 2, 3, 4}, new double[] {4, 3, 2, 1}), 1e-12);
    // ties get average ranks: x ranks 1.5 1.5 3 4, y ranks 1 2 3 4; Pearson of those = 0.9486832980505138
    assertEquals(0.9486832980505138, Agreement.spearman(new double[] {7, 7, 8, 9}, new double[] {1, 2, 3, 4}), 1e-12);
    // a constant criterion says nothing: NaN, not 0
    assertTrue(Double.isNaN(Agreement.spearman(new double[] {1, 1, 1}, new double[] {1, 2, 3})));
  }

  @Test
  void bootstrapIntervalMatchesAResamplingDoneByHand() {
    double[] x = {0.3, 1.2, 0.7, 2.5, 1.9, 0.1, 1.4, 3.3, 0.9, 2.2};
    double[] y = {0.2, 0.9, 1.1, 2.0, 1.5, 0.4, 0.8, 2.9, 0.5, 2.6};
    int resamples = 400;
    long seed = 11;
    Agreement a = Agreement.of(x, y, resamples, 0.95, seed);

    // The same resampling written out: same generator and seed, rho by ranks and Pearson, percentiles by the
    // R6 rule (position p * (n + 1), interpolated), which is Commons Math's default estimation.
    Well19937c rng = new Well19937c(seed);
    double[] rhos = new double[resamples];
    int defined = 0;
    for (int b = 0; b < resamples; b++) {
      double[] bx = new double[x.length];
      double[] by = new double[x.length];
      for (int i = 0; i < x.length; i++) {
        int j = rng.nextInt(x.length);
        bx[i] = x[j];
        by[i] = y[j];
      }
      double r = pearson(ranks(bx), ranks(by));
      if (!Double.isNaN(r)) {
        rhos[defined++] = r;
      }
    }
    double[] sorted = Arrays.copyOf(rhos, defined);
    Arrays.sort(sorted);
    assertEquals(defined, a.resamples());
    assertEquals(pearson(ranks(x), ranks(y)), a.rho(), 1e-12);
    assertEquals(r6(sorted, 0.025), a.low(), 1e-12);
    assertEquals(r6(sorted, 0.975), a.high(), 1e-12);
    assertTrue(a.low() <= a.rho() && a.rho() <= a.high(), a.toString());
  }

  @Test
  void aPerfectlyMonotoneRelationHasTheDegenerateIntervalOne() {
    double[] x = {1, 2, 3, 4, 5, 6, 7, 8};
    double[] y = {1, 4, 9, 16, 25, 36, 49, 64};
    Agreement a = Agreement.of(x, y, 200, 0.95, 3);
    assertEquals(1.0, a.rho(), 1e-12);
    assertEquals(1.0, a.low(), 1e-12);
    assertEquals(1.0, a.high(), 1e-12);
  }

  @Test
  void pruningMasksOrderAndAreaByHand() {
    double[] scores = {0.5, 0.1, 0.9, 0.1, 0.3};
    // ascending, ties by index: 1 (0.1), 3 (0.1), 4 (0.3), 0 (0.5), 2 (0.9)
    assertArrayEquals(new int[] {1, 3, 4, 0, 2}, PruningCurve.ascendingOrder(scores));
    float[][] masks = PruningCurve.masks(PruningCurve.ascendingOrder(scores), new double[] {0, 0.2, 0.4, 0.6});
    assertArrayEquals(new float[] {1, 0, 1, 1, 1}, masks[0]); // floor(0.2 * 5) = 1: filter 1
    assertArrayEquals(new float[] {1, 0, 1, 0, 1}, masks[1]); // 2: filters 1, 3
    assertArrayEquals(new float[] {1, 0, 1, 0, 0}, masks[2]); // 3: filters 1, 3, 4
    assertEquals(3, PruningCurve.zeroedAt(0.3, 10), "0.3 of 10 filters is 3 despite 0.3 * 10 = 2.9999...");
    // trapezoids: 0.1 * (0.9 + 0.8) / 2 + 0.1 * (0.8 + 0.4) / 2 = 0.145, over a range of 0.2 -> 0.725
    PruningCurve c = new PruningCurve("tag", new double[] {0, 0.1, 0.2}, new double[] {0.9, 0.8, 0.4}, new double[0]);
    assertEquals(0.725, c.auc(), 1e-12);
    PruningCurve mean = PruningCurve.meanOf("random", List.of(
        new PruningCurve("r0", new double[] {0, 0.5}, new double[] {0.9, 0.5}, new double[0]),
        new PruningCurve("r1", new double[] {0, 0.5}, new double[] {0.9, 0.7}, new double[0])));
    assertArrayEquals(new double[] {0.9, 0.6}, mean.accuracy(), 1e-12);
    // sample standard deviation of {0.5, 0.7}: sqrt(((0.1)^2 + (0.1)^2) / 1) = 0.1414...
    assertArrayEquals(new double[] {0, Math.sqrt(0.02)}, mean.spread(), 1e-12);
  }

  @Test
  void crossEntropyAndArgmaxByHand() {
    // logits (0, ln 3): softmax (1/4, 3/4); -ln(3/4) for class 1, -ln(1/4) for class 0
    float[] z = {0f, (float) Math.log(3)};
    assertEquals(-Math.log(0.75), Validator.crossEntropy(z, 1), 1e-6);
    assertEquals(-Math.log(0.25), Validator.crossEntropy(z, 0), 1e-6);
    assertEquals(1, Validator.argmax(z));
    // large logits do not overflow
    assertEquals(0.0, Validator.crossEntropy(new float[] {1000f, 0f}, 0), 1e-9);
  }

  private static double[] ranks(double[] v) {
    double[] r = new double[v.length];
    for (int i = 0; i < v.length; i++) {
      int less = 0;
      int equal = 0;
      for (double w : v) {
        less += w < v[i] ? 1 : 0;
        equal += w == v[i] ? 1 : 0;
      }
      r[i] = less + (equal + 1) / 2.0;
    }
    return r;
  }

  private static double pearson(double[] a, double[] b) {
    double ma = Arrays.stream(a).average().orElse(0);
    double mb = Arrays.stream(b).average().orElse(0);
    double sab = 0;
    double saa = 0;
    double sbb = 0;
    for (int i = 0; i < a.length; i++) {
      sab += (a[i] - ma) * (b[i] - mb);
      saa += (a[i] - ma) * (a[i] - ma);
      sbb += (b[i] - mb) * (b[i] - mb);
    }
    return saa == 0 || sbb == 0 ? Double.NaN : sab / Math.sqrt(saa * sbb);
  }

  /** Hyndman and Fan's R6 quantile: position p (n + 1), linear between neighbours, clamped to the ends. */
  private static double r6(double[] sorted, double p) {
    double pos = p * (sorted.length + 1);
    if (pos < 1) {
      return sorted[0];
    }
    if (pos >= sorted.length) {
      return sorted[sorted.length - 1];
    }
    int lo = (int) Math.floor(pos);
    double frac = pos - lo;
    return sorted[lo - 1] + frac * (sorted[lo] - sorted[lo - 1]);
  }
}
