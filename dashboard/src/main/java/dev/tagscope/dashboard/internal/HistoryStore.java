package dev.tagscope.dashboard.internal;

import dev.tagscope.dashboard.internal.ApiModel.AlertView;
import dev.tagscope.dashboard.internal.ApiModel.BucketPoint;
import dev.tagscope.dashboard.internal.ApiModel.FilterMoveView;
import dev.tagscope.dashboard.internal.ApiModel.FilterSeries;
import dev.tagscope.dashboard.internal.ApiModel.HistoryView;
import dev.tagscope.schemas.AlertState;
import dev.tagscope.schemas.BucketFilter;
import dev.tagscope.schemas.FilterMove;
import dev.tagscope.schemas.ImportanceBucket;
import dev.tagscope.schemas.RankAlert;
import dev.tagscope.schemas.Topics;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The dashboard's memory of {@code tagscope.importance-history} and {@code tagscope.alerts}:
 * per (model, version, layer) the latest {@code maxBuckets} buckets by bucket start, and the
 * latest {@code maxAlerts} alerts of all layers in the order they arrived.
 *
 * <p>A bucket that arrives again for the same start (the stream updated it) replaces the one
 * held. A bucket older than every one held, once {@code maxBuckets} are held, is dropped.
 *
 * <p>Memory: a bucket is held as three arrays (filter index, importance, rank: 16 bytes per
 * filter) and a few fields, so 1,440 buckets (24 h of 60-s buckets) of a 64-filter layer take
 * about 1.5 MB, and a 576-filter model (16 taps of the bundled ResNet-32) about 13 MB per
 * version; an alert with its movers well under 1 KB.
 *
 * <p>Thread-safe: every method holds the store's lock; reads copy what they return.
 */
final class HistoryStore {
  /** One bucket held compactly; the arrays run parallel, ordered by rank then filter. */
  private record Bucket(long startMs, long bucketMs, long windowsSeen, String referenceVersion, Double rho, int topK,
      Double topKOverlap, int[] filters, double[] importance, int[] ranks) {}

  private final int maxBuckets;
  private final int maxAlerts;
  private final Map<LayerId, TreeMap<Long, Bucket>> buckets = new HashMap<>();
  private final ArrayDeque<RankAlert> alerts = new ArrayDeque<>();
  /** Per model/layer key: the latest alert that arrived. */
  private final Map<String, RankAlert> latestAlert = new HashMap<>();

  /**
   * @param maxBuckets buckets held per (model, version, layer), &gt;= 1
   * @param maxAlerts alerts held in all, &gt;= 1
   */
  HistoryStore(int maxBuckets, int maxAlerts) {
    this.maxBuckets = maxBuckets;
    this.maxAlerts = maxAlerts;
  }

  /** @return the most buckets held per (model, version, layer) */
  int maxBuckets() {
    return maxBuckets;
  }

  /**
   * Holds one bucket.
   *
   * @param id its model, version and layer
   * @param b the bucket, already checked by the caller
   */
  synchronized void put(LayerId id, ImportanceBucket b) {
    List<BucketFilter> fs = new ArrayList<>(b.getFilters());
    fs.sort(Comparator.comparingInt(BucketFilter::getRank).thenComparingInt(BucketFilter::getFilter));
    int n = fs.size();
    int[] filters = new int[n];
    double[] importance = new double[n];
    int[] ranks = new int[n];
    for (int i = 0; i < n; i++) {
      filters[i] = fs.get(i).getFilter();
      importance[i] = fs.get(i).getImportance();
      ranks[i] = fs.get(i).getRank();
    }
    Bucket held = new Bucket(b.getBucketStartMs(), b.getBucketMs(), b.getWindowsSeen(),
        b.getReferenceVersion(), b.getRho(), b.getTopK(), b.getTopKOverlap(),
        filters, importance, ranks);
    TreeMap<Long, Bucket> series = buckets.computeIfAbsent(id, k -> new TreeMap<>());
    series.put(held.startMs(), held);
    while (series.size() > maxBuckets) {
      series.pollFirstEntry();
    }
  }

  /** @return buckets held for {@code id}, 0 when none */
  synchronized int bucketCount(LayerId id) {
    TreeMap<Long, Bucket> series = buckets.get(id);
    return series == null ? 0 : series.size();
  }

  /**
   * Holds one alert; the oldest one goes once {@code maxAlerts} are held.
   *
   * @param modelLayer the alert's model/layer key
   * @param a the alert, already checked by the caller
   */
  synchronized void put(String modelLayer, RankAlert a) {
    alerts.addLast(a);
    while (alerts.size() > maxAlerts) {
      alerts.removeFirst();
    }
    latestAlert.put(modelLayer, a);
  }

  /**
   * Whether an episode is open for this model version's layer: the latest alert of its model and
   * layer is {@code RAISED} and names this version. The reference version, and any version the
   * latest alert does not name, is not marked: an episode is one version's departure from the reference.
   *
   * @param id model, version and layer
   * @return whether to mark the layer
   */
  synchronized boolean alertOpen(LayerId id) {
    RankAlert a = latestAlert.get(id.modelLayerKey());
    return a != null && a.getState() == AlertState.RAISED && id.version().equals(a.getModelVersion());
  }

