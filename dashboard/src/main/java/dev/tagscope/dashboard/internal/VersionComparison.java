package dev.tagscope.dashboard.internal;

import dev.tagscope.schemas.FilterImportance;
import dev.tagscope.schemas.LayerImportance;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.commons.math3.exception.MathIllegalArgumentException;
import org.apache.commons.math3.stat.correlation.SpearmansCorrelation;
import org.apache.commons.math3.stat.ranking.NaNStrategy;
import org.apache.commons.math3.stat.ranking.NaturalRanking;
import org.apache.commons.math3.stat.ranking.TiesStrategy;

/**
 * How far two rankings of one layer agree: Spearman's rank correlation of the filter scores
 * (ties get their average rank; Commons Math {@link SpearmansCorrelation}) and the top-k
 * overlap, the same two measures the spectral stream reports per history bucket against its
 * reference (issue 9; DESIGN.md section 1b for Spearman).
 *
 * <p>Only filters present in both rankings are compared (a layer's filter count does not change
 * between versions of one architecture; should it, the filters both have are what can be compared).
 *
 * @param filters filters present in both rankings
 * @param topK the k used: the one asked for, at most {@code filters}
 * @param rho Spearman rho, -1..1; NaN when fewer than 2 filters are shared, a side is constant,
 *     or a score is NaN
 * @param topKOverlap |top-k of a intersect top-k of b| / k, 0..1; NaN when no filter is shared
 */
record VersionComparison(int filters, int topK, double rho, double topKOverlap) {
  /** The Spearman correlation used: average ranks for ties, NaN scores refused (rho is then NaN). */
  private static final SpearmansCorrelation SPEARMAN =
      new SpearmansCorrelation(new NaturalRanking(NaNStrategy.FAILED, TiesStrategy.AVERAGE));

  /**
   * Compares two rankings of one layer.
   *
   * @param a one version's running importance
   * @param b the other's
   * @param k size of the top sets, &gt;= 1; capped at the number of shared filters
   * @return the comparison
   * @throws IllegalArgumentException when {@code k < 1}
   */
  static VersionComparison of(LayerImportance a, LayerImportance b, int k) {
    if (k < 1) {
      throw new IllegalArgumentException("k must be >= 1, got " + k);
    }
    Map<Integer, FilterImportance> inB = new HashMap<>();
    for (FilterImportance f : b.getFilters()) {
      inB.put(f.getFilter(), f);
    }
    List<FilterImportance> sharedA = new ArrayList<>();
    List<FilterImportance> sharedB = new ArrayList<>();
    for (FilterImportance f : a.getFilters()) {
      FilterImportance g = inB.get(f.getFilter());
      if (g != null) {
        sharedA.add(f);
        sharedB.add(g);
      }
    }
    int n = sharedA.size();
    double rho = Double.NaN;
    if (n >= 2) {
      double[] x = new double[n];
      double[] y = new double[n];
      for (int i = 0; i < n; i++) {
        x[i] = sharedA.get(i).getScore();
        y[i] = sharedB.get(i).getScore();
      }
      try {
        rho = SPEARMAN.correlation(x, y);
      } catch (MathIllegalArgumentException e) {
        rho = Double.NaN; // a NaN score: no rank order to compare
      }
    }
    int kk = Math.min(k, n);
    double overlap = Double.NaN;
    if (kk > 0) {
      Set<Integer> topA = top(sharedA, kk);
      Set<Integer> topB = top(sharedB, kk);
      topA.retainAll(topB);
      overlap = topA.size() / (double) kk;
    }
    return new VersionComparison(n, kk, rho, overlap);
  }

  /** The k best filters in the dashboard's ranking order: rank ascending, importance descending, filter index. */
  private static Set<Integer> top(List<FilterImportance> filters, int k) {
    List<FilterImportance> sorted = new ArrayList<>(filters);
    sorted.sort(DashboardView.RANKING_ORDER);
    Set<Integer> out = new HashSet<>();
    for (int i = 0; i < k; i++) {
      out.add(sorted.get(i).getFilter());
    }
    return out;
  }
}
