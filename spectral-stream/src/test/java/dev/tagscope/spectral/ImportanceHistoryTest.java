package dev.tagscope.spectral;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tagscope.schemas.AlertState;
import dev.tagscope.schemas.FilterMove;
import dev.tagscope.schemas.ImportanceBucket;
import dev.tagscope.schemas.LayerImportance;
import dev.tagscope.schemas.RankAlert;
import dev.tagscope.schemas.Topics;
import dev.tagscope.tagging.spectral.ImportanceMath;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.test.TestRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The history part of the topology (buckets, reference, stability, alerts), fed one-window
 * importances of the test's own making so that every ranking is known. Expectations are computed
 * here independently: rho by Spearman's closed form {@code 1 - 6 Σd² / (n (n² - 1))} (no ties),
 * overlaps and movers by hand.
 */
class ImportanceHistoryTest {
  static final String INPUT = "test.window-importance";
  static final long MINUTE = 60_000;
  /** A multiple of one minute. */
  static final long T0 = 28_333_334L * MINUTE;
  static final String MODEL = "m";
  static final String LAYER = "conv1";
  /** The alert counter's name, as documented. */
  static final String ALERTS_METER = "tagscope.spectral.alerts";

  @TempDir
  Path stateDir;

  SimpleMeterRegistry registry;
  TopologyTestDriver driver;
  TestInputTopic<String, LayerImportance> windows;
  TestOutputTopic<String, ImportanceBucket> history;
  TestOutputTopic<String, RankAlert> alerts;

