package dev.tagscope.dashboard.internal;

import dev.tagscope.dashboard.internal.ApiModel.AlertView;
import dev.tagscope.dashboard.internal.ApiModel.ChangeEvent;
import dev.tagscope.dashboard.internal.ApiModel.CompareView;
import dev.tagscope.dashboard.internal.ApiModel.CriterionRow;
import dev.tagscope.dashboard.internal.ApiModel.FilterRow;
import dev.tagscope.dashboard.internal.ApiModel.HistoryView;
import dev.tagscope.dashboard.internal.ApiModel.ImportanceView;
import dev.tagscope.dashboard.internal.ApiModel.LayerSummary;
import dev.tagscope.dashboard.internal.ApiModel.ProbeSummary;
import dev.tagscope.dashboard.internal.ApiModel.PruningCurveView;
import dev.tagscope.dashboard.internal.ApiModel.RegionSummary;
import dev.tagscope.dashboard.internal.ApiModel.SignalBinSummary;
import dev.tagscope.dashboard.internal.ApiModel.SpectrumBin;
import dev.tagscope.dashboard.internal.ApiModel.SpectrumView;
import dev.tagscope.dashboard.internal.ApiModel.ValidationView;
import dev.tagscope.schemas.CriterionAgreement;
import dev.tagscope.schemas.FilterImportance;
import dev.tagscope.schemas.FilterResponse;
import dev.tagscope.schemas.ImportanceBucket;
import dev.tagscope.schemas.LayerImportance;
import dev.tagscope.schemas.LayerValidation;
import dev.tagscope.schemas.ProbeSpec;
import dev.tagscope.schemas.PruningCurve;
import dev.tagscope.schemas.RankAlert;
import dev.tagscope.schemas.Region;
import dev.tagscope.schemas.SignalBin;
import dev.tagscope.schemas.TagResponse;
import dev.tagscope.schemas.Topics;
import dev.tagscope.tagging.AnalysisPlan;
import dev.tagscope.tagging.spectral.SpatialMap;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * The dashboard's in-memory picture of the topics: every probe seen (the compacted
 * {@code tagscope.probes}), per model, version and layer the latest {@link LayerImportance} (the
 * compacted {@code tagscope.importance}), and per probe and layer the latest
 * {@link TagResponse} (for spectra), and per model and layer the latest
 * {@link LayerValidation} (the compacted {@code tagscope.validation}: how far the ranking
 * predicts ablation damage). The latest record wins, in the order the reader hands them over,
 * which is offset order within a key's partition. Besides, per model, version and layer the
 * latest {@link ImportanceBucket}s of {@code tagscope.importance-history} (the ranking over
 * time and its stability), and the latest {@link RankAlert}s of {@code tagscope.alerts}; per
 * model, version and layer the latest top examples of {@code tagscope.top-examples}, and the probe
 * images of {@code tagscope.probe-images} they show ({@link ExampleStore}).
 *
 * <p>Thread-safe: one reader thread writes, HTTP threads read. Readers get immutable
 * {@link ApiModel} documents. Each accepted change is passed to the listeners on the writing
 * thread; listeners must not block.
 *
 * <p>Memory: one {@code TagResponse} per probe and layer, i.e. filters x (W/2 + 1) floats plus
 * the signal-bin measures, for at most {@link #DEFAULT_MAX_RESPONSE_PROBES} probes (the ones
 * most recently heard from; an older probe's spectra are forgotten, so a long campaign with
 * many probes does not grow the heap without bound); one {@code LayerImportance} and at most
 * one {@code LayerValidation} per model and layer; at most {@code historyBuckets} buckets per
 * model, version and layer (default {@link #DEFAULT_HISTORY_BUCKETS}, 24 h of 60-s buckets;
 * 16 bytes per filter and bucket, see {@link HistoryStore}) and {@link #MAX_ALERTS} alerts in all;
 * one {@code TopExamples} per model, version and layer, the probe images they name, and other
 * probe images up to {@link ExampleStore#DEFAULT_UNREFERENCED_BYTES} bytes of pixels.
 */
public final class DashboardView {

  /** A lookup that found nothing; the HTTP layer answers 404 with the message. */
  public static final class NotFoundException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    /** @param message what is unknown, e.g. {@code unknown probe 'p1'} */
    public NotFoundException(String message) {
      super(message);
    }
  }

  private record ModelLayer(String model, String layer) {}

  /**
   * The order of a ranking: rank ascending, ties by importance descending, then by filter index.
   */
  static final Comparator<FilterImportance> RANKING_ORDER = Comparator.comparingInt(FilterImportance::getRank)
      .thenComparing(Comparator.comparingDouble(FilterImportance::getImportance).reversed())
      .thenComparingInt(FilterImportance::getFilter);

  private record ProbeLayer(String probe, String layer) {}

  /** @param seq order of arrival over all probes and layers, larger = later */
  private record ResponseEntry(TagResponse latest, long count, long seq) {}

  /** Probes whose tag responses are kept, by default: the most recently updated ones. */
  public static final int DEFAULT_MAX_RESPONSE_PROBES = 32;
  /** History buckets kept per model, version and layer by default: 24 h of 60-s buckets. */
  public static final int DEFAULT_HISTORY_BUCKETS = 1440;
  /** Alerts kept in all (the oldest to arrive goes first). */
  public static final int MAX_ALERTS = 1000;
  /**
   * The alert threshold shown on a layer's stability line until an alert of the layer says
   * which one the stream uses: the stream's default rho threshold (issue 9).
   */
  public static final double DEFAULT_ALERT_THRESHOLD = 0.8;
  /** Filters whose importance a history shows by default: the latest bucket's best 8. */
  public static final int DEFAULT_HISTORY_TOP = 8;
  /** k of the top-k overlap of two versions by default: the spectral stream's default {@code --top-k}. */
  public static final int DEFAULT_COMPARE_TOP_K = 8;

  private final int maxResponseProbes;
  private final HistoryStore history;
  /** Probes with kept tag responses, least recently updated first; guarded by itself. */
  private final LinkedHashMap<String, Boolean> responseProbes = new LinkedHashMap<>(16, 0.75f, true);
  private final Map<String, ProbeSpec> probes = new ConcurrentHashMap<>();
  private final LatestPerLayer<LayerId, LayerImportance> importanceTopic = new LatestPerLayer<>();
  private final Map<ProbeLayer, ResponseEntry> responses = new ConcurrentHashMap<>();
  private final LatestPerLayer<ModelLayer, LayerValidation> validationTopic = new LatestPerLayer<>();
  private final List<Consumer<ChangeEvent>> listeners = new CopyOnWriteArrayList<>();
  private final ExampleStore examples = new ExampleStore(ExampleStore.DEFAULT_UNREFERENCED_BYTES);
  private final java.util.concurrent.atomic.AtomicLong responseSeq = new java.util.concurrent.atomic.AtomicLong();

  /**
   * A view that keeps tag responses of {@link #DEFAULT_MAX_RESPONSE_PROBES} probes and
   * {@link #DEFAULT_HISTORY_BUCKETS} history buckets per layer.
   */
  public DashboardView() {
    this(DEFAULT_MAX_RESPONSE_PROBES, DEFAULT_HISTORY_BUCKETS);
  }

  /**
   * @param maxResponseProbes how many probes' tag responses to keep (&gt;= 1); when a further
   *     probe's response arrives, the probe least recently heard from is forgotten
   * @throws IllegalArgumentException when {@code maxResponseProbes < 1}
   */
  public DashboardView(int maxResponseProbes) {
    this(maxResponseProbes, DEFAULT_HISTORY_BUCKETS);
  }

  /**
   * @param maxResponseProbes how many probes' tag responses to keep (&gt;= 1); when a further
   *     probe's response arrives, the probe least recently heard from is forgotten
   * @param historyBuckets how many history buckets to keep per model, version and layer (&gt;= 1):
   *     the latest by bucket start
   * @throws IllegalArgumentException when {@code maxResponseProbes < 1} or {@code historyBuckets < 1}
   */
  public DashboardView(int maxResponseProbes, int historyBuckets) {
    if (maxResponseProbes < 1) {
      throw new IllegalArgumentException("maxResponseProbes must be >= 1, got " + maxResponseProbes);
    }
    if (historyBuckets < 1) {
      throw new IllegalArgumentException("historyBuckets must be >= 1, got " + historyBuckets);
    }
    this.maxResponseProbes = maxResponseProbes;
    this.history = new HistoryStore(historyBuckets, MAX_ALERTS);
  }

  /**
   * Registers a listener told of every accepted change.
   *
   * @param listener called on the writer's thread; must not block
   */
  public void addListener(Consumer<ChangeEvent> listener) {
    listeners.add(Objects.requireNonNull(listener, "listener"));
  }

  // ---------------------------------------------------------------- writes

  /**
   * Takes one record of {@code tagscope.probes}.
   *
   * @param key the record key (probeId)
   * @param spec the probe, or null for a tombstone (the probe is forgotten)
   * @throws IllegalArgumentException when the probe cannot be shown (blank id, fps or window
   *     not positive); the caller counts it as skipped
   */
  public void acceptProbe(String key, ProbeSpec spec) {
    if (spec == null) {
      if (key != null && probes.remove(key) != null) {
        fire(new ChangeEvent("probe", null, null, null, key, 0));
      }
      return;
    }
    if (spec.getProbeId() == null || spec.getProbeId().isBlank()) {
      throw new IllegalArgumentException("probe has a blank probeId");
    }
    if (!(spec.getFps() > 0) || spec.getWindowFrames() <= 0) {
      throw new IllegalArgumentException("probe " + spec.getProbeId() + " has fps " + spec.getFps()
          + " and windowFrames " + spec.getWindowFrames() + "; both must be > 0");
    }
    probes.put(spec.getProbeId(), spec);
    fire(new ChangeEvent("probe", spec.getModel(), null, null, spec.getProbeId(), 0));
  }

  /**
   * Takes one record of {@code tagscope.importance}; the latest record per model, version and
   * layer wins.
   *
   * @param key the record key ({@link Topics#importanceKey model@version/layer})
   * @param value the importance, or null for a tombstone (the layer of that version is forgotten)
   * @throws IllegalArgumentException when the record names no model or layer
   */
  public void acceptImportance(String key, LayerImportance value) {
    if (value == null) {
      importanceTopic.forget(key).ifPresent(gone -> fire(
          new ChangeEvent("importance", gone.model(), gone.version(), gone.layer(), null, 0)));
      return;
    }
    LayerId id = LayerId.of(value.getModel(), value.getModelVersion(), value.getLayer(), "importance");
    importanceTopic.put(key, id, value);
    fire(new ChangeEvent("importance", id.model(), id.version(), id.layer(), value.getLastProbeId(),
        value.getWindowsSeen()));
  }

  /**
   * Takes one record of {@code tagscope.importance-history}: one time bucket of one layer of one
   * model version. A bucket with the start of one already held replaces it; of a layer's buckets
   * the latest {@code historyBuckets} by start are kept.
   *
   * @param value the bucket
   * @throws IllegalArgumentException when it is null (a tombstone on a non-compacted topic),
   *     names no model or layer, has a bucket length that is not positive, or repeats a filter;
   *     the caller counts it as skipped
   */
  public void acceptBucket(ImportanceBucket value) {
    if (value == null) {
      throw new IllegalArgumentException("null importance bucket (tombstone on a non-compacted topic)");
    }
    LayerId id = LayerId.of(value.getModel(), value.getModelVersion(), value.getLayer(), "importance-history");
    if (value.getBucketMs() <= 0) {
      throw new IllegalArgumentException("importance bucket of " + Topics.importanceKey(id.model(), id.version(),
          id.layer()) + " has bucketMs " + value.getBucketMs() + "; it must be > 0");
    }
    java.util.Set<Integer> seen = new java.util.HashSet<>();
    for (dev.tagscope.schemas.BucketFilter f : value.getFilters()) {
      if (!seen.add(f.getFilter())) {
        throw new IllegalArgumentException("importance bucket of " + Topics.importanceKey(id.model(), id.version(),
            id.layer()) + " at " + value.getBucketStartMs() + " lists filter " + f.getFilter() + " twice");
      }
    }
    history.put(id, value);
    fire(new ChangeEvent("history", id.model(), id.version(), id.layer(), null, value.getWindowsSeen()));
  }

  /**
   * Takes one record of {@code tagscope.alerts}; the latest {@link #MAX_ALERTS} are kept.
   *
   * @param value the alert
   * @throws IllegalArgumentException when it is null (a tombstone on a non-compacted topic), or
   *     names no model, layer or state; the caller counts it as skipped
   */
  public void acceptAlert(RankAlert value) {
    if (value == null) {
      throw new IllegalArgumentException("null alert (tombstone on a non-compacted topic)");
    }
    LayerId id = LayerId.of(value.getModel(), value.getModelVersion(), value.getLayer(), "alert");
    if (value.getState() == null) {
      throw new IllegalArgumentException("alert of " + id.modelLayerKey() + " has no state");
    }
    history.put(id.modelLayerKey(), value);
    fire(new ChangeEvent("alert", id.model(), id.version(), id.layer(), null, 0));
  }

  /**
   * Takes one record of {@code tagscope.tag-responses}; the latest window per probe and layer
   * wins. Responses are kept for the {@code maxResponseProbes} probes most recently heard from;
   * a probe beyond that forgets every layer of the least recent one (its count starts again
   * should it come back).
   *
   * @param value the tag response
   * @throws IllegalArgumentException when it is null or inconsistent (fps or window not
   *     positive, a filter whose per-bin arrays do not run parallel to the signal bins, or whose
   *     spectrum is longer than W/2 + 1); the caller counts it as skipped
   */
  public void acceptTagResponse(TagResponse value) {
    if (value == null) {
      throw new IllegalArgumentException("null tag response (tombstone on a non-compacted topic)");
    }
    validate(value);
    ProbeLayer pl = new ProbeLayer(value.getProbeId(), value.getLayer());
    ResponseEntry e;
    synchronized (responseProbes) {
      responseProbes.put(pl.probe(), Boolean.TRUE); // access order: this probe is now the newest
      if (responseProbes.size() > maxResponseProbes) {
        String eldest = responseProbes.keySet().iterator().next();
        responseProbes.remove(eldest);
        responses.keySet().removeIf(k -> k.probe().equals(eldest));
      }
      e = responses.merge(pl, new ResponseEntry(value, 1, responseSeq.incrementAndGet()),
          (old, neu) -> new ResponseEntry(neu.latest(), old.count() + 1, neu.seq()));
    }
    String version = value.getModelVersion() == null ? "" : value.getModelVersion();
    fire(new ChangeEvent("tag-response", value.getModel(), version, value.getLayer(), value.getProbeId(), e.count()));
  }

  /**
   * Takes one record of {@code tagscope.top-examples}; the latest record per model, version and
   * layer wins (see {@link ExampleStore} for what is kept).
   *
   * @param key the record key ({@link Topics#importanceKey model@version/layer})
   * @param value the top examples, or null for a tombstone (the layer's examples are forgotten)
   * @throws IllegalArgumentException when the record names no model or layer, or lists a filter
   *     twice; the caller counts it as skipped
   */
  public void acceptTopExamples(String key, dev.tagscope.schemas.TopExamples value) {
    examples.acceptTopExamples(key, value).ifPresent(id -> fire(
        new ChangeEvent("top-examples", id.model(), id.version(), id.layer(), null, value == null ? 0 : value.getImagesSeen())));
  }

  /**
   * Takes one record of {@code tagscope.probe-images} (see {@link ExampleStore} for what is kept).
   *
   * @param key the record key ({@link Topics#probeImageKey probeId/imageId})
   * @param value the image, or null for a tombstone
   * @throws IllegalArgumentException when the image cannot be shown (not 1 or 3 channels, too
   *     large, or a pixel count that is not C*H*W); the caller counts it as skipped
   */
  public void acceptProbeImage(String key, dev.tagscope.schemas.ProbeImage value) {
    examples.acceptProbeImage(key, value);
    if (value != null) {
      fire(new ChangeEvent("probe-image", null, null, null, value.getProbeId(), 0));
    }
  }

  /** @return the top examples and probe images held */
  ExampleStore examples() {
    return examples;
  }

  /**
   * Takes one record of {@code tagscope.validation}; the latest record per model and layer wins
   * (layer {@code *} is the whole network).
   *
   * @param key the record key (model/layer)
   * @param value the validation, or null for a tombstone (the validation is forgotten)
   * @throws IllegalArgumentException when the record names no model or layer, or a pruning
   *     curve's lists do not run parallel (fractions, accuracy, and spread when not empty); the
   *     caller counts it as skipped
   */
  public void acceptValidation(String key, LayerValidation value) {
    if (value == null) {
      validationTopic.forget(key).ifPresent(gone -> fire(
          new ChangeEvent("validation", gone.model(), null, gone.layer(), null, 0)));
      return;
    }
    LayerId named = LayerId.of(value.getModel(), "", value.getLayer(), "validation");
    ModelLayer ml = new ModelLayer(named.model(), named.layer());
    for (PruningCurve c : value.getPruning()) {
      int n = c.getFractions().size();
      if (c.getAccuracy().size() != n || !(c.getSpread().isEmpty() || c.getSpread().size() == n)) {
        throw new IllegalArgumentException("pruning curve '" + c.getCriterion() + "' of " + value.getModel() + "/"
            + value.getLayer() + " has " + n + " fractions, " + c.getAccuracy().size() + " accuracies and "
            + c.getSpread().size() + " spreads; accuracy must match fractions, spread must match or be empty");
      }
    }
    validationTopic.put(key, ml, value);
    fire(new ChangeEvent("validation", ml.model(), null, ml.layer(), null, 0));
  }

  /**
   * The latest record per layer id of a compacted topic, with the key each id last came under, so
   * a tombstone (which carries only the key) can remove it.
   */
  private static final class LatestPerLayer<I, V> {
    final Map<I, V> values = new ConcurrentHashMap<>();
    private final Map<String, I> keys = new ConcurrentHashMap<>();

    /** @return the id a tombstone's key removed, if it held one */
    java.util.Optional<I> forget(String key) {
      I gone = key == null ? null : keys.remove(key);
      return gone != null && values.remove(gone) != null ? java.util.Optional.of(gone) : java.util.Optional.empty();
    }

    /** Keeps {@code value} as the latest of {@code id}, remembering the key it came under. */
    void put(String key, I id, V value) {
      if (key != null) {
        keys.put(key, id);
      }
      values.put(id, value);
    }
  }

  private static void validate(TagResponse r) {
    if (r.getProbeId() == null || r.getProbeId().isEmpty() || r.getLayer() == null || r.getLayer().isEmpty()) {
      throw new IllegalArgumentException("tag response names no probe or layer");
    }
    if (!(r.getFps() > 0) || r.getWindowFrames() <= 0) {
      throw new IllegalArgumentException("tag response has fps " + r.getFps() + " and windowFrames "
          + r.getWindowFrames() + "; both must be > 0");
    }
    int bins = r.getSignalBins().size();
    int maxSpectrum = r.getWindowFrames() / 2 + 1;
    for (FilterResponse f : r.getFilters()) {
      if (f.getAmplitude().size() != bins || f.getBaseline().size() != bins
          || f.getSnr().size() != bins || f.getCorrected().size() != bins) {
        throw new IllegalArgumentException("filter " + f.getFilter() + " has per-bin arrays of sizes "
            + f.getAmplitude().size() + "/" + f.getBaseline().size() + "/" + f.getSnr().size() + "/"
            + f.getCorrected().size() + " for " + bins + " signal bins");
      }
      if (f.getSpectrum().size() > maxSpectrum) {
        throw new IllegalArgumentException("filter " + f.getFilter() + " has " + f.getSpectrum().size()
            + " spectrum values; W = " + r.getWindowFrames() + " allows at most " + maxSpectrum);
      }
    }
  }

  private void fire(ChangeEvent e) {
    for (Consumer<ChangeEvent> l : listeners) {
      l.accept(e);
    }
  }

  // ---------------------------------------------------------------- reads

  /** @return every probe seen, sorted by id */
  public List<ProbeSummary> probes() {
    List<ProbeSummary> out = new ArrayList<>();
    for (ProbeSpec p : probes.values()) {
      out.add(summary(p));
    }
    out.sort(Comparator.comparing(ProbeSummary::id));
    return out;
  }

  private static ProbeSummary summary(ProbeSpec p) {
    List<RegionSummary> regions = new ArrayList<>();
    for (Region r : p.getRegions()) {
      regions.add(new RegionSummary(r.getName(), r.getX0(), r.getY0(), r.getX1(), r.getY1(),
          ApiModel.finite(r.getFrequencyHz()), ApiModel.finite(r.getPhaseRad())));
    }
    List<SignalBinSummary> bins = new ArrayList<>();
    for (SignalBin b : p.getSignalBins()) {
      bins.add(new SignalBinSummary(b.getLabel(), kind(b), ApiModel.finite(b.getFrequencyHz()), b.getBin(), b.getOrder()));
    }
    return new ProbeSummary(p.getProbeId(), p.getModel(), p.getLayout(), regions,
        ApiModel.finite(p.getFps()), p.getWindowFrames(), p.getHopFrames(), p.getFramesPerImage(),
        ApiModel.finite(p.getWindowFrames() / p.getFps()), ApiModel.finite(p.getFps() / p.getWindowFrames()),
        p.getReduction() == null ? null : p.getReduction().name(), List.copyOf(p.getLayers()),
        p.getImageCount(), p.getContinuous(), p.getMaxHarmonic(), p.getMaxImOrder(),
        p.getBaselineBins(), p.getBaselineSkip(), bins);
  }

  private static String kind(SignalBin b) {
    return b.getKind() == null ? null : b.getKind().name();
  }

  /** @return every layer of every model version with a known importance, sorted by model, then version, then layer */
  public List<LayerSummary> layers() {
    Map<LayerId, TreeSet<String>> probesByLayer = new java.util.HashMap<>();
    for (ResponseEntry e : responses.values()) {
      TagResponse r = e.latest();
      probesByLayer.computeIfAbsent(new LayerId(r.getModel(), r.getModelVersion() == null ? "" : r.getModelVersion(),
          r.getLayer()), k -> new TreeSet<>()).add(r.getProbeId());
    }
    List<LayerSummary> out = new ArrayList<>();
    for (Map.Entry<LayerId, LayerImportance> e : importanceTopic.values.entrySet()) {
      LayerId id = e.getKey();
      LayerImportance li = e.getValue();
      TreeSet<String> ps = probesByLayer.getOrDefault(id, new TreeSet<>());
      out.add(new LayerSummary(id.model(), id.version(), id.layer(), li.getWindowsSeen(), li.getFilters().size(),
          iso(li.getUpdatedAtMs()), li.getUpdatedAtMs(), li.getLastProbeId(), List.copyOf(ps),
          history.bucketCount(id), history.alertOpen(id)));
    }
    out.sort(Comparator.comparing(LayerSummary::model).thenComparing(LayerSummary::version)
        .thenComparing(LayerSummary::layer));
    return out;
  }

  /**
   * The filters of one layer of one model version, best first: by rank ascending, ties by
   * importance descending, then by filter index.
   *
   * @param model model name
   * @param version model version, {@code ""} for records without one
   * @param layer layer name
   * @return the ranked filters
   * @throws NotFoundException when no importance is known for that model, version and layer
   */
  public ImportanceView importance(String model, String version, String layer) {
    return importanceView(latestImportance(model, version, layer));
  }

  /** @throws NotFoundException naming the part (model, version or layer) that is unknown */
  private LayerImportance latestImportance(String model, String version, String layer) {
    LayerImportance li = importanceTopic.values.get(new LayerId(model, version, layer));
    if (li == null) {
      java.util.Set<LayerId> ids = importanceTopic.values.keySet();
      if (ids.stream().noneMatch(k -> k.model().equals(model))) {
        throw new NotFoundException("unknown model '" + model + "'");
      }
      if (ids.stream().noneMatch(k -> k.model().equals(model) && k.version().equals(version))) {
        throw new NotFoundException(version.isEmpty() ? "model '" + model + "' has no layer without a version;"
            + " name one with version=" : "unknown version '" + version + "' of model '" + model + "'");
      }
      throw new NotFoundException("unknown layer '" + layer + "' of model '" + model + "'"
          + (version.isEmpty() ? "" : " version '" + version + "'"));
    }
    return li;
  }

  private static ImportanceView importanceView(LayerImportance li) {
    List<FilterImportance> sorted = new ArrayList<>(li.getFilters());
    sorted.sort(RANKING_ORDER);
    List<FilterRow> rows = new ArrayList<>(sorted.size());
    for (FilterImportance f : sorted) {
      rows.add(new FilterRow(f.getRank(), f.getFilter(), ApiModel.finite(f.getImportance()), ApiModel.finite(f.getScore()),
          ApiModel.finite(f.getFundamental()), ApiModel.finite(f.getHarmonic()), ApiModel.finite(f.getIntermodulation()),
          ApiModel.finite(f.getMeanSnr()), ApiModel.finite(f.getPaperSnrDb())));
    }
    return new ImportanceView(li.getModel(), li.getModelVersion() == null ? "" : li.getModelVersion(), li.getLayer(),
        li.getWindowsSeen(), iso(li.getUpdatedAtMs()), li.getUpdatedAtMs(), li.getLastProbeId(), rows);
  }

  /**
   * The history of one layer of one model version: the buckets held, oldest first, each with
   * its stability against the reference (Spearman rho and top-k overlap, null while the bucket
   * is part of the reference), and the importance in every bucket of the latest bucket's
   * {@code top} best filters. The threshold is the latest alert's of the model and layer, else
   * {@link #DEFAULT_ALERT_THRESHOLD}.
   *
   * @param model model name
   * @param version model version, {@code ""} for records without one
   * @param layer layer name
   * @param top how many filters get a series, &gt;= 1
   * @return the history
   * @throws NotFoundException when no bucket is held for that model, version and layer
   * @throws IllegalArgumentException when {@code top < 1}
   */
  public HistoryView history(String model, String version, String layer, int top) {
    if (top < 1) {
      throw new IllegalArgumentException("top must be >= 1, got " + top);
    }
    LayerId id = new LayerId(model, version, layer);
    Double alertThreshold = history.latestThreshold(id.modelLayerKey());
    HistoryView h = history.history(id, top, alertThreshold == null ? DEFAULT_ALERT_THRESHOLD : alertThreshold,
        alertThreshold != null);
    if (h == null) {
      throw new NotFoundException("no importance history of layer '" + layer + "' of model '" + model + "'"
          + (version.isEmpty() ? "" : " version '" + version + "'") + " yet; the spectral stream writes one bucket"
          + " per bucket of stimulus time to " + Topics.IMPORTANCE_HISTORY.name());
    }
    return h;
  }

  /**
   * The alerts held, newest first (by the start of the bucket that raised or cleared them, in
   * stimulus time; later arrivals first among equal starts).
   *
   * @param model only this model's, or null for every model
   * @param layer only this layer's, or null for every layer
   * @param limit at most this many, &gt;= 1
   * @return the alerts, empty when none
   * @throws IllegalArgumentException when {@code limit < 1}
   */
  public List<AlertView> alerts(String model, String layer, int limit) {
    if (limit < 1) {
      throw new IllegalArgumentException("limit must be >= 1, got " + limit);
    }
    return history.alerts(model, layer, limit);
  }

  /**
   * Two versions of a model side by side on one layer: Spearman rho (average ranks for ties,
   * Commons Math) between the filter scores of their latest running importances, the overlap of
   * their top-k filters, and both rankings (see {@link VersionComparison}).
   *
   * @param model model name
   * @param layer layer name
   * @param versionA one version ({@code ""}: records without one)
   * @param versionB the other
   * @param k size of the top sets, &gt;= 1, capped at the filters both have
   * @return the comparison
   * @throws NotFoundException when either version has no importance for the layer
   * @throws IllegalArgumentException when {@code k < 1}
   */
  public CompareView compare(String model, String layer, String versionA, String versionB, int k) {
    LayerImportance a = latestImportance(model, versionA, layer);
    LayerImportance b = latestImportance(model, versionB, layer);
    VersionComparison c = VersionComparison.of(a, b, k);
    return new CompareView(model, layer, versionA, versionB, c.filters(), c.topK(), ApiModel.finite(c.rho()),
        ApiModel.finite(c.topKOverlap()), importanceView(a), importanceView(b));
  }

  /**
   * The latest window of one filter: A(b) for b = 0..W/2 on the frequency axis
   * {@code b * fps / W} Hz (DESIGN.md section 1; arXiv:2411.10084 sec. 3), and its signal bins
   * with amplitude, baseline, SNR and baseline-corrected amplitude.
   *
   * @param probe probe id
   * @param layer layer name
   * @param filter filter (channel) index
   * @return the spectrum
   * @throws NotFoundException when the probe, the layer (for that probe) or the filter is unknown
   */
  public SpectrumView spectrum(String probe, String layer, int filter) {
    ResponseEntry e = responses.get(new ProbeLayer(probe, layer));
    if (e == null) {
      boolean probeKnown = probes.containsKey(probe)
          || responses.keySet().stream().anyMatch(k -> k.probe().equals(probe));
      throw new NotFoundException(probeKnown ? "no tag response for layer '" + layer + "' of probe '" + probe + "'"
          : "unknown probe '" + probe + "'");
    }
    TagResponse r = e.latest();
    FilterResponse f = null;
    for (FilterResponse c : r.getFilters()) {
      if (c.getFilter() == filter) {
        f = c;
        break;
      }
    }
    if (f == null) {
      throw new NotFoundException("unknown filter " + filter + " in layer '" + layer + "' of probe '" + probe + "'");
    }
    int w = r.getWindowFrames();
    double fps = r.getFps();
    List<Float> spectrum = f.getSpectrum();
    double[] freq = new double[spectrum.size()];
    List<Float> amp = new ArrayList<>(spectrum.size());
    for (int b = 0; b < freq.length; b++) {
      freq[b] = frequencyOfBin(b, fps, w);
      Float a = spectrum.get(b);
      amp.add(a == null || !Float.isFinite(a) ? null : a);
    }
    List<SpectrumBin> bins = new ArrayList<>();
    List<SignalBin> sb = r.getSignalBins();
    for (int i = 0; i < sb.size(); i++) {
      SignalBin b = sb.get(i);
      bins.add(new SpectrumBin(b.getLabel(), kind(b), b.getBin(), ApiModel.finite(b.getFrequencyHz()), b.getOrder(),
          ApiModel.finite(f.getAmplitude().get(i)), ApiModel.finite(f.getBaseline().get(i)),
          ApiModel.finite(f.getSnr().get(i)), ApiModel.finite(f.getCorrected().get(i))));
    }
    return new SpectrumView(r.getProbeId(), r.getModel(), r.getLayer(), filter, r.getImageId(), r.getWindowStartFrame(),
        w, ApiModel.finite(fps), ApiModel.finite(r.getBinWidthHz()), e.count(), freq, amp, bins);
  }

  /**
   * Where a filter looks ({@link SpatialMap}, the same computation as the report's
   * {@code ranking[].map}): the baseline-corrected amplitude at each region's fundamental laid out
   * as the regions lie on the image, and the strongest IM pairs, from the latest window of a probe
   * of that model version whose regions have a placement ({@link SpatialMap#layout}: halves,
   * quadrants or {@code grid:RxC}). Of several such probes, the one with most cells, then the one
   * heard from last. One window, not the mean over windows the report gives.
   *
   * @param model model name
   * @param version model version, {@code ""} for records without one
   * @param layer layer name
   * @param filter filter (channel) index
   * @return the map without an image URL, or empty when no such probe has a tag response with that filter
   */
  public java.util.Optional<ApiModel.SpatialMapView> spatialMap(String model, String version, String layer, int filter) {
    ApiModel.SpatialMapView best = null;
    long bestSeq = -1;
    for (Map.Entry<ProbeLayer, ResponseEntry> en : responses.entrySet()) {
      TagResponse r = en.getValue().latest();
      String v = r.getModelVersion() == null ? "" : r.getModelVersion();
      ProbeSpec spec = probes.get(en.getKey().probe());
      if (spec == null || !model.equals(r.getModel()) || !version.equals(v) || !layer.equals(r.getLayer())) {
        continue;
      }
      ApiModel.SpatialMapView m = spatialMap(spec, r, filter);
      long seq = en.getValue().seq();
      if (m != null && (best == null || m.rows() * m.cols() > best.rows() * best.cols()
          || (m.rows() * m.cols() == best.rows() * best.cols() && seq > bestSeq))) {
        best = m;
        bestSeq = seq;
      }
    }
    return java.util.Optional.ofNullable(best);
  }

  /** @return the filter's map in one tag response, or null when the probe's regions have no placement */
  private static ApiModel.SpatialMapView spatialMap(ProbeSpec spec, TagResponse r, int filter) {
    AnalysisPlan plan;
    try {
      plan = AnalysisPlan.fromProbe(spec);
    } catch (RuntimeException e) {
      return null; // a probe not built by ProbePlan: shown without a map
    }
    java.util.Optional<SpatialMap.Placement> placement = SpatialMap.layout(plan.regions());
    // The response's measures run parallel to its own signal bins; SpatialMap reads them by the plan's.
    if (placement.isEmpty() || !labels(plan.signalBins()).equals(labels(r.getSignalBins()))) {
      return null;
    }
    FilterResponse f = r.getFilters().stream().filter(c -> c.getFilter() == filter).findFirst().orElse(null);
    if (f == null) {
      return null;
    }
    double[] corrected = f.getCorrected().stream().mapToDouble(Double::doubleValue).toArray();
    SpatialMap map = SpatialMap.of(plan, new double[][] {corrected}).get(0);
    SpatialMap.Placement p = placement.get();
    List<List<Double>> cells = new ArrayList<>();
    List<List<String>> names = new ArrayList<>();
    for (int i = 0; i < map.rows(); i++) {
      List<Double> row = new ArrayList<>();
      List<String> rowNames = new ArrayList<>();
      for (int j = 0; j < map.cols(); j++) {
        row.add(ApiModel.finite(map.cells()[i][j]));
        rowNames.add(null);
      }
      cells.add(java.util.Collections.unmodifiableList(row));
      names.add(rowNames);
    }
    for (int reg = 0; reg < plan.regions().size(); reg++) {
      names.get(p.cell()[reg][0]).set(p.cell()[reg][1], plan.regions().get(reg).name());
    }
    List<ApiModel.ImPairView> pairs = new ArrayList<>();
    for (SpatialMap.ImPair pair : map.imPairs()) {
      pairs.add(new ApiModel.ImPairView(pair.first(), pair.second(), ApiModel.finite(pair.amplitude())));
    }
    return new ApiModel.SpatialMapView(r.getProbeId(), r.getImageId(), null, r.getWindowStartFrame(), r.getWindowFrames(),
        map.rows(), map.cols(), List.copyOf(cells),
        names.stream().map(java.util.Collections::unmodifiableList).toList(), List.copyOf(pairs));
  }

  private static List<String> labels(List<SignalBin> bins) {
    return bins.stream().map(b -> String.valueOf(b.getLabel())).toList();
  }

  /**
   * The running importance row of one filter.
   *
   * @param model model name
   * @param version model version, {@code ""} for records without one
   * @param layer layer name
   * @param filter filter (channel) index
   * @return the filter's row, or empty when the layer's importance lacks the filter
   * @throws NotFoundException when no importance is known for that model, version and layer
   */
  public java.util.Optional<ApiModel.FilterRow> filterRow(String model, String version, String layer, int filter) {
    return importance(model, version, layer).filters().stream().filter(f -> f.filter() == filter).findFirst();
  }

  /**
   * Every validation of one model, sorted by layer (the whole-network {@code *} first).
   *
   * @param model model name
   * @return the validations, empty when {@code tagscope validate} has not been run for the model
   */
  public List<ValidationView> validations(String model) {
    List<ValidationView> out = new ArrayList<>();
    for (LayerValidation v : validationTopic.values.values()) {
      if (v.getModel().equals(model)) {
        out.add(validationView(v));
      }
    }
    out.sort(Comparator.comparing(ValidationView::layer));
    return out;
  }

  /**
   * The latest validation of one layer: per criterion its Spearman rho against the ablation
   * damage with a 95 % interval, and the pruning curves. Non-finite numbers (an undefined rho)
   * come back as null.
   *
   * @param model model name
   * @param layer layer name, or {@code *} for the whole-network pruning curves
   * @return the validation
   * @throws NotFoundException when no validation is known for that model and layer (the message
   *     names the command that writes one)
   */
  public ValidationView validation(String model, String layer) {
    LayerValidation v = validationTopic.values.get(new ModelLayer(model, layer));
    if (v == null) {
      throw new NotFoundException("no validation of layer '" + layer + "' of model '" + model
          + "'; ./tagscope validate writes one");
    }
    return validationView(v);
  }

  private static ValidationView validationView(LayerValidation v) {
    List<CriterionRow> criteria = new ArrayList<>(v.getCriteria().size());
    for (CriterionAgreement c : v.getCriteria()) {
      criteria.add(new CriterionRow(c.getCriterion(), ApiModel.finite(c.getRho()), ApiModel.finite(c.getRhoLow()),
          ApiModel.finite(c.getRhoHigh()), ApiModel.finite(c.getRhoAccuracy())));
    }
    List<PruningCurveView> curves = new ArrayList<>(v.getPruning().size());
    for (PruningCurve c : v.getPruning()) {
      curves.add(new PruningCurveView(c.getCriterion(), ApiModel.finite(c.getFractions()),
          ApiModel.finite(c.getAccuracy()), ApiModel.finite(c.getSpread()), ApiModel.finite(c.getAuc())));
    }
    return new ValidationView(v.getModel(), v.getLayer(), iso(v.getGeneratedAtMs()), v.getGeneratedAtMs(),
        v.getImages(), v.getCurveImages(), v.getProbeImages(), v.getFilters(), ApiModel.finite(v.getBaseAccuracy()),
        ApiModel.finite(v.getBaseCrossEntropy()), v.getDefaultCriterion(), List.copyOf(criteria), List.copyOf(curves));
  }

  /**
   * Frequency of FFT bin {@code b} of a window of {@code w} frames at {@code fps} frames per
   * second: {@code b * fps / w} Hz (DESIGN.md section 1).
   *
   * @param b FFT bin index, 0..w/2
   * @param fps frames per second of stimulus time
   * @param w window length W in frames
   * @return the frequency in Hz
   */
  public static double frequencyOfBin(int b, double fps, int w) {
    return b * fps / w;
  }

  private static String iso(long epochMs) {
    return Instant.ofEpochMilli(epochMs).toString();
  }
}
