package dev.tagscope.dashboard.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tagscope.dashboard.Fixtures;
import dev.tagscope.dashboard.internal.ApiModel.AlertView;
import dev.tagscope.dashboard.internal.ApiModel.BucketPoint;
import dev.tagscope.dashboard.internal.ApiModel.ChangeEvent;
import dev.tagscope.dashboard.internal.ApiModel.CompareView;
import dev.tagscope.dashboard.internal.ApiModel.FilterRow;
import dev.tagscope.dashboard.internal.ApiModel.HistoryView;
import dev.tagscope.dashboard.internal.ApiModel.LayerSummary;
import dev.tagscope.schemas.AlertState;
import dev.tagscope.schemas.BucketFilter;
import dev.tagscope.schemas.ImportanceBucket;
import dev.tagscope.schemas.Topics;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Model versions, history buckets, alerts and the side-by-side comparison of the view. */
class MonitoringViewTest {
  private static final long T0 = 1_700_000_040_000L; // a multiple of 60 s
  private static final long MIN = 60_000L;

  private final DashboardView view = new DashboardView();

  @Test
  void versionsOfAModelAreKeptApartAndListedByModelThenVersionThenLayer() {
    view.acceptImportance(Topics.importanceKey("m", "v2", "l"), Fixtures.scored("m", "v2", "l", 1, 2));
    view.acceptImportance(Topics.importanceKey("m", "v1", "l"), Fixtures.scored("m", "v1", "l", 2, 1, 3));
    view.acceptImportance(Topics.importanceKey("m", "v1", "a"), Fixtures.scored("m", "v1", "a", 1));
    view.acceptImportance(Topics.importanceKey("b", "", "l"), Fixtures.scored("b", "", "l", 1));

    List<LayerSummary> layers = view.layers();
    assertEquals(List.of("b//l", "m/v1/a", "m/v1/l", "m/v2/l"),
        layers.stream().map(l -> l.model() + "/" + l.version() + "/" + l.layer()).toList());
    assertEquals(3, layers.get(2).filters());
    assertEquals(2, view.importance("m", "v2", "l").filters().size());
    assertEquals("v1", view.importance("m", "v1", "l").version());
    // v1's ranking: filter 2 (score 3) first, then 0 (2), then 1 (1)
    assertEquals(List.of(2, 0, 1), view.importance("m", "v1", "l").filters().stream().map(FilterRow::filter).toList());
    assertEquals("unknown version 'v3' of model 'm'",
        assertThrows(DashboardView.NotFoundException.class, () -> view.importance("m", "v3", "l")).getMessage());
    assertEquals("unknown layer 'a' of model 'm' version 'v2'",
        assertThrows(DashboardView.NotFoundException.class, () -> view.importance("m", "v2", "a")).getMessage());

    // A tombstone forgets one version's layer only.
    view.acceptImportance(Topics.importanceKey("m", "v1", "l"), null);
    assertEquals(List.of("b//l", "m/v1/a", "m/v2/l"),
        view.layers().stream().map(l -> l.model() + "/" + l.version() + "/" + l.layer()).toList());
  }

  @Test
  void historyKeepsTheLatestBucketsByStartOldestFirstAndABucketSentAgainReplacesItsStart() {
    DashboardView small = new DashboardView(DashboardView.DEFAULT_MAX_RESPONSE_PROBES, 3);
    small.acceptImportance(Topics.importanceKey("m", "v1", "l"), Fixtures.scored("m", "v1", "l", 3, 2, 1));
    for (int b : new int[] {2, 0, 4, 1, 3}) { // out of order on purpose
      small.acceptBucket(Fixtures.bucket("m", "v1", "l", T0 + b * MIN, MIN, null, null, 0, null, 3, 2, 1));
    }
    // bucket 3 sent again with a new ranking and stability: it replaces the one held
    small.acceptBucket(Fixtures.bucket("m", "v1", "l", T0 + 3 * MIN, MIN, "v1", 0.5, 2, 0.5, 1, 2, 3));

    HistoryView h = small.history("m", "v1", "l", 8);
    assertEquals(List.of(T0 + 2 * MIN, T0 + 3 * MIN, T0 + 4 * MIN),
        h.buckets().stream().map(BucketPoint::bucketStartMs).toList());
    assertEquals(3, h.keptBuckets());
    BucketPoint b3 = h.buckets().get(1);
    assertEquals(0.5, b3.rho());
    assertEquals(0.5, b3.topKOverlap());
    assertEquals(2, b3.topK());
    assertEquals("v1", b3.referenceVersion());
    assertNull(h.buckets().get(0).rho());
    assertEquals("2023-11-14T22:16:00Z", h.buckets().get(0).bucketStart());
    assertEquals(3, small.layers().get(0).historyBuckets());
    assertThrows(IllegalArgumentException.class, () -> new DashboardView(1, 0));
  }

