package dev.tagscope.spectral.internal;

import dev.tagscope.schemas.AlertState;
import dev.tagscope.schemas.BucketFilter;
import dev.tagscope.schemas.FilterImportance;
import dev.tagscope.schemas.ImportanceBucket;
import dev.tagscope.schemas.LayerImportance;
import dev.tagscope.schemas.RankAlert;
import dev.tagscope.schemas.Topics;
import dev.tagscope.spectral.HistorySettings;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.ArrayList;
import java.util.List;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.streams.kstream.Windowed;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns each closed bucket of one (model, version, layer) into an {@link ImportanceBucket} with its
 * stability against the reference of its (model, layer), and raises or clears a {@link RankAlert}.
 *
 * <p>Rules (issue 9 contract): per (model, layer) the reference is the windows-weighted mean
 * ({@code ImportanceMath.merge}) of the first K buckets of the first version seen, or of the pinned
 * version; buckets that go into the reference, and buckets that come while it is not complete, carry
 * no stability (null {@code referenceVersion}, {@code rho}, {@code topKOverlap}; {@code topK} 0).
 * Every later bucket is compared ({@link RankStability}). An alert is RAISED when {@code rho <
 * threshold} and no episode is open for the (model, version, layer), and CLEARED by the first
 * bucket of that version with {@code rho >= threshold} after that (episodes are per version, so a
 * version running beside another neither clears nor repeats its alerts); a bucket whose rho is undefined (all scores equal) or whose
 * filter count differs from the reference's changes nothing. Counted by
 * {@value #ALERTS_METER}{@code {state=raised|cleared}}.
 *
 * <p>Input: the windowed bucket aggregate (key: the importance key in its time window). All versions
 * of a (model, layer) must reach the same task: the topology partitions the per-window importance by
 * model/layer before it buckets it. Output records are stamped with the bucket's end - 1 ms
 * (stimulus time), keyed as their topic wants.
 */
public final class StabilityProcessor implements Processor<Windowed<String>, LayerImportance, String, HistoryOut> {
  /** Counter of alerts, tag {@code state} = {@code raised} or {@code cleared}. */
  public static final String ALERTS_METER = "tagscope.spectral.alerts";
  private static final Logger LOG = LoggerFactory.getLogger(StabilityProcessor.class);

  private final HistorySettings settings;
  private final String storeName;
  private final Counter raised;
  private final Counter cleared;
  private ProcessorContext<String, HistoryOut> context;
  private KeyValueStore<String, byte[]> store;

  /**
   * @param settings reference, threshold, top-k and movers
   * @param registry where the alert counter goes
   * @param storeName the key-value store (key model/layer, value {@link StabilityState} bytes)
   */
  public StabilityProcessor(HistorySettings settings, MeterRegistry registry, String storeName) {
    this.settings = settings;
    this.storeName = storeName;
    this.raised = alertCounter(registry, "raised");
    this.cleared = alertCounter(registry, "cleared");
  }

  private static Counter alertCounter(MeterRegistry registry, String state) {
    return Counter.builder(ALERTS_METER).tag("state", state)
        .description("rank-stability alerts on " + Topics.ALERTS.name()).register(registry);
  }

  @Override
  public void init(ProcessorContext<String, HistoryOut> context) {
    this.context = context;
    this.store = context.getStateStore(storeName);
  }

  @Override
  public void process(Record<Windowed<String>, LayerImportance> record) {
    LayerImportance agg = record.value();
    if (agg == null) {
      return;
    }
    long start = record.key().window().start();
    long bucketMs = record.key().window().end() - start;
    long timestamp = record.key().window().end() - 1;
    String version = agg.getModelVersion();
    String modelLayer = Topics.modelLayerKey(agg.getModel(), agg.getLayer());
    ImportanceBucket bucket = ImportanceBucket.newBuilder()
        .setModel(agg.getModel()).setModelVersion(version).setLayer(agg.getLayer())
        .setBucketStartMs(start).setBucketMs(bucketMs).setWindowsSeen(agg.getWindowsSeen())
        .setFilters(filters(agg.getFilters()))
        .build();
    StabilityState state = StabilityState.decode(store.get(modelLayer));
    int k = settings.referenceBuckets();
    if (state == null || !state.complete(k)) {
      String pinned = settings.pinnedVersion();
      boolean ofReference = pinned != null ? pinned.equals(version) : state == null || state.referenceVersion().equals(version);
      if (ofReference) {
        state = state == null ? new StabilityState(version, 1, agg, java.util.Set.of()) : state.fold(agg);
        store.put(modelLayer, state.encode());
      }
      emit(Topics.importanceKey(agg.getModel(), version, agg.getLayer()), new HistoryOut.Bucket(bucket), timestamp);
      return;
    }
    RankStability s = RankStability.compare(agg, state.reference(), settings.topK(), settings.movers());
    if (s == null) {
      LOG.warn("bucket {} of {} version '{}' has {} filters, its reference (version '{}') {}: not compared", start, modelLayer,
          version, agg.getFilters().size(), state.referenceVersion(), state.reference().getFilters().size());
    } else {
      bucket.setReferenceVersion(state.referenceVersion());
      bucket.setTopK(s.topK());
      bucket.setTopKOverlap(s.topKOverlap());
      bucket.setRho(Double.isNaN(s.rho()) ? null : s.rho());
    }
    emit(Topics.importanceKey(agg.getModel(), version, agg.getLayer()), new HistoryOut.Bucket(bucket), timestamp);
    if (s == null || Double.isNaN(s.rho())) {
      return;
    }
    boolean low = s.rho() < settings.rhoThreshold();
    if (low != state.episodeOpen(version)) {
      AlertState what = low ? AlertState.RAISED : AlertState.CLEARED;
      (low ? raised : cleared).increment();
      store.put(modelLayer, state.withEpisode(version, low).encode());
      RankAlert alert = RankAlert.newBuilder()
          .setState(what).setModel(agg.getModel()).setModelVersion(version).setReferenceVersion(state.referenceVersion())
          .setLayer(agg.getLayer()).setBucketStartMs(start).setBucketMs(bucketMs).setRho(s.rho())
          .setThreshold(settings.rhoThreshold()).setTopK(s.topK()).setTopKOverlap(s.topKOverlap()).setMovers(s.movers())
          .build();
      LOG.info("{} {}: rho {} against version '{}' (threshold {}), bucket {}", what, modelLayer, s.rho(), state.referenceVersion(),
          settings.rhoThreshold(), start);
      emit(modelLayer, new HistoryOut.Alert(alert), timestamp);
    }
  }

  private void emit(String key, HistoryOut out, long timestamp) {
    context.forward(new Record<>(key, out, timestamp, new RecordHeaders()));
  }

  private static List<BucketFilter> filters(List<FilterImportance> filters) {
    List<BucketFilter> out = new ArrayList<>(filters.size());
    for (FilterImportance f : filters) {
      out.add(BucketFilter.newBuilder().setFilter(f.getFilter()).setImportance(f.getImportance()).setScore(f.getScore())
          .setRank(f.getRank()).build());
    }
    return out;
  }
}
