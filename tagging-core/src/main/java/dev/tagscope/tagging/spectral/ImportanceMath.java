package dev.tagscope.tagging.spectral;

import dev.tagscope.schemas.FilterImportance;
import dev.tagscope.schemas.LayerImportance;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Importance arithmetic shared by the topology and the reports (DESIGN.md section 1):
 * {@code score = fundamental + harmonic + intermodulation} (mean over windows of the summed
 * baseline-corrected amplitudes), {@code importance = score / max score of the layer} (all 0
 * when that max is {@code <= 0}), rank 1 = highest score (ties: lower filter index first).
 */
public final class ImportanceMath {
  private ImportanceMath() {}

  /**
   * Builds ranked filter importances from per-filter means.
   *
   * @param fundamental {@code [C]} mean fundamental part
   * @param harmonic {@code [C]} mean harmonic part
   * @param intermodulation {@code [C]} mean IM part
   * @param meanSnr {@code [C]} mean SNR
   * @param paperSnrDb {@code [C]} mean paper score, dB
   * @return one entry per filter, in filter order, with importance and rank set
   */
  public static List<FilterImportance> rank(double[] fundamental, double[] harmonic, double[] intermodulation,
                                            double[] meanSnr, double[] paperSnrDb) {
    List<FilterImportance> out = new ArrayList<>(fundamental.length);
    for (int c = 0; c < fundamental.length; c++) {
      out.add(FilterImportance.newBuilder()
          .setFilter(c)
          .setImportance(0)
          .setScore(fundamental[c] + harmonic[c] + intermodulation[c])
          .setFundamental(fundamental[c])
          .setHarmonic(harmonic[c])
          .setIntermodulation(intermodulation[c])
          .setMeanSnr(meanSnr[c])
          .setPaperSnrDb(paperSnrDb[c])
          .setRank(0)
          .build());
    }
    rerank(out);
    return out;
  }

  /**
   * Recomputes {@code importance} and {@code rank} of every entry in place from its {@code score}.
   *
   * @param filters the layer's filters (any order; the list order is kept)
   */
  public static void rerank(List<FilterImportance> filters) {
    double max = Double.NEGATIVE_INFINITY;
    for (FilterImportance f : filters) {
      max = Math.max(max, f.getScore());
    }
    for (FilterImportance f : filters) {
      f.setImportance(max > 0 ? f.getScore() / max : 0);
    }
    List<FilterImportance> sorted = new ArrayList<>(filters);
    sorted.sort(Comparator.comparingDouble(FilterImportance::getScore).reversed().thenComparingInt(FilterImportance::getFilter));
    for (int i = 0; i < sorted.size(); i++) {
      sorted.get(i).setRank(i + 1);
    }
  }

  /**
   * The running importance of a layer as held by an accumulator.
   *
   * @param model model name
   * @param layer layer name
   * @param lastProbeId probe of the last window folded in
   * @param updatedAtMs stimulus time of the last window folded in, epoch ms
   * @param acc the accumulator
   * @return the importance record for {@code tagscope.importance}
   */
  public static LayerImportance of(String model, String layer, String lastProbeId, long updatedAtMs, LayerAccumulator acc) {
    return LayerImportance.newBuilder()
        .setModel(model)
        .setLayer(layer)
        .setLastProbeId(lastProbeId)
        .setUpdatedAtMs(updatedAtMs)
        .setWindowsSeen(acc.windows())
        .setFilters(acc.importance())
        .build();
  }

  /**
   * Merges two running importances of one layer by means weighted on {@code windowsSeen}, then
   * recomputes importance and ranks. When the two disagree on the filters (a different filter
   * count: the model behind the name changed), the newer one replaces the older.
   *
   * @param older the running value so far
   * @param newer the value to fold in
   * @return a new record; inputs are not modified. {@code lastProbeId} comes from {@code newer},
   *     {@code modelVersion} too, {@code updatedAtMs} is the later of the two, {@code windowsSeen} the sum
   */
  public static LayerImportance merge(LayerImportance older, LayerImportance newer) {
    if (older == null || older.getWindowsSeen() <= 0) {
      return LayerImportance.newBuilder(newer).build();
    }
    if (newer == null || newer.getWindowsSeen() <= 0) {
      return LayerImportance.newBuilder(older).build();
    }
    if (older.getFilters().size() != newer.getFilters().size()) {
      return LayerImportance.newBuilder(newer).build();
    }
    double wa = older.getWindowsSeen();
    double wb = newer.getWindowsSeen();
    double total = wa + wb;
    FilterImportance[] byFilterA = byFilter(older.getFilters());
    FilterImportance[] byFilterB = byFilter(newer.getFilters());
    if (byFilterA == null || byFilterB == null) {
      return LayerImportance.newBuilder(newer).build();
    }
    List<FilterImportance> merged = new ArrayList<>(byFilterA.length);
    for (int c = 0; c < byFilterA.length; c++) {
      FilterImportance a = byFilterA[c];
      FilterImportance b = byFilterB[c];
      double f = (a.getFundamental() * wa + b.getFundamental() * wb) / total;
      double h = (a.getHarmonic() * wa + b.getHarmonic() * wb) / total;
      double im = (a.getIntermodulation() * wa + b.getIntermodulation() * wb) / total;
      merged.add(FilterImportance.newBuilder()
          .setFilter(c)
          .setImportance(0)
          .setScore(f + h + im)
          .setFundamental(f)
          .setHarmonic(h)
          .setIntermodulation(im)
          .setMeanSnr((a.getMeanSnr() * wa + b.getMeanSnr() * wb) / total)
          .setPaperSnrDb((a.getPaperSnrDb() * wa + b.getPaperSnrDb() * wb) / total)
          .setRank(0)
          .build());
    }
    rerank(merged);
    return LayerImportance.newBuilder()
        .setModel(newer.getModel())
        .setModelVersion(newer.getModelVersion())
        .setLayer(newer.getLayer())
        .setLastProbeId(newer.getLastProbeId())
        .setUpdatedAtMs(Math.max(older.getUpdatedAtMs(), newer.getUpdatedAtMs()))
        .setWindowsSeen(older.getWindowsSeen() + newer.getWindowsSeen())
        .setFilters(merged)
        .build();
  }

  /**
   * A layer's filters by their index.
   *
   * @param filters the layer's filters, any order
   * @return {@code out[c]} = the entry of filter {@code c}; null when the indices are not exactly
   *     {@code 0..C-1}, each once
   */
  public static FilterImportance[] byFilter(List<FilterImportance> filters) {
    FilterImportance[] out = new FilterImportance[filters.size()];
    for (FilterImportance f : filters) {
      int c = f.getFilter();
      if (c < 0 || c >= out.length || out[c] != null) {
        return null;
      }
      out[c] = f;
    }
    return out;
  }
}