  @Test
  void historySeriesFollowTheLatestBucketsTopFilters() {
    // bucket 0: scores 4, 2, 1, 8 -> importance 0.5, 0.25, 0.125, 1; ranks 2, 3, 4, 1
    view.acceptBucket(Fixtures.bucket("m", "v1", "l", T0, MIN, null, null, 0, null, 4, 2, 1, 8));
    // bucket 1: filter 1 missing; scores f0 = 2, f2 = 4, f3 = 1 -> importance 0.5, 1, 0.25; ranks 2, 1, 3
    ImportanceBucket full = Fixtures.bucket("m", "v1", "l", T0 + MIN, MIN, "v1", -0.5, 2, 0.0, 2, 0, 4, 1);
    List<BucketFilter> without1 = new ArrayList<>(full.getFilters());
    without1.removeIf(f -> f.getFilter() == 1);
    for (int i = 0; i < without1.size(); i++) {
      BucketFilter f = without1.get(i);
      without1.set(i, BucketFilter.newBuilder(f).setRank(f.getFilter() == 2 ? 1 : f.getFilter() == 0 ? 2 : 3).build());
    }
    view.acceptBucket(ImportanceBucket.newBuilder(full).setFilters(without1).build());

    HistoryView h = view.history("m", "v1", "l", 2);
    assertEquals(2, h.top().size());
    assertEquals(2, h.top().get(0).filter()); // best in the latest bucket
    assertEquals(1, h.top().get(0).latestRank());
    assertEquals(Arrays.asList(0.125, 1.0), h.top().get(0).importance());
    assertEquals(Arrays.asList(4, 1), h.top().get(0).rank());
    assertEquals(0, h.top().get(1).filter());
    assertEquals(Arrays.asList(0.5, 0.5), h.top().get(1).importance());
    assertEquals(-0.5, h.buckets().get(1).rho());
    // No alert yet: the default threshold.
    assertEquals(DashboardView.DEFAULT_ALERT_THRESHOLD, h.threshold());
    assertFalse(h.thresholdFromAlert());
    // top beyond the filters: every filter of the latest bucket; filter 1 then has no series entry
    assertEquals(3, view.history("m", "v1", "l", 64).top().size());

    assertEquals("no importance history of layer 'l' of model 'm' version 'v2' yet; the spectral stream writes one"
            + " bucket per bucket of stimulus time to tagscope.importance-history",
        assertThrows(DashboardView.NotFoundException.class, () -> view.history("m", "v2", "l", 8)).getMessage());
  }

  @Test
  void badBucketsAndAlertsAreRefused() {
    ImportanceBucket good = Fixtures.bucket("m", "v1", "l", T0, MIN, null, null, 0, null, 1, 2);
    assertThrows(IllegalArgumentException.class, () -> view.acceptBucket(null));
    assertEquals("importance bucket of m@v1/l has bucketMs 0; it must be > 0", assertThrows(IllegalArgumentException.class,
        () -> view.acceptBucket(ImportanceBucket.newBuilder(good).setBucketMs(0).build())).getMessage());
    List<BucketFilter> twice = List.of(good.getFilters().get(0), good.getFilters().get(0));
    assertThrows(IllegalArgumentException.class,
        () -> view.acceptBucket(ImportanceBucket.newBuilder(good).setFilters(twice).build()));
    assertThrows(IllegalArgumentException.class,
        () -> view.acceptBucket(ImportanceBucket.newBuilder(good).setLayer("").build()));
    assertThrows(IllegalArgumentException.class, () -> view.acceptAlert(null));
    assertThrows(DashboardView.NotFoundException.class, () -> view.history("m", "v1", "l", 8));
  }

