package dev.tagscope.dashboard.internal;

import java.util.List;

/**
 * The JSON documents of the dashboard's HTTP API, as immutable records that Jackson writes
 * field by field. Non-finite doubles (an SNR over a zero baseline, say) are written as
 * {@code null}, never as the invalid JSON tokens {@code NaN} or {@code Infinity}.
 */
public final class ApiModel {
  private ApiModel() {}

  /** One tagged region of a probe: pixel bounds [x0,x1) x [y0,y1), tag frequency in Hz, phase in rad. */
  public record RegionSummary(String name, int x0, int y0, int x1, int y1, Double frequencyHz, Double phaseRad) {}

  /** One signal bin of a probe's plan: label, kind, frequency (Hz), FFT bin index and order |n|+|m|. */
  public record SignalBinSummary(String label, String kind, Double frequencyHz, int bin, int order) {}

  /**
   * A probe as the page shows it.
   *
   * @param fps frames per second of stimulus time
   * @param windowFrames W, frames per FFT window
   * @param hopFrames frames between window starts
   * @param windowSeconds W / fps, in seconds
   * @param binWidthHz fps / W, in Hz
   */
  public record ProbeSummary(
      String id, String model, String layout, List<RegionSummary> regions,
      Double fps, int windowFrames, int hopFrames, int framesPerImage, Double windowSeconds, Double binWidthHz,
      String reduction, List<String> layers, int imageCount, boolean continuous,
      int maxHarmonic, int maxImOrder, int baselineBins, int baselineSkip,
      List<SignalBinSummary> signalBins) {}

  /**
   * One layer of one model version with a known importance.
   *
   * @param version the model version ({@code ""} for records of workers that did not say)
   * @param windowsSeen windows folded into the importance so far
   * @param filters number of filters (channels) in the importance record
   * @param updatedAt stimulus time of the last window folded in, ISO-8601 UTC
   * @param updatedAtMs the same, epoch milliseconds
   * @param lastProbeId probe of the last window folded in
   * @param probes probes with a tag response for this model version and layer, sorted
   * @param historyBuckets buckets of {@code tagscope.importance-history} held for this model version and layer
   * @param alertOpen whether the latest alert of this model and layer is {@code RAISED} and names this version
   */
  public record LayerSummary(
      String model, String version, String layer, long windowsSeen, int filters, String updatedAt, long updatedAtMs,
      String lastProbeId, List<String> probes, int historyBuckets, boolean alertOpen) {}

  /**
   * One ranked filter. The parts add up to {@code score} (sum of baseline-corrected amplitudes,
   * activation units); {@code importance} is score / the layer's top score.
   */
  public record FilterRow(
      int rank, int filter, Double importance, Double score, Double fundamental, Double harmonic,
      Double intermodulation, Double meanSnr, Double paperSnrDb) {}

  /** A layer's filters, best first (rank ascending), for one model version ({@code ""}: none given). */
  public record ImportanceView(
      String model, String version, String layer, long windowsSeen, String updatedAt, long updatedAtMs, String lastProbeId,
      List<FilterRow> filters) {}

  /**
   * One signal bin of one filter's latest window.
   *
   * @param amplitude A(b) at the bin, activation units
   * @param baseline mean amplitude of the neighbouring non-signal bins
   * @param snr amplitude / max(baseline, epsilon)
   * @param corrected baseline-corrected amplitude, amplitude - baseline
   */
  public record SpectrumBin(
      String label, String kind, int bin, Double frequencyHz, int order,
      Double amplitude, Double baseline, Double snr, Double corrected) {}

  /**
   * The latest window of one filter: the amplitude spectrum A(b) for b = 0..W/2 on the frequency
   * axis b * fps / W (Hz), and the signal bins with their measures.
   *
   * @param responsesSeen tag responses of this probe and layer seen since the dashboard started
   *     (replay included)
   */
  public record SpectrumView(
      String probe, String model, String layer, int filter, String imageId, int windowStartFrame,
      int windowFrames, Double fps, Double binWidthHz, long responsesSeen,
      double[] frequencyHz, List<Float> amplitude, List<SpectrumBin> signalBins) {}

