package dev.tagscope.spectral.internal;

import dev.tagscope.schemas.FilterImportance;
import dev.tagscope.schemas.FilterMove;
import dev.tagscope.schemas.LayerImportance;
import dev.tagscope.tagging.spectral.ImportanceMath;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.apache.commons.math3.stat.correlation.SpearmansCorrelation;

/**
 * How far a layer's filter ranking in one bucket moved from its reference ranking.
 *
 * <ul>
 *   <li>{@code rho}: Spearman's rank correlation of the filters' scores in the bucket and in the
 *       reference, ties at their average rank (Commons Math {@link SpearmansCorrelation} with its
 *       default {@code NaturalRanking}); without ties it equals {@code 1 - 6 Σd² / (n (n² - 1))}
 *       (Spearman 1904). NaN when it is undefined: fewer than two filters, or one side's scores all
 *       equal.</li>
 *   <li>top-k overlap: {@code |top-k of the bucket ∩ top-k of the reference| / k}, top-k by
 *       {@code rank} (1 = highest score, ties by lower filter index: {@code ImportanceMath}),
 *       {@code k = min(topK, filters)}.</li>
 *   <li>movers: the filters with the largest {@code |rank - referenceRank|} (ties by lower filter
 *       index), those that did not move left out.</li>
 * </ul>
 *
 * @param rho Spearman rho, NaN when undefined
 * @param topK the k used
 * @param topKOverlap the top-k overlap, 0 to 1
 * @param movers up to the requested number of filters, largest move first
 */
public record RankStability(double rho, int topK, double topKOverlap, List<FilterMove> movers) {

  /**
   * Compares a bucket's ranking with the reference's.
   *
   * @param bucket the bucket's importance (filters {@code 0..C-1}, ranks set)
   * @param reference the reference importance of the same layer
   * @param topK requested k (>= 1)
   * @param movers filters to list (>= 1)
   * @return the comparison, or null when the two do not hold the same filters {@code 0..C-1} (the
   *     layer changed its filter count: nothing to compare)
   */
  public static RankStability compare(LayerImportance bucket, LayerImportance reference, int topK, int movers) {
    FilterImportance[] now = ImportanceMath.byFilter(bucket.getFilters());
    FilterImportance[] ref = ImportanceMath.byFilter(reference.getFilters());
    if (now == null || ref == null || now.length != ref.length || now.length == 0) {
      return null;
    }
    int n = now.length;
    double[] x = new double[n];
    double[] y = new double[n];
    for (int c = 0; c < n; c++) {
      x[c] = now[c].getScore();
      y[c] = ref[c].getScore();
    }
    double rho = n < 2 ? Double.NaN : new SpearmansCorrelation().correlation(x, y);
    int k = Math.min(topK, n);
    int both = 0;
    for (int c = 0; c < n; c++) {
      if (now[c].getRank() <= k && ref[c].getRank() <= k) {
        both++;
      }
    }
    List<FilterMove> moved = new ArrayList<>();
    for (int c = 0; c < n; c++) {
      if (now[c].getRank() != ref[c].getRank()) {
        moved.add(FilterMove.newBuilder().setFilter(c).setReferenceRank(ref[c].getRank()).setRank(now[c].getRank())
            .setReferenceImportance(ref[c].getImportance()).setImportance(now[c].getImportance()).build());
      }
    }
    moved.sort(Comparator.comparingInt((FilterMove m) -> Math.abs(m.getRank() - m.getReferenceRank())).reversed()
        .thenComparingInt(FilterMove::getFilter));
    return new RankStability(rho, k, (double) both / k, List.copyOf(moved.subList(0, Math.min(movers, moved.size()))));
  }
}