  @Test
  void alertsComeNewestFirstTheLatestRaisedIsOpenAndItsThresholdIsDrawn() {
    List<ChangeEvent> heard = new ArrayList<>();
    view.addListener(heard::add);
    view.acceptImportance(Topics.importanceKey("m", "v2", "l"), Fixtures.scored("m", "v2", "l", 1, 2));
    view.acceptBucket(Fixtures.bucket("m", "v2", "l", T0, MIN, "v1", 0.5, 2, 0.5, 1, 2));
    view.acceptAlert(Fixtures.alert(AlertState.RAISED, "m", "v2", "l", T0, 0.5));
    view.acceptAlert(Fixtures.alert(AlertState.CLEARED, "m", "v2", "l", T0 + 2 * MIN, 0.875));
    view.acceptAlert(Fixtures.alert(AlertState.RAISED, "m", "v2", "l", T0 + 5 * MIN, 0.25));
    view.acceptAlert(Fixtures.alert(AlertState.RAISED, "m", "v2", "other", T0 + MIN, 0.0));
    view.acceptAlert(Fixtures.alert(AlertState.RAISED, "n", "", "l", T0 + 3 * MIN, 0.125));

    List<AlertView> all = view.alerts(null, null, 100);
    assertEquals(List.of(T0 + 5 * MIN, T0 + 3 * MIN, T0 + 2 * MIN, T0 + MIN, T0),
        all.stream().map(AlertView::bucketStartMs).toList());
    assertEquals(List.of(true, true, false, true, false), all.stream().map(AlertView::open).toList());
    AlertView first = all.get(0);
    assertEquals("RAISED", first.state());
    assertEquals("v2", first.version());
    assertEquals("v1", first.referenceVersion());
    assertEquals(0.25, first.rho());
    assertEquals(0.75, first.threshold());
    assertEquals(0.5, first.topKOverlap());
    assertEquals(new ApiModel.FilterMoveView(3, 1, 4, 1.0, 0.25), first.movers().get(0));
    assertEquals("2023-11-14T22:19:00Z", first.bucketStart());
    assertEquals(3, view.alerts("m", "l", 100).size());
    assertEquals(1, view.alerts(null, "other", 100).size());
    assertEquals(2, view.alerts(null, null, 2).size());

    // The layer list marks the open alert; the history draws the alert's threshold.
    assertTrue(view.layers().get(0).alertOpen());
    HistoryView h = view.history("m", "v2", "l", 8);
    assertEquals(0.75, h.threshold());
    assertTrue(h.thresholdFromAlert());
    assertEquals(new ChangeEvent("history", "m", "v2", "l", null, 4), heard.get(1));
    assertEquals(new ChangeEvent("alert", "m", "v2", "l", null, 0), heard.get(2));
  }

  @Test
  void alertsAreBounded() {
    for (int i = 0; i < DashboardView.MAX_ALERTS + 5; i++) {
      view.acceptAlert(Fixtures.alert(i % 2 == 0 ? AlertState.RAISED : AlertState.CLEARED, "m", "v", "l", T0 + i * MIN, 0.5));
    }
    List<AlertView> kept = view.alerts(null, null, DashboardView.MAX_ALERTS);
    assertEquals(DashboardView.MAX_ALERTS, kept.size());
    assertEquals(T0 + 5 * MIN, kept.get(kept.size() - 1).bucketStartMs()); // the first five went
  }