  void open(HistorySettings h) {
    registry = new SimpleMeterRegistry();
    StreamsBuilder b = new StreamsBuilder();
    KStream<String, LayerImportance> in = b.stream(INPUT, Consumed.with(Topics.IMPORTANCE.keySerde(), Topics.IMPORTANCE.valueSerde()));
    SpectralTopology.buildHistory(b, in, SpectralSettings.of(registry).withHistory(h));
    Properties p = new Properties();
    p.put(StreamsConfig.APPLICATION_ID_CONFIG, "history-test");
    p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "127.0.0.1:1");
    p.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
    driver = new TopologyTestDriver(b.build(), p);
    windows = driver.createInputTopic(INPUT, Topics.IMPORTANCE.keySerde().serializer(), Topics.IMPORTANCE.valueSerde().serializer());
    history = driver.createOutputTopic(Topics.IMPORTANCE_HISTORY.name(), Topics.IMPORTANCE_HISTORY.keySerde().deserializer(),
        Topics.IMPORTANCE_HISTORY.valueSerde().deserializer());
    alerts = driver.createOutputTopic(Topics.ALERTS.name(), Topics.ALERTS.keySerde().deserializer(),
        Topics.ALERTS.valueSerde().deserializer());
  }

  @AfterEach
  void close() {
    if (driver != null) {
      driver.close();
    }
  }

  /** A one-window importance of {@code scores} (all in the fundamental part). */
  static LayerImportance window(String version, double... scores) {
    double[] zero = new double[scores.length];
    return LayerImportance.newBuilder().setModel(MODEL).setModelVersion(version).setLayer(LAYER).setLastProbeId("p")
        .setUpdatedAtMs(0).setWindowsSeen(1).setFilters(ImportanceMath.rank(scores, zero, zero, zero, zero)).build();
  }

  void send(String version, long atMs, double... scores) {
    windows.pipeInput("any", window(version, scores), atMs);
  }

  /** Scores giving filter {@code c} the rank {@code ranks[c]} (1 = top). */
  static double[] scoresForRanks(int... ranks) {
    double[] s = new double[ranks.length];
    for (int c = 0; c < ranks.length; c++) {
      s[c] = 10.0 * (ranks.length + 1 - ranks[c]);
    }
    return s;
  }

  static final int[] IDENTITY = {1, 2, 3, 4, 5, 6, 7, 8};
  /** Filter 0 to rank 3, filter 3 to rank 8, filter 7 to rank 4, ...: d = 2, -1, -1, 4, 0, 0, 0, -4. */
  static final int[] PERMUTED = {3, 1, 2, 8, 5, 6, 7, 4};

  /** Spearman's closed form for two rankings without ties. */
  static double closedFormRho(int[] a, int[] b) {
    int n = a.length;
    double sum = 0;
    for (int i = 0; i < n; i++) {
      sum += (double) (a[i] - b[i]) * (a[i] - b[i]);
    }
    return 1 - 6 * sum / (n * ((double) n * n - 1));
  }

  /** One window per minute bucket {@code b} (at its 1st second), with the given ranking. */
  void bucket(String version, int b, int[] ranks) {
    send(version, T0 + b * MINUTE + 1000, scoresForRanks(ranks));
  }

  /** A window far later, so that every earlier bucket closes. */
  void flush(String version) {
    send(version, T0 + 1000 * MINUTE, scoresForRanks(IDENTITY));
  }

  static HistorySettings minuteBuckets() {
    return HistorySettings.defaults().withBucket(Duration.ofMinutes(1), Duration.ZERO);
  }

  @Test
  void bucketsHoldTheWindowsOfTheirStimulusTimeAndCloseAfterTheGrace() {
    open(HistorySettings.defaults().withBucket(Duration.ofMinutes(1), Duration.ofSeconds(10)));
    send("v1", T0, 4, 1);
    send("v1", T0 + 59_999, 2, 3);
    send("v1", T0 + 60_000, 9, 9); // next bucket
    send("v1", T0 + 30_000, 6, 2); // late, within the grace: still bucket 0
    send("v1", T0 + 69_999, 1, 1);
    assertTrue(history.isEmpty(), "bucket 0 still open: stream time 69.999 s < end 60 s + grace 10 s");
    send("v1", T0 + 70_000, 1, 1);
    List<TestRecord<String, ImportanceBucket>> got = history.readRecordsToList();
    assertEquals(1, got.size(), "bucket 0 closes at stream time 70 s");
    TestRecord<String, ImportanceBucket> r = got.get(0);
    assertEquals(Topics.importanceKey(MODEL, "v1", LAYER), r.key());
    assertEquals("m@v1/conv1", r.key());
    assertEquals(T0 + MINUTE - 1, r.timestamp(), "stamped with the bucket's end - 1 ms");
    ImportanceBucket b0 = r.value();
    assertEquals(T0, b0.getBucketStartMs());
    assertEquals(MINUTE, b0.getBucketMs());
    assertEquals(3, b0.getWindowsSeen(), "the windows at 0, 59.999 and (late) 30 s");
    assertEquals("v1", b0.getModelVersion());
    assertEquals((4 + 2 + 6) / 3.0, b0.getFilters().get(0).getScore(), 1e-12);
    assertEquals((1 + 3 + 2) / 3.0, b0.getFilters().get(1).getScore(), 1e-12);
    assertEquals(1, b0.getFilters().get(0).getRank());
    assertEquals(1.0, b0.getFilters().get(0).getImportance(), 1e-12);
    assertEquals(0.5, b0.getFilters().get(1).getImportance(), 1e-12);
    assertNull(b0.getRho(), "part of the reference");
    assertNull(b0.getReferenceVersion());

    send("v1", T0 + 40_000, 100, 0); // after bucket 0 closed: dropped from the history
    flush("v1");
    ImportanceBucket b1 = history.readValue();
    assertEquals(T0 + MINUTE, b1.getBucketStartMs());
    assertEquals(3, b1.getWindowsSeen(), "60, 69.999, 70 s and nothing else");
    assertEquals((9 + 1 + 1) / 3.0, b1.getFilters().get(0).getScore(), 1e-12);
    assertTrue(history.isEmpty(), "the late window made no bucket of its own; the flush bucket is still open");
  }

  @Test
  void theReferenceIsTheWindowsWeightedMeanOfTheFirstKBuckets() {
    open(minuteBuckets().withReference(3, null));
    send("v1", T0 + 1000, 4, 3, 2, 1);
    send("v1", T0 + MINUTE + 1000, 1, 2, 3, 10);
    send("v1", T0 + MINUTE + 2000, 1, 2, 3, 10); // two windows in bucket 1: it weighs twice
    send("v1", T0 + 2 * MINUTE + 1000, 4, 3.4, 2.2, 1);
    send("v1", T0 + 3 * MINUTE + 1000, 1, 2, 3, 4);
    flush("v1");
    List<ImportanceBucket> got = history.readValuesToList();
    assertEquals(4, got.size());
    for (int b = 0; b < 3; b++) {
      assertNull(got.get(b).getRho(), "bucket " + b + " is in the reference");
      assertNull(got.get(b).getReferenceVersion());
      assertEquals(0, got.get(b).getTopK());
      assertNull(got.get(b).getTopKOverlap());
    }
    assertEquals(2, got.get(1).getWindowsSeen());
    ImportanceBucket b3 = got.get(3);
    assertEquals("v1", b3.getReferenceVersion());
    // Mean over the reference's 4 windows: (4+1+1+4)/4 = 2.5, (3+2+2+3.4)/4 = 2.6, (2+3+3+2.2)/4 = 2.55,
    // (1+10+10+1)/4 = 5.5: ranks 4, 2, 3, 1. Bucket 3 ranks 4, 3, 2, 1.
    int[] weighted = {4, 2, 3, 1};
    int[] bucket3 = {4, 3, 2, 1};
    assertEquals(closedFormRho(bucket3, weighted), b3.getRho(), 1e-12);
    assertEquals(0.8, b3.getRho(), 1e-12);
    // The plain mean of the 3 buckets (3, 2.8, 2.4, 4: ranks 2, 3, 4, 1) would give 0.2, bucket 0 alone -1.
    assertEquals(0.2, closedFormRho(bucket3, new int[] {2, 3, 4, 1}), 1e-12);
  }

  @Test
  void aKnownPermutationGivesTheClosedFormRhoTopKOverlapAndMovers() {
    open(minuteBuckets().withReference(3, null).withAlerts(0.8, 4, 3));
    for (int b = 0; b < 3; b++) {
      bucket("v1", b, IDENTITY);
    }
    bucket("v1", 3, PERMUTED);
    flush("v1");
    List<ImportanceBucket> got = history.readValuesToList();
    assertEquals(4, got.size());
    ImportanceBucket b3 = got.get(3);
    double rho = closedFormRho(PERMUTED, IDENTITY); // 1 - 6*38/(8*63) = 0.5476
    assertEquals(1 - 6 * 38.0 / (8 * 63), rho, 1e-15);
    assertEquals(rho, b3.getRho(), 1e-12);
    assertEquals(4, b3.getTopK());
    // top-4 of the reference {0,1,2,3}, of the bucket {1,2,0,7}: 3 shared
    assertEquals(expectedOverlap(PERMUTED, IDENTITY, 4), b3.getTopKOverlap(), 1e-12);
    assertEquals(0.75, b3.getTopKOverlap(), 1e-12);

    List<TestRecord<String, RankAlert>> raised = alerts.readRecordsToList();
    assertEquals(1, raised.size());
    assertEquals(Topics.modelLayerKey(MODEL, LAYER), raised.get(0).key());
    assertEquals(T0 + 4 * MINUTE - 1, raised.get(0).timestamp());
    RankAlert a = raised.get(0).value();
    assertEquals(AlertState.RAISED, a.getState());
    assertEquals(MODEL, a.getModel());
    assertEquals(LAYER, a.getLayer());
    assertEquals("v1", a.getModelVersion());
    assertEquals("v1", a.getReferenceVersion());
    assertEquals(T0 + 3 * MINUTE, a.getBucketStartMs());
    assertEquals(MINUTE, a.getBucketMs());
    assertEquals(rho, a.getRho(), 1e-12);
    assertEquals(0.8, a.getThreshold());
    assertEquals(4, a.getTopK());
    assertEquals(0.75, a.getTopKOverlap(), 1e-12);
    // |d| = 2, 1, 1, 4, 0, 0, 0, 4: filters 3 and 7 (4 each, lower index first), then filter 0 (2)
    List<FilterMove> movers = a.getMovers();
    assertEquals(List.of(3, 7, 0), movers.stream().map(FilterMove::getFilter).toList());
    assertEquals(4, movers.get(0).getReferenceRank());
    assertEquals(8, movers.get(0).getRank());
    assertEquals(8, movers.get(1).getReferenceRank());
    assertEquals(4, movers.get(1).getRank());
    // importance = score / max: reference filter 3 scored 50 of 80, in the bucket 10 of 80
    assertEquals(50 / 80.0, movers.get(0).getReferenceImportance(), 1e-12);
    assertEquals(10 / 80.0, movers.get(0).getImportance(), 1e-12);
    assertEquals(1.0, registry.get(ALERTS_METER).tag("state", "raised").counter().count());
  }

  static double expectedOverlap(int[] ranks, int[] refRanks, int k) {
    Set<Integer> top = new HashSet<>();
    Set<Integer> refTop = new HashSet<>();
    for (int c = 0; c < ranks.length; c++) {
      if (ranks[c] <= k) {
        top.add(c);
      }
      if (refRanks[c] <= k) {
        refTop.add(c);
      }
    }
    top.retainAll(refTop);
    return top.size() / (double) k;
  }

  @Test
  void anEpisodeOfSeveralLowBucketsAlertsOnceAndClearsAfter() {
    open(minuteBuckets().withReference(3, null));
    int[][] plan = {IDENTITY, IDENTITY, IDENTITY, // reference
        IDENTITY, PERMUTED, PERMUTED, PERMUTED, IDENTITY, IDENTITY, PERMUTED};
    for (int b = 0; b < plan.length; b++) {
      bucket("v1", b, plan[b]);
    }
    flush("v1");
    List<ImportanceBucket> got = history.readValuesToList();
    assertEquals(plan.length, got.size());
    for (int b = 3; b < plan.length; b++) {
      assertEquals(closedFormRho(plan[b], IDENTITY), got.get(b).getRho(), 1e-12, "bucket " + b);
    }
    List<RankAlert> al = alerts.readValuesToList();
    assertEquals(List.of(AlertState.RAISED, AlertState.CLEARED, AlertState.RAISED), al.stream().map(RankAlert::getState).toList());
    assertEquals(List.of(T0 + 4 * MINUTE, T0 + 7 * MINUTE, T0 + 9 * MINUTE), al.stream().map(RankAlert::getBucketStartMs).toList(),
        "raised by the first low bucket, cleared by the first good one, raised again by the next episode");
    assertEquals(1.0, al.get(1).getRho(), 1e-12);
    assertTrue(al.get(1).getMovers().isEmpty(), "nothing moved in the clearing bucket");
    assertEquals(2.0, registry.get(ALERTS_METER).tag("state", "raised").counter().count());
    assertEquals(1.0, registry.get(ALERTS_METER).tag("state", "cleared").counter().count());
  }

  @Test
  void aStableRankingNeverAlerts() {
    open(minuteBuckets().withReference(3, null));
    for (int b = 0; b < 10; b++) {
      // magnitudes change from bucket to bucket, the order does not
      double[] s = scoresForRanks(IDENTITY);
      for (int c = 0; c < s.length; c++) {
        s[c] *= 1 + 0.1 * b;
      }
      send("v1", T0 + b * MINUTE + 5000, s);
    }
    flush("v1");
    List<ImportanceBucket> got = history.readValuesToList();
    assertEquals(10, got.size());
    for (int b = 3; b < 10; b++) {
      assertEquals(1.0, got.get(b).getRho(), 1e-12);
      assertEquals(1.0, got.get(b).getTopKOverlap(), 1e-12);
      assertEquals(HistorySettings.DEFAULT_TOP_K, got.get(b).getTopK());
    }
    assertTrue(alerts.isEmpty());
    assertEquals(0.0, registry.get(ALERTS_METER).tag("state", "raised").counter().count());
  }

  @Test
  void aPinnedVersionIsTheReference() {
    int[] reversed = {8, 7, 6, 5, 4, 3, 2, 1};
    open(minuteBuckets().withReference(2, "v2"));
    bucket("v1", 0, IDENTITY);
    bucket("v1", 1, IDENTITY);
    bucket("v1", 2, IDENTITY); // v1 never forms the reference
    bucket("v2", 3, reversed);
    bucket("v2", 4, reversed); // the reference: the first 2 buckets of v2
    bucket("v2", 5, reversed);
    bucket("v1", 6, IDENTITY);
    flush("v1");
    List<TestRecord<String, ImportanceBucket>> got = history.readRecordsToList();
    assertEquals(7, got.size());
    for (int b = 0; b < 5; b++) {
      assertNull(got.get(b).value().getRho(), "bucket " + b + ": no complete reference yet, or in it");
      assertNull(got.get(b).value().getReferenceVersion());
    }
    assertEquals("m@v2/conv1", got.get(5).key());
    assertEquals("v2", got.get(5).value().getReferenceVersion());
    assertEquals(1.0, got.get(5).value().getRho(), 1e-12);
    assertEquals("m@v1/conv1", got.get(6).key());
    assertEquals("v2", got.get(6).value().getReferenceVersion());
    assertEquals(closedFormRho(IDENTITY, reversed), got.get(6).value().getRho(), 1e-12);
    assertEquals(-1.0, got.get(6).value().getRho(), 1e-12);
    RankAlert a = alerts.readValue();
    assertEquals(AlertState.RAISED, a.getState());
    assertEquals("v1", a.getModelVersion());
    assertEquals("v2", a.getReferenceVersion());
    assertTrue(alerts.isEmpty());
  }

  @Test
  void withoutAPinTheFirstVersionSeenIsTheReferenceForLaterVersions() {
    open(minuteBuckets().withReference(1, null));
    bucket("v1", 0, IDENTITY);
    bucket("v2", 1, PERMUTED);
    bucket("v2", 2, IDENTITY);
    flush("v2");
    List<ImportanceBucket> got = history.readValuesToList();
    assertEquals(3, got.size());
    assertNull(got.get(0).getRho());
    assertEquals("v1", got.get(1).getReferenceVersion());
    assertEquals("v2", got.get(1).getModelVersion());
    assertEquals(closedFormRho(PERMUTED, IDENTITY), got.get(1).getRho(), 1e-12);
    assertEquals(1.0, got.get(2).getRho(), 1e-12);
    List<RankAlert> al = alerts.readValuesToList();
    assertEquals(List.of(AlertState.RAISED, AlertState.CLEARED), al.stream().map(RankAlert::getState).toList());
    assertEquals("v1", al.get(0).getReferenceVersion());
    assertEquals("v2", al.get(0).getModelVersion());
  }

  @Test
  void episodesArePerVersionSoAGoodVersionBesideABadOneNeitherClearsNorRepeatsItsAlert() {
    open(minuteBuckets().withReference(1, null));
    bucket("v1", 0, IDENTITY);   // the reference
    bucket("v2", 1, PERMUTED);   // v2 low: raised
    bucket("v1", 2, IDENTITY);   // v1 still fine: must not clear v2's alert
    bucket("v2", 3, PERMUTED);   // v2 still low: the same episode, no second alert
    bucket("v2", 4, IDENTITY);   // v2 recovered: cleared
    flush("v1");
    flush("v2");
    List<RankAlert> al = alerts.readValuesToList();
    assertEquals(List.of("RAISED v2 " + (T0 + MINUTE), "CLEARED v2 " + (T0 + 4 * MINUTE)), al.stream()
        .map(a -> a.getState() + " " + a.getModelVersion() + " " + a.getBucketStartMs()).toList());
  }

  @Test
  void layersKeepTheirOwnReferenceAndEpisode() {
    open(minuteBuckets().withReference(1, null));
    bucket("v1", 0, IDENTITY);
    windows.pipeInput("any", other("conv2", scoresForRanks(PERMUTED)), T0 + 1000);
    bucket("v1", 1, IDENTITY);
    windows.pipeInput("any", other("conv2", scoresForRanks(PERMUTED)), T0 + MINUTE + 1000);
    flush("v1");
    List<ImportanceBucket> got = new ArrayList<>(history.readValuesToList());
    assertEquals(4, got.size());
    got.removeIf(b -> b.getRho() == null);
    assertEquals(2, got.size(), "bucket 1 of each layer is compared with that layer's own bucket 0");
    got.forEach(b -> assertEquals(1.0, b.getRho(), 1e-12, b.getLayer()));
    assertTrue(alerts.isEmpty());
  }

  static LayerImportance other(String layer, double[] scores) {
    LayerImportance li = window("v1", scores);
    li.setLayer(layer);
    return li;
  }

  @Test
  void badSettingsFailNamingTheSettingAndTheFix() {
    HistorySettings d = HistorySettings.defaults();
    assertMessage("bucket: must be from 1 s", () -> d.withBucket(Duration.ofMillis(999), Duration.ZERO));
    assertMessage("bucket: must be from 1 s", () -> d.withBucket(Duration.ofDays(31), Duration.ZERO));
    assertMessage("grace: must be from 0", () -> d.withBucket(Duration.ofMinutes(1), Duration.ofSeconds(-1)));
    assertMessage("grace: must be from 0", () -> d.withBucket(Duration.ofMinutes(1), Duration.ofMinutes(2)));
    assertMessage("referenceBuckets: must be at least 1", () -> d.withReference(0, null));
    assertMessage("pinnedVersion: blank", () -> d.withReference(3, " "));
    assertMessage("rhoThreshold: Spearman rho lies in [-1, 1]", () -> d.withAlerts(1.5, 8, 8));
    assertMessage("rhoThreshold: Spearman rho lies in [-1, 1]", () -> d.withAlerts(Double.NaN, 8, 8));
    assertMessage("topK: must be at least 1", () -> d.withAlerts(0.8, 0, 8));
    assertMessage("movers: must be at least 1", () -> d.withAlerts(0.8, 8, 0));
    assertEquals(Duration.ofMinutes(1), d.bucket());
    assertEquals(Duration.ofSeconds(10), d.grace());
    assertEquals(3, d.referenceBuckets());
    assertNull(d.pinnedVersion());
    assertEquals(0.8, d.rhoThreshold());
    assertEquals(8, d.topK());
    assertEquals(8, d.movers());
  }

  static void assertMessage(String start, org.junit.jupiter.api.function.Executable e) {
    IllegalArgumentException x = assertThrows(IllegalArgumentException.class, e);
    assertTrue(x.getMessage().startsWith(start), x.getMessage());
  }
}