  /**
   * How well one importance criterion predicts the damage of zeroing each filter of a layer
   * (Spearman rank correlation over the layer's filters; DESIGN.md section 2, validation topic).
   * A null rho is one the validation could not define (a constant criterion, say).
   *
   * @param criterion e.g. {@code tag}, {@code mean-activation}, {@code weight-l1}, {@code random}
   * @param rho Spearman rho against the mean cross-entropy increase, -1..1
   * @param rhoLow lower end of the 95 % percentile bootstrap interval over filters
   * @param rhoHigh upper end of that interval
   * @param rhoAccuracy Spearman rho against the accuracy drop
   */
  public record CriterionRow(String criterion, Double rho, Double rhoLow, Double rhoHigh, Double rhoAccuracy) {}

  /**
   * Cumulative ablation: filters zeroed in order of increasing importance by one criterion, the
   * accuracy after each step. The three lists run parallel; {@code spread} is empty except for
   * {@code random}.
   *
   * @param fractions fraction of the filters zeroed at each point, 0..1
   * @param accuracy accuracy at each point, 0..1; the first point is the unablated accuracy
   * @param spread standard deviation over random seeds at each point, accuracy units
   * @param auc area under accuracy(fraction) divided by the fraction range (a mean accuracy, 0..1)
   */
  public record PruningCurveView(
      String criterion, List<Double> fractions, List<Double> accuracy, List<Double> spread, Double auc) {}

  /**
   * The latest validation of one layer (layer {@code *}: the whole network, pruning curves only).
   *
   * @param generatedAt wall-clock time the validation finished, ISO-8601 UTC
   * @param generatedAtMs the same, epoch milliseconds
   * @param images labelled images each single-filter ablation was measured on
   * @param curveImages labelled images each point of a pruning curve was measured on
   * @param probeImages images the tag scores were probed with
   * @param filters filters (channels) of the layer; for {@code *} all tapped filters
   * @param baseAccuracy accuracy of the unablated model, 0..1
   * @param baseCrossEntropy mean cross-entropy of the unablated model, nats
   * @param defaultCriterion the criterion the dashboard's ranking uses, normally {@code tag}
   * @param criteria one row per criterion, in the order of the record
   * @param pruning one curve per criterion, in the order of the record
   */
  public record ValidationView(
      String model, String layer, String generatedAt, long generatedAtMs, int images, int curveImages,
      int probeImages, int filters, Double baseAccuracy, Double baseCrossEntropy, String defaultCriterion,
      List<CriterionRow> criteria, List<PruningCurveView> pruning) {}

  /**
   * One time bucket of a layer's history (DESIGN.md section 2, importance-history topic): its
   * stability against the reference ranking, null while the bucket is itself part of the reference.
   *
   * @param bucketStartMs start of the bucket, stimulus time, epoch ms
   * @param bucketStart the same, ISO-8601 UTC
   * @param bucketMs bucket length, ms
   * @param windowsSeen windows folded into the bucket
   * @param referenceVersion the version of the reference ranking; null while in the reference
   * @param rho Spearman rho of the bucket's filter scores against the reference's, -1..1
   * @param topK k of the top-k overlap (0 while in the reference)
   * @param topKOverlap |top-k of the bucket intersect top-k of the reference| / k, 0..1
   */
  public record BucketPoint(
      long bucketStartMs, String bucketStart, long bucketMs, long windowsSeen, String referenceVersion, Double rho,
      int topK, Double topKOverlap) {}

  /**
   * One filter's importance through a layer's history, parallel to {@link HistoryView#buckets()}.
   *
   * @param filter filter (channel) index
   * @param latestRank its rank in the latest bucket, 1 = most important
   * @param importance per bucket score / the bucket's top score (0..1); null where the bucket lacks the filter
   * @param rank per bucket its rank; null where the bucket lacks the filter
   */
  public record FilterSeries(int filter, int latestRank, List<Double> importance, List<Integer> rank) {}