  @Test
  void twoVersionsSideBySideWithoutTies() {
    // scores a: f0..f4 = 5 4 3 2 1; b: 4 5 3 1 2. Rank differences (by value) 1, -1, 0, 1, -1:
    // sum d^2 = 4, rho = 1 - 6 * 4 / (5 * (25 - 1)) = 0.8 (Spearman 1904, no ties).
    view.acceptImportance(Topics.importanceKey("m", "v1", "l"), Fixtures.scored("m", "v1", "l", 5, 4, 3, 2, 1));
    view.acceptImportance(Topics.importanceKey("m", "v2", "l"), Fixtures.scored("m", "v2", "l", 4, 5, 3, 1, 2));

    CompareView c = view.compare("m", "l", "v1", "v2", 2);
    assertEquals(0.8, c.rho(), 1e-12);
    assertEquals(5, c.filters());
    assertEquals(2, c.topK());
    assertEquals(1.0, c.topKOverlap()); // {0, 1} and {1, 0}
    assertEquals(0.0, view.compare("m", "l", "v1", "v2", 1).topKOverlap()); // {0} against {1}
    assertEquals(0.75, view.compare("m", "l", "v1", "v2", 4).topKOverlap()); // {0,1,2,3} against {1,0,2,4}
    assertEquals(5, view.compare("m", "l", "v1", "v2", 99).topK()); // capped at the shared filters
    assertEquals(List.of(0, 1, 2, 3, 4), c.a().filters().stream().map(FilterRow::filter).toList());
    assertEquals(List.of(1, 0, 2, 4, 3), c.b().filters().stream().map(FilterRow::filter).toList());
    assertEquals("v2", c.b().version());
    assertEquals(1.0, view.compare("m", "l", "v1", "v1", 2).rho(), 1e-12);
    assertEquals("unknown version 'v9' of model 'm'",
        assertThrows(DashboardView.NotFoundException.class, () -> view.compare("m", "l", "v1", "v9", 2)).getMessage());
  }

  @Test
  void twoVersionsSideBySideWithTiesUseAverageRanks() {
    // a = 1 1 2 3: average ranks 1.5 1.5 3 4; b = 1 2 3 4: ranks 1 2 3 4. Pearson of the ranks:
    // deviations (-1, -1, .5, 1.5) and (-1.5, -.5, .5, 1.5): 4.5 / sqrt(4.5 * 5) = sqrt(0.9).
    view.acceptImportance(Topics.importanceKey("m", "v1", "l"), Fixtures.scored("m", "v1", "l", 1, 1, 2, 3));
    view.acceptImportance(Topics.importanceKey("m", "v2", "l"), Fixtures.scored("m", "v2", "l", 1, 2, 3, 4));
    assertEquals(Math.sqrt(0.9), view.compare("m", "l", "v1", "v2", 2).rho(), 1e-12);
  }

  @Test
  void onlySharedFiltersAreComparedAndUndefinedRhoIsNull() {
    // v2 has a fifth filter: left out. Shared f0..f3: a = 4 3 2 1, b = 1 2 3 4: rho = -1.
    view.acceptImportance(Topics.importanceKey("m", "v1", "l"), Fixtures.scored("m", "v1", "l", 4, 3, 2, 1));
    view.acceptImportance(Topics.importanceKey("m", "v2", "l"), Fixtures.scored("m", "v2", "l", 1, 2, 3, 4, 9));
    CompareView c = view.compare("m", "l", "v1", "v2", 2);
    assertEquals(-1.0, c.rho(), 1e-12);
    assertEquals(4, c.filters());
    assertEquals(0.0, c.topKOverlap()); // {0, 1} against {3, 2} (filter 4 is not shared)

    view.acceptImportance(Topics.importanceKey("m", "flat", "l"), Fixtures.scored("m", "flat", "l", 2, 2, 2, 2));
    assertNull(view.compare("m", "l", "v1", "flat", 2).rho()); // a constant side has no rank order
    view.acceptImportance(Topics.importanceKey("m", "one", "l"), Fixtures.scored("m", "one", "l", 2));
    CompareView single = view.compare("m", "l", "v1", "one", 3);
    assertNull(single.rho());
    assertEquals(1, single.topK());
    assertEquals(1.0, single.topKOverlap());
  }
}
