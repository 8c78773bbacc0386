package dev.tagscope.dashboard.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tagscope.dashboard.Fixtures;
import dev.tagscope.dashboard.internal.ApiModel.ChangeEvent;
import dev.tagscope.dashboard.internal.ApiModel.FilterRow;
import dev.tagscope.dashboard.internal.ApiModel.ImportanceView;
import dev.tagscope.dashboard.internal.ApiModel.LayerSummary;
import dev.tagscope.dashboard.internal.ApiModel.ProbeSummary;
import dev.tagscope.dashboard.internal.ApiModel.SpectrumBin;
import dev.tagscope.dashboard.internal.ApiModel.SpectrumView;
import dev.tagscope.dashboard.internal.ApiModel.ValidationView;
import dev.tagscope.schemas.FilterResponse;
import dev.tagscope.schemas.LayerValidation;
import dev.tagscope.schemas.PruningCurve;
import dev.tagscope.schemas.TagResponse;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class DashboardViewTest {

  private final DashboardView view = new DashboardView();

  @Test
  void filtersComeBackByRankThenImportanceThenFilter() {
    view.acceptImportance("m/l", Fixtures.importance("m", "l", 4, List.of(
        Fixtures.filter(7, 3, 0.25, 0.1, 0.0, 0.0),
        Fixtures.filter(2, 1, 1.0, 0.2, 0.1, 0.1),
        Fixtures.filter(5, 2, 0.5, 0.1, 0.05, 0.05),
        Fixtures.filter(9, 2, 0.6, 0.1, 0.05, 0.05),   // same rank as 5, higher importance: goes first
        Fixtures.filter(1, 2, 0.6, 0.1, 0.05, 0.05)))); // same rank and importance as 9: lower index first

    ImportanceView v = view.importance("m", "", "l");

    List<Integer> order = v.filters().stream().map(FilterRow::filter).toList();
    assertEquals(List.of(2, 1, 9, 5, 7), order);
    FilterRow top = v.filters().get(0);
    assertEquals(1, top.rank());
    assertEquals(1.0, top.importance());
    assertEquals(0.2 + 0.1 + 0.1, top.score());
    assertEquals(0.2, top.fundamental());
    assertEquals(0.1, top.harmonic());
    assertEquals(0.1, top.intermodulation());
    assertEquals(4.5, top.meanSnr());
    assertEquals(5.25, top.paperSnrDb());
    assertEquals(4, v.windowsSeen());
    assertEquals("2023-11-14T22:13:22Z", v.updatedAt());
  }

  @Test
  void latestImportanceWinsPerModelAndLayer() {
    view.acceptImportance("m/l", Fixtures.importance("m", "l", 1, List.of(Fixtures.filter(0, 1, 1.0, 1, 0, 0))));
    view.acceptImportance("m/other", Fixtures.importance("m", "other", 3, List.of(Fixtures.filter(0, 1, 1.0, 1, 0, 0))));
    view.acceptImportance("m/l", Fixtures.importance("m", "l", 2, List.of(
        Fixtures.filter(0, 2, 0.5, 1, 0, 0), Fixtures.filter(1, 1, 1.0, 2, 0, 0))));

    ImportanceView v = view.importance("m", "", "l");
    assertEquals(2, v.windowsSeen());
    assertEquals(List.of(1, 0), v.filters().stream().map(FilterRow::filter).toList());
    List<LayerSummary> layers = view.layers();
    assertEquals(List.of("l", "other"), layers.stream().map(LayerSummary::layer).toList());
    assertEquals(2, layers.get(0).filters());
    assertEquals(3, layers.get(1).windowsSeen());
  }

  @Test
  void latestTagResponseWinsAndIsCounted() {
    view.acceptTagResponse(Fixtures.tagResponse("p", "m", "l", "img-1", 2));
    view.acceptTagResponse(Fixtures.tagResponse("p", "m", "l", "img-2", 2));

    SpectrumView s = view.spectrum("p", "l", 1);
    assertEquals("img-2", s.imageId());
    assertEquals(2, s.responsesSeen());
  }

  @Test
  void spectrumFrequencyAxisIsBinTimesFpsOverWindow() {
    view.acceptTagResponse(Fixtures.tagResponse("p", "m", "l", "img", 1));
    SpectrumView s = view.spectrum("p", "l", 0);

    assertEquals(Fixtures.W / 2 + 1, s.frequencyHz().length);
    // 120 fps, W = 240: bin width 0.5 Hz, so bin b lies at b / 2 Hz and Nyquist (bin 120) at 60 Hz.
    assertEquals(0.0, s.frequencyHz()[0]);
    assertEquals(0.5, s.frequencyHz()[1]);
    assertEquals(6.0, s.frequencyHz()[12]);
    assertEquals(7.5, s.frequencyHz()[15]);
    assertEquals(60.0, s.frequencyHz()[120]);
    assertEquals(0.5, s.binWidthHz());
    for (int b = 0; b < s.amplitude().size(); b++) {
      assertEquals(Fixtures.spectrumValue(0, b), s.amplitude().get(b));
    }
  }

  @Test
  void spectrumFrequencyAxisForAnOddPlan() {
    // 100 fps, W = 256: bin width 0.390625 Hz (exact in binary).
    TagResponse r = Fixtures.tagResponse("p", "m", "l", "img", 1);
    List<Float> spectrum = new ArrayList<>();
    for (int b = 0; b <= 128; b++) {
      spectrum.add((float) b);
    }
    FilterResponse f = FilterResponse.newBuilder(r.getFilters().get(0)).setSpectrum(spectrum).build();
    TagResponse odd = TagResponse.newBuilder(r).setFps(100.0).setWindowFrames(256).setBinWidthHz(100.0 / 256)
        .setFilters(List.of(f)).build();
    view.acceptTagResponse(odd);

    double[] axis = view.spectrum("p", "l", 0).frequencyHz();
    assertEquals(129, axis.length);
    assertEquals(0.390625, axis[1]);
    assertEquals(25.0, axis[64]);
    assertEquals(50.0, axis[128]);
    assertEquals(7.8125, axis[20]);
  }

  @Test
  void spectrumCarriesTheSignalBinMeasures() {
    view.acceptTagResponse(Fixtures.tagResponse("p", "m", "l", "img", 3));
    SpectrumView s = view.spectrum("p", "l", 2);

    assertEquals(List.of("f1", "f2", "2f1", "f1+f2", "f2-f1"), s.signalBins().stream().map(SpectrumBin::label).toList());
    assertEquals(List.of("FUNDAMENTAL", "FUNDAMENTAL", "HARMONIC", "INTERMODULATION", "INTERMODULATION"),
        s.signalBins().stream().map(SpectrumBin::kind).toList());
    SpectrumBin f1 = s.signalBins().get(0);
    // filter 2 at bin 12: spectrum (2 + 1) * 12 / 1024 = 0.03515625; baseline 0.125 * 3 = 0.375
    double a = 0.03515625;
    assertEquals(12, f1.bin());
    assertEquals(6.0, f1.frequencyHz());
    assertEquals(a, f1.amplitude());
    assertEquals(0.375, f1.baseline());
    assertEquals(a / 0.375, f1.snr());
    assertEquals(a - 0.375, f1.corrected());
  }

  @Test
  void unknownNamesAreReportedPrecisely() {
    view.acceptProbe("p", Fixtures.probe("p", "m"));
    view.acceptImportance("m/l", Fixtures.importance("m", "l", 1, List.of(Fixtures.filter(0, 1, 1.0, 1, 0, 0))));
    view.acceptTagResponse(Fixtures.tagResponse("p", "m", "l", "img", 2));

    assertEquals("unknown model 'x'",
        assertThrows(DashboardView.NotFoundException.class, () -> view.importance("x", "", "l")).getMessage());
    assertEquals("unknown layer 'x' of model 'm'",
        assertThrows(DashboardView.NotFoundException.class, () -> view.importance("m", "", "x")).getMessage());
    assertEquals("unknown probe 'q'",
        assertThrows(DashboardView.NotFoundException.class, () -> view.spectrum("q", "l", 0)).getMessage());
    assertEquals("no tag response for layer 'x' of probe 'p'",
        assertThrows(DashboardView.NotFoundException.class, () -> view.spectrum("p", "x", 0)).getMessage());
    assertEquals("unknown filter 2 in layer 'l' of probe 'p'",
        assertThrows(DashboardView.NotFoundException.class, () -> view.spectrum("p", "l", 2)).getMessage());
  }

  @Test
  void tombstonesForgetProbesAndLayers() {
    view.acceptProbe("p", Fixtures.probe("p", "m"));
    view.acceptImportance("m/l", Fixtures.importance("m", "l", 1, List.of(Fixtures.filter(0, 1, 1.0, 1, 0, 0))));
    assertEquals(1, view.probes().size());
    view.acceptProbe("p", null);
    view.acceptImportance("m/l", null);
    assertTrue(view.probes().isEmpty());
    assertTrue(view.layers().isEmpty());
  }

  @Test
  void inconsistentTagResponseIsRefusedAndLeavesTheViewAlone() {
    view.acceptTagResponse(Fixtures.tagResponse("p", "m", "l", "good", 1));
    TagResponse r = Fixtures.tagResponse("p", "m", "l", "bad", 1);
    FilterResponse f = FilterResponse.newBuilder(r.getFilters().get(0)).setSnr(List.of(1.0)).build();
    TagResponse bad = TagResponse.newBuilder(r).setFilters(List.of(f)).build();

    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> view.acceptTagResponse(bad));
    assertEquals("filter 0 has per-bin arrays of sizes 5/5/1/5 for 5 signal bins", e.getMessage());
    assertEquals("good", view.spectrum("p", "l", 0).imageId());
  }

  @Test
  void probeSummaryAndLayerProbes() {
    view.acceptProbe("p", Fixtures.probe("p", "m"));
    view.acceptImportance("m/l", Fixtures.importance("m", "l", 1, List.of(Fixtures.filter(0, 1, 1.0, 1, 0, 0))));
    view.acceptTagResponse(Fixtures.tagResponse("p", "m", "l", "img", 1));
    view.acceptTagResponse(Fixtures.tagResponse("a", "m", "l", "img", 1));
    view.acceptTagResponse(Fixtures.tagResponse("z", "other-model", "l", "img", 1));

    ProbeSummary p = view.probes().get(0);
    assertEquals("halves-lr", p.layout());
    assertEquals(List.of("left", "right"), p.regions().stream().map(ApiModel.RegionSummary::name).toList());
    assertEquals(7.5, p.regions().get(1).frequencyHz());
    assertEquals(2.0, p.windowSeconds());
    assertEquals(0.5, p.binWidthHz());
    assertEquals(5, p.signalBins().size());
    assertEquals(List.of("a", "p"), view.layers().get(0).probes());
  }

  @Test
  void listenersHearEveryChange() {
    List<ChangeEvent> heard = new ArrayList<>();
    view.addListener(heard::add);
    view.acceptProbe("p", Fixtures.probe("p", "m"));
    view.acceptImportance("m/l", Fixtures.importance("m", "l", 9, List.of(Fixtures.filter(0, 1, 1.0, 1, 0, 0))));
    view.acceptTagResponse(Fixtures.tagResponse("p", "m", "l", "img", 1));
    view.acceptTagResponse(Fixtures.tagResponse("p", "m", "l", "img", 1));

    assertEquals(List.of(
        new ChangeEvent("probe", "m", null, null, "p", 0),
        new ChangeEvent("importance", "m", "", "l", "probe-1", 9),
        new ChangeEvent("tag-response", "m", "", "l", "p", 1),
        new ChangeEvent("tag-response", "m", "", "l", "p", 2)), heard);
  }

  @Test
  void tagResponsesAreKeptForABoundedNumberOfProbesMostRecentFirst() {
    DashboardView small = new DashboardView(2);
    small.acceptImportance("m/l", Fixtures.importance("m", "l", 1, List.of(Fixtures.filter(0, 1, 1.0, 1, 0, 0))));
    small.acceptTagResponse(Fixtures.tagResponse("p1", "m", "l", "img", 1));
    small.acceptTagResponse(Fixtures.tagResponse("p1", "m", "l2", "img", 1));
    small.acceptTagResponse(Fixtures.tagResponse("p2", "m", "l", "img", 1));
    small.acceptTagResponse(Fixtures.tagResponse("p1", "m", "l", "img", 1)); // p1 is now the newest
    small.acceptTagResponse(Fixtures.tagResponse("p3", "m", "l", "img", 1)); // forgets p2, the least recent

    assertEquals(List.of("p1", "p3"), small.layers().get(0).probes());
    assertEquals(2, small.spectrum("p1", "l", 0).responsesSeen());
    assertEquals(1, small.spectrum("p1", "l2", 0).responsesSeen());
    assertThrows(DashboardView.NotFoundException.class, () -> small.spectrum("p2", "l", 0));

    // A long campaign: many probes never grow the view beyond the bound.
    for (int i = 0; i < 1000; i++) {
      small.acceptTagResponse(Fixtures.tagResponse("q" + i, "m", "l", "img", 1));
    }
    assertEquals(List.of("q998", "q999"), small.layers().get(0).probes());
    assertThrows(IllegalArgumentException.class, () -> new DashboardView(0));
  }

  @Test
  void validationComesBackPerLayerWithUndefinedNumbersAsNull() {
    List<ChangeEvent> heard = new ArrayList<>();
    view.addListener(heard::add);
    view.acceptValidation("m/l", Fixtures.validation("m", "l"));
    view.acceptValidation("m/*", LayerValidation.newBuilder(Fixtures.validation("m", "*")).setCriteria(List.of()).build());
    view.acceptValidation("other/l", Fixtures.validation("other", "l"));

    ValidationView v = view.validation("m", "l");
    assertEquals("tag", v.defaultCriterion());
    assertEquals(0.875, v.baseAccuracy());
    assertEquals(0.375, v.baseCrossEntropy());
    assertEquals("2023-11-14T22:13:23Z", v.generatedAt());
    assertEquals(List.of(512, 256, 16, 32), List.of(v.images(), v.curveImages(), v.probeImages(), v.filters()));
    assertEquals(new ApiModel.CriterionRow("tag", 0.625, 0.5, 0.75, 0.5), v.criteria().get(0));
    assertEquals(new ApiModel.CriterionRow("class-selectivity", null, null, null, null), v.criteria().get(3));
    assertEquals(List.of("tag", "random"), v.pruning().stream().map(ApiModel.PruningCurveView::criterion).toList());
    assertEquals(List.of(0.0, 0.0625, 0.125, 0.0625, 0.0), v.pruning().get(1).spread());
    assertEquals(0.65625, v.pruning().get(0).auc());
    // The whole network ('*') sorts first; other models stay out.
    assertEquals(List.of("*", "l"), view.validations("m").stream().map(ValidationView::layer).toList());
    assertTrue(view.validations("nobody").isEmpty());
    assertEquals(new ChangeEvent("validation", "m", null, "l", null, 0), heard.get(0));

    view.acceptValidation("m/l", null);
    assertEquals("no validation of layer 'l' of model 'm'; ./tagscope validate writes one",
        assertThrows(DashboardView.NotFoundException.class, () -> view.validation("m", "l")).getMessage());
    assertEquals(new ChangeEvent("validation", "m", null, "l", null, 0), heard.get(heard.size() - 1));
  }

  @Test
  void validationWithRaggedPruningCurveIsRefusedAndLeavesTheViewAlone() {
    view.acceptValidation("m/l", Fixtures.validation("m", "l"));
    LayerValidation good = Fixtures.validation("m", "l");
    PruningCurve ragged = PruningCurve.newBuilder(good.getPruning().get(1)).setSpread(List.of(0.5)).build();
    LayerValidation bad = LayerValidation.newBuilder(good).setGeneratedAtMs(1).setPruning(List.of(ragged)).build();

    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> view.acceptValidation("m/l", bad));
    assertEquals("pruning curve 'random' of m/l has 5 fractions, 5 accuracies and 1 spreads; accuracy must match"
        + " fractions, spread must match or be empty", e.getMessage());
    assertEquals(1_700_000_003_000L, view.validation("m", "l").generatedAtMs());
    assertThrows(IllegalArgumentException.class, () -> view.acceptValidation("m/", LayerValidation.newBuilder(good)
        .setLayer("").build()));
  }

  @Test
  void frequencyOfBinMatchesTheDesignFormula() {
    double[] expected = {0.0, 0.5, 1.0, 1.5};
    double[] got = new double[4];
    for (int b = 0; b < 4; b++) {
      got[b] = DashboardView.frequencyOfBin(b, 120.0, 240);
    }
    assertArrayEquals(expected, got);
  }
}
