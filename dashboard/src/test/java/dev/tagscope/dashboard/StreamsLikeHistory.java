package dev.tagscope.dashboard;

import dev.tagscope.schemas.AlertState;
import dev.tagscope.schemas.BucketFilter;
import dev.tagscope.schemas.FilterMove;
import dev.tagscope.schemas.ImportanceBucket;
import dev.tagscope.schemas.RankAlert;
import dev.tagscope.schemas.Topics;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.apache.commons.math3.stat.correlation.SpearmansCorrelation;
import org.apache.commons.math3.stat.ranking.NaNStrategy;
import org.apache.commons.math3.stat.ranking.NaturalRanking;
import org.apache.commons.math3.stat.ranking.TiesStrategy;

/**
 * Test data: the importance-history buckets and alerts of one model's layer, built by the rule
 * of issue 9 as the spectral stream applies it. The reference is the mean score of the first
 * {@code k} buckets of the first version; a bucket is compared with it once it is complete
 * (Spearman rho, average ranks for ties, Commons Math; top-k overlap); an alert is raised when
 * rho falls below the threshold with no episode open, cleared when it is back at or above it;
 * its movers are the (at most 5) filters whose rank moved most, largest |rank - referenceRank| first.
 */
final class StreamsLikeHistory {
  final List<ImportanceBucket> buckets = new ArrayList<>();
  final List<RankAlert> alerts = new ArrayList<>();

  private final String model;
  private final String layer;
  private final long bucketMs;
  private final int referenceBuckets;
  private final int topK;
  private final double threshold;
  private String referenceVersion;
  private double[] referenceSum;
  private int referenceCount;
  private boolean open;

  StreamsLikeHistory(String model, String layer, long bucketMs, int referenceBuckets, int topK, double threshold) {
    this.model = model;
    this.layer = layer;
    this.bucketMs = bucketMs;
    this.referenceBuckets = referenceBuckets;
    this.topK = topK;
    this.threshold = threshold;
  }

  /** Spearman rho with average ranks for ties. */
  static double spearman(double[] x, double[] y) {
    return new SpearmansCorrelation(new NaturalRanking(NaNStrategy.FAILED, TiesStrategy.AVERAGE)).correlation(x, y);
  }

  /** |top-k of x intersect top-k of y| / k, top = highest score (ties: lower index first). */
  static double overlap(double[] x, double[] y, int k) {
    Set<Integer> a = top(x, k);
    a.retainAll(top(y, k));
    return a.size() / (double) k;
  }

  private static Set<Integer> top(double[] s, int k) {
    int[] rank = Fixtures.ranks(s);
    Set<Integer> out = new HashSet<>();
    for (int i = 0; i < s.length; i++) {
      if (rank[i] <= k) {
        out.add(i);
      }
    }
    return out;
  }

  /** Adds the bucket at {@code startMs} of {@code version} whose filter i scored {@code scores[i]}. */
  void add(String version, long startMs, double[] scores) {
    int[] rank = Fixtures.ranks(scores);
    double max = java.util.Arrays.stream(scores).max().orElse(1);
    List<BucketFilter> fs = new ArrayList<>();
    for (int i = 0; i < scores.length; i++) {
      fs.add(BucketFilter.newBuilder().setFilter(i).setScore(scores[i]).setImportance(scores[i] / max).setRank(rank[i]).build());
    }
    ImportanceBucket.Builder b = ImportanceBucket.newBuilder().setModel(model).setModelVersion(version).setLayer(layer)
        .setBucketStartMs(startMs).setBucketMs(bucketMs).setWindowsSeen(60).setFilters(fs);
    if (referenceVersion == null) {
      referenceVersion = version;
      referenceSum = new double[scores.length];
    }
    if (referenceCount < referenceBuckets && version.equals(referenceVersion)) {
      for (int i = 0; i < scores.length; i++) {
        referenceSum[i] += scores[i];
      }
      referenceCount++;
      buckets.add(b.build()); // part of the reference: no stability
      return;
    }
    double[] reference = reference();
    double rho = spearman(scores, reference);
    double ov = overlap(scores, reference, topK);
    buckets.add(b.setReferenceVersion(referenceVersion).setRho(rho).setTopK(topK).setTopKOverlap(ov).build());
    if (rho < threshold && !open) {
      open = true;
      alerts.add(alert(AlertState.RAISED, version, startMs, rho, ov, scores, reference));
    } else if (rho >= threshold && open) {
      open = false;
      alerts.add(alert(AlertState.CLEARED, version, startMs, rho, ov, scores, reference));
    }
  }

  /**
   * Sends every bucket and alert as the stream writes them: history keyed model@version/layer,
   * alerts keyed model/layer, record timestamp = the bucket's end - 1 ms (stimulus time).
   */
  void publish(org.apache.kafka.clients.producer.Producer<byte[], byte[]> p) {
    for (ImportanceBucket b : buckets) {
      p.send(new org.apache.kafka.clients.producer.ProducerRecord<>(Topics.IMPORTANCE_HISTORY.name(), null,
          b.getBucketStartMs() + b.getBucketMs() - 1, bytes(Topics.importanceKey(b.getModel(), b.getModelVersion(), b.getLayer())),
          Topics.IMPORTANCE_HISTORY.valueSerde().serializer().serialize("", b)));
    }
    for (RankAlert a : alerts) {
      p.send(new org.apache.kafka.clients.producer.ProducerRecord<>(Topics.ALERTS.name(), null,
          a.getBucketStartMs() + a.getBucketMs() - 1, bytes(Topics.modelLayerKey(a.getModel(), a.getLayer())),
          Topics.ALERTS.valueSerde().serializer().serialize("", a)));
    }
  }

  private static byte[] bytes(String s) {
    return s.getBytes(java.nio.charset.StandardCharsets.UTF_8);
  }

  double[] reference() {
    double[] r = new double[referenceSum.length];
    for (int i = 0; i < r.length; i++) {
      r[i] = referenceSum[i] / referenceCount;
    }
    return r;
  }

  private RankAlert alert(AlertState state, String version, long startMs, double rho, double ov, double[] scores,
      double[] reference) {
    int[] rank = Fixtures.ranks(scores);
    int[] refRank = Fixtures.ranks(reference);
    double max = java.util.Arrays.stream(scores).max().orElse(1);
    double refMax = java.util.Arrays.stream(reference).max().orElse(1);
    List<FilterMove> moves = new ArrayList<>();
    for (int i = 0; i < scores.length; i++) {
      moves.add(FilterMove.newBuilder().setFilter(i).setReferenceRank(refRank[i]).setRank(rank[i])
          .setReferenceImportance(reference[i] / refMax).setImportance(scores[i] / max).build());
    }
    moves.removeIf(m -> m.getRank() == m.getReferenceRank());
    moves.sort(Comparator.comparingInt((FilterMove m) -> -Math.abs(m.getRank() - m.getReferenceRank()))
        .thenComparingInt(FilterMove::getFilter));
    return RankAlert.newBuilder().setState(state).setModel(model).setModelVersion(version)
        .setReferenceVersion(referenceVersion).setLayer(layer).setBucketStartMs(startMs).setBucketMs(bucketMs)
        .setRho(rho).setThreshold(threshold).setTopK(topK).setTopKOverlap(ov).setMovers(moves.subList(0, Math.min(5, moves.size()))).build();
  }
}