  /** @return the threshold of the latest alert of that model/layer key, or null when none arrived */
  synchronized Double latestThreshold(String modelLayer) {
    RankAlert a = latestAlert.get(modelLayer);
    return a == null ? null : a.getThreshold();
  }

  /**
   * The history of one layer of one model version.
   *
   * @param id model, version and layer
   * @param top how many of the latest bucket's best filters get a series
   * @param threshold the alert threshold to report
   * @param thresholdFromAlert whether it came from an alert
   * @return the view, or null when no bucket is held for {@code id}
   */
  synchronized HistoryView history(LayerId id, int top, double threshold, boolean thresholdFromAlert) {
    TreeMap<Long, Bucket> series = buckets.get(id);
    if (series == null || series.isEmpty()) {
      return null;
    }
    List<BucketPoint> points = new ArrayList<>(series.size());
    for (Bucket b : series.values()) {
      points.add(new BucketPoint(b.startMs(), iso(b.startMs()), b.bucketMs(), b.windowsSeen(), b.referenceVersion(),
          finite(b.rho()), b.topK(), finite(b.topKOverlap())));
    }
    Bucket latest = series.lastEntry().getValue();
    int shown = Math.min(top, latest.filters().length);
    List<FilterSeries> out = new ArrayList<>(shown);
    for (int i = 0; i < shown; i++) {
      int filter = latest.filters()[i];
      List<Double> importance = new ArrayList<>(series.size());
      List<Integer> rank = new ArrayList<>(series.size());
      for (Bucket b : series.values()) {
        int at = indexOf(b.filters(), filter);
        importance.add(at < 0 ? null : ApiModel.finite(b.importance()[at]));
        rank.add(at < 0 ? null : b.ranks()[at]);
      }
      out.add(new FilterSeries(filter, latest.ranks()[i], Collections.unmodifiableList(importance),
          Collections.unmodifiableList(rank)));
    }
    return new HistoryView(id.model(), id.version(), id.layer(), maxBuckets, ApiModel.finite(threshold),
        thresholdFromAlert, List.copyOf(points), List.copyOf(out));
  }

  private static int indexOf(int[] filters, int filter) {
    for (int i = 0; i < filters.length; i++) {
      if (filters[i] == filter) {
        return i;
      }
    }
    return -1;
  }

  /**
   * Alerts held, newest first: by bucket start (stimulus time) descending, then the later arrival first.
   *
   * @param model only this model's alerts, or null for all
   * @param layer only this layer's alerts, or null for all
   * @param limit at most this many
   * @return the alerts
   */
  synchronized List<AlertView> alerts(String model, String layer, int limit) {
    List<RankAlert> arrivedNewestFirst = new ArrayList<>(alerts.size());
    for (Iterator<RankAlert> it = alerts.descendingIterator(); it.hasNext(); ) {
      RankAlert a = it.next();
      if ((model == null || model.equals(a.getModel())) && (layer == null || layer.equals(a.getLayer()))) {
        arrivedNewestFirst.add(a);
      }
    }
    // A stable sort keeps the later arrival first among alerts of the same bucket start.
    arrivedNewestFirst.sort(Comparator.comparingLong(RankAlert::getBucketStartMs).reversed());
    List<AlertView> out = new ArrayList<>(Math.min(limit, arrivedNewestFirst.size()));
    for (RankAlert a : arrivedNewestFirst.subList(0, Math.min(limit, arrivedNewestFirst.size()))) {
      boolean open = a.getState() == AlertState.RAISED
          && latestAlert.get(Topics.modelLayerKey(a.getModel(), a.getLayer())) == a;
      List<FilterMoveView> movers = new ArrayList<>(a.getMovers().size());
      for (FilterMove m : a.getMovers()) {
        movers.add(new FilterMoveView(m.getFilter(), m.getReferenceRank(), m.getRank(),
            ApiModel.finite(m.getReferenceImportance()), ApiModel.finite(m.getImportance())));
      }
      out.add(new AlertView(a.getState().name(), a.getModel(), a.getModelVersion(), a.getReferenceVersion(),
          a.getLayer(), a.getBucketStartMs(), iso(a.getBucketStartMs()), a.getBucketMs(), ApiModel.finite(a.getRho()),
          ApiModel.finite(a.getThreshold()), a.getTopK(), ApiModel.finite(a.getTopKOverlap()), open,
          List.copyOf(movers)));
    }
    return out;
  }

  /** @return the number of alerts held */
  synchronized int alertCount() {
    return alerts.size();
  }

  private static Double finite(Double v) {
    return v == null ? null : ApiModel.finite(v);
  }

  private static String iso(long epochMs) {
    return Instant.ofEpochMilli(epochMs).toString();
  }
}