  /**
   * The history of one layer of one model version: buckets oldest first and the importance of
   * the latest bucket's top filters in each.
   *
   * @param keptBuckets the most buckets the dashboard holds per model version and layer (older ones are dropped)
   * @param threshold rho below which an alert is raised: the latest alert's of this model and
   *     layer, else {@link dev.tagscope.dashboard.internal.DashboardView#DEFAULT_ALERT_THRESHOLD}
   * @param thresholdFromAlert whether {@code threshold} came from an alert (false: the default)
   * @param top the latest bucket's top filters, best first
   */
  public record HistoryView(
      String model, String version, String layer, int keptBuckets, Double threshold, boolean thresholdFromAlert,
      List<BucketPoint> buckets, List<FilterSeries> top) {}

  /**
   * A filter whose rank moved, as an alert reports it.
   *
   * @param referenceRank its rank in the reference, 1 = most important
   * @param rank its rank in the bucket that raised or cleared the alert
   */
  public record FilterMoveView(int filter, int referenceRank, int rank, Double referenceImportance, Double importance) {}

  /**
   * One alert of {@code tagscope.alerts}.
   *
   * @param state {@code RAISED} or {@code CLEARED}
   * @param version the version whose bucket raised or cleared it
   * @param bucketStartMs start of that bucket, stimulus time, epoch ms
   * @param bucketStart the same, ISO-8601 UTC
   * @param open whether this is the latest alert of its model and layer and {@code RAISED}
   * @param movers the filters that moved most, largest |rank - referenceRank| first
   */
  public record AlertView(
      String state, String model, String version, String referenceVersion, String layer, long bucketStartMs,
      String bucketStart, long bucketMs, Double rho, Double threshold, int topK, Double topKOverlap, boolean open,
      List<FilterMoveView> movers) {}

  /**
   * Two versions of a model side by side on one layer: how far their latest running rankings
   * agree, and both rankings.
   *
   * @param filters filters present in both rankings, the ones compared
   * @param topK k of the overlap: the k asked for, at most {@code filters}
   * @param rho Spearman rho between the two versions' filter scores (average ranks for ties);
   *     null when fewer than 2 filters are shared or a side is constant
   * @param topKOverlap |top-k of a intersect top-k of b| / k; null when no filter is shared
   * @param a the first version's ranking, best first
   * @param b the second version's ranking, best first
   */
  public record CompareView(
      String model, String layer, String versionA, String versionB, int filters, int topK, Double rho,
      Double topKOverlap, ImportanceView a, ImportanceView b) {}

  /**
   * The small payload of one server-sent event.
   *
   * @param type {@code probe}, {@code importance}, {@code tag-response}, {@code validation},
   *     {@code history}, {@code alert}, {@code top-examples} or {@code probe-image}
   * @param version the model version ({@code ""}: records without one); null for a probe or a validation
   * @param windowsSeen for importance and history: windows folded in; for a tag response: responses
   *     seen for that probe and layer; otherwise 0
   */
  public record ChangeEvent(String type, String model, String version, String layer, String probe, long windowsSeen) {}

  /**
   * One of a filter's top examples: a probed image that excited it most so far (the compacted
   * {@code tagscope.top-examples}), with its label from {@code tagscope.probe-images}.
   *
   * @param probe probe id
   * @param imageId image id within the probe
   * @param activation mean over the image's frames of the filter's reduced value, layer units
   * @param frames frames the mean is over
   * @param label class label (index into the model's class names); null when unknown or the image is not held
   * @param className the model's name of that label; null when the dashboard has no class names
   * @param imageUrl {@code /api/probe-image?...} of the image; null when the image is not held
   * @param width image width in pixels (0 when not held)
   * @param height image height in pixels (0 when not held)
   */
  public record ExampleView(String probe, String imageId, Double activation, int frames, Integer label, String className,
      String imageUrl, int width, int height) {}

  /**
   * A filter's visualisation from the folder {@code tagscope visualize} wrote.
   *
   * @param url {@code /api/visualization?...} of its PNG
   * @param method e.g. {@code activation-maximisation}
   * @param rank tag rank the index recorded, 1 = most important
   * @param importance score / top score the index recorded
   * @param activation the objective the visualisation reached, layer units
   * @param meanSampleActivation the same objective's mean over the labelled sample images, for scale
   */
  public record VisualizationView(String url, String method, Integer rank, Double importance, Double activation,
      Double meanSampleActivation) {}

  /**
   * Two cells a filter combines: their IM terms' summed baseline-corrected amplitude.
   *
   * @param first region name of the lower-numbered region, e.g. {@code r0c1}
   * @param second region name of the other
   * @param amplitude summed corrected amplitude of the pair's IM terms, activation units
   */
  public record ImPairView(String first, String second, Double amplitude) {}

  /**
   * Where a filter looks: its {@code SpatialMap} (tagging-core) computed from the latest window
   * of a probe whose regions lie on a grid (halves, quadrants, {@code grid:RxC}).
   *
   * @param probe probe whose tag response it is
   * @param imageId image of that window
   * @param imageUrl {@code /api/probe-image?...} of that image, null when not held
   * @param windowStartFrame first frame of the window in its image
   * @param windowFrames W
   * @param rows map rows (row 0 at the top of the image)
   * @param cols map columns
   * @param cells {@code [rows][cols]} baseline-corrected amplitude at the fundamental of the cell's
   *     region, activation units; null for a cell without a region
   * @param regions {@code [rows][cols]} the region name of each cell; null for none
   * @param imPairs the strongest IM pairs, strongest first (at most {@code SpatialMap.IM_PAIRS})
   */
  public record SpatialMapView(String probe, String imageId, String imageUrl, int windowStartFrame, int windowFrames,
      int rows, int cols, List<List<Double>> cells, List<List<String>> regions, List<ImPairView> imPairs) {
    /**
     * @param url the image's URL
     * @return a copy with {@code imageUrl} set
     */
    public SpatialMapView withImageUrl(String url) {
      return new SpatialMapView(probe, imageId, url, windowStartFrame, windowFrames, rows, cols, cells, regions, imPairs);
    }
  }

  /**
   * Everything the filter panel shows about one filter of one layer of one model version.
   *
   * @param rank tag rank in the running importance, 1 = most important; null when the importance lacks the filter
   * @param importance score / top score; null likewise
   * @param score summed baseline-corrected amplitude; null likewise
   * @param k most examples kept per filter by the stream; 0 when no top examples are known
   * @param imagesSeen images folded into the top examples, over all probes
   * @param examples the top examples, highest activation first; empty when none are known
   * @param visualization null when the visualisations folder has none for this filter
   * @param map null when no probe of this model version with a placed layout has a tag response for the layer
   * @param classesKnown whether the dashboard has the model's class names
   */
  public record FilterDetailView(String model, String version, String layer, int filter, Integer rank, Double importance,
      Double score, int k, long imagesSeen, List<ExampleView> examples, VisualizationView visualization,
      SpatialMapView map, boolean classesKnown) {}

  /**
   * The model's class names the dashboard was given.
   *
   * @param classes class names by label (logit index); empty when not given
   */
  public record ClassesView(List<String> classes) {}

  /** Body of every error response. */
  public record ErrorBody(int status, String error) {}

  /**
   * @return {@code v} when finite, else null (JSON has no NaN or Infinity)
   */
  static Double finite(double v) {
    return Double.isFinite(v) ? v : null;
  }

  /**
   * @return {@code values} with every non-finite or null item as null, as an unmodifiable list
   *     (JSON has no NaN or Infinity; {@code List.copyOf} would refuse the nulls)
   */
  static List<Double> finite(List<Double> values) {
    List<Double> out = new java.util.ArrayList<>(values.size());
    for (Double v : values) {
      out.add(v == null ? null : finite(v));
    }
    return java.util.Collections.unmodifiableList(out);
  }
}
