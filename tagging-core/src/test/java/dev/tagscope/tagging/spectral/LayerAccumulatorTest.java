package dev.tagscope.tagging.spectral;

import static dev.tagscope.tagging.spectral.WindowAnalyzerTest.FPS;
import static dev.tagscope.tagging.spectral.WindowAnalyzerTest.W;
import static dev.tagscope.tagging.spectral.WindowAnalyzerTest.series;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tagscope.schemas.FilterImportance;
import dev.tagscope.schemas.FilterResponse;
import dev.tagscope.schemas.LayerImportance;
import dev.tagscope.schemas.SignalBin;
import dev.tagscope.schemas.TagResponse;
import dev.tagscope.tagging.SignalCatalogue;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class LayerAccumulatorTest {
  // 6 / 7.5 Hz, H = 2, M = 2: f1 (bin 12), f2 (15), 2f1 (24), 2f2 (30), f2-f1 (3), f1+f2 (27)
  final List<SignalBin> bins = SignalCatalogue.build(new double[] {6, 7.5}, FPS, W, 2, 2);
  final WindowAnalyzer an = new WindowAnalyzer(FPS, W, bins, 10, 1);

  WindowResult window1() {
    return an.analyze(new double[][] {
        series(0.5, Map.of(12, new double[] {1.0, 0.2}, 27, new double[] {0.5, 1.0})),
        series(-1, Map.of(12, new double[] {3.0, 0.0})),
        new double[W]});
  }

  WindowResult window2() {
    return an.analyze(new double[][] {
        series(0, Map.of(12, new double[] {2.0, 0.0}, 24, new double[] {0.2, 0.3})),
        series(0, Map.of(12, new double[] {1.0, 2.0})),
        new double[W]});
  }

  @Test
  void importanceIsNormalisedAndRanked() {
    LayerAccumulator acc = new LayerAccumulator(bins);
    acc.add(window1());
    acc.add(window2());
    assertEquals(2, acc.windows());
    assertEquals(3, acc.filters());
    List<FilterImportance> imp = acc.importance();
    // filter 0: fundamental (1 + 2) / 2 = 1.5, harmonic 0.1, IM 0.25, score 1.85; filter 1: 2.0; filter 2: 0
    FilterImportance f0 = imp.get(0);
    FilterImportance f1 = imp.get(1);
    FilterImportance f2 = imp.get(2);
    assertEquals(1.5, f0.getFundamental(), 1e-9);
    assertEquals(0.1, f0.getHarmonic(), 1e-9);
    assertEquals(0.25, f0.getIntermodulation(), 1e-9);
    assertEquals(1.85, f0.getScore(), 1e-9);
    assertEquals(2.0, f1.getScore(), 1e-9);
    assertEquals(0.0, f2.getScore(), 1e-12);
    assertEquals(1.0, f1.getImportance(), 1e-12);
    assertEquals(1.85 / 2.0, f0.getImportance(), 1e-9);
    assertEquals(0.0, f2.getImportance(), 1e-9);
    assertEquals(1, f1.getRank());
    assertEquals(2, f0.getRank());
    assertEquals(3, f2.getRank());
    int f1Bin = WindowAnalyzerTest.indexOf(bins, "f1");
    assertEquals(1.5, acc.meanAmplitude()[0][f1Bin], 1e-9);
    assertEquals(2.0, acc.meanAmplitude()[1][f1Bin], 1e-9);
  }

  @Test
  void negativeScoresGiveZeroImportanceButStillRank() {
    // Nothing at the signal bins, noise on baseline bins: corrected amplitudes are negative.
    LayerAccumulator acc = new LayerAccumulator(bins);
    acc.add(an.analyze(new double[][] {
        series(0, Map.of(10, new double[] {0.2, 0})),
        series(0, Map.of(10, new double[] {0.4, 0}))}));
    List<FilterImportance> imp = acc.importance();
    assertEquals(0.0, imp.get(0).getImportance());
    assertEquals(0.0, imp.get(1).getImportance());
    assertEquals(1, imp.get(0).getRank());
    assertEquals(2, imp.get(1).getRank());
    // bin 10 is in the baselines of f1 (bin 12, K=10 -> 17 bins incl. edge) and f2-f1 (bin 3) etc.
    assertTrue(imp.get(1).getScore() < imp.get(0).getScore());
  }

  @Test
  void tagResponsesRebuildTheSameImportance() {
    LayerAccumulator live = new LayerAccumulator(bins);
    LayerAccumulator replay = new LayerAccumulator(bins);
    for (WindowResult w : List.of(window1(), window2())) {
      live.add(w);
      replay.add(w.toTagResponse("p", "m", "layer1", "img", 0));
    }
    List<FilterImportance> a = live.importance();
    List<FilterImportance> b = replay.importance();
    for (int c = 0; c < 3; c++) {
      assertEquals(a.get(c).getScore(), b.get(c).getScore(), 1e-12);
      assertEquals(a.get(c).getIntermodulation(), b.get(c).getIntermodulation(), 1e-12);
      assertEquals(a.get(c).getMeanSnr(), b.get(c).getMeanSnr(), 1e-9 * Math.abs(a.get(c).getMeanSnr()));
      assertEquals(a.get(c).getRank(), b.get(c).getRank());
      // float spectrum: about 7 significant digits; with baselines at the numerical floor the dB value moves a little
      assertEquals(a.get(c).getPaperSnrDb(), b.get(c).getPaperSnrDb(), 1.0);
    }
  }

  @Test
  void wrongFilterCountRefused() {
    LayerAccumulator acc = new LayerAccumulator(bins);
    acc.add(window1());
    assertThrows(IllegalArgumentException.class, () -> acc.add(an.analyze(new double[][] {new double[W]})));
  }

  @Test
  void mergeIsWeightedOnWindowsSeenAndReranks() {
    LayerImportance a = LayerImportance.newBuilder().setModel("m").setLayer("l").setLastProbeId("p1").setUpdatedAtMs(100)
        .setWindowsSeen(3).setFilters(ImportanceMath.rank(new double[] {4, 1}, new double[] {0, 0}, new double[] {0, 1},
            new double[] {10, 20}, new double[] {6, 12})).build();
    LayerImportance b = LayerImportance.newBuilder().setModel("m").setLayer("l").setLastProbeId("p2").setUpdatedAtMs(50)
        .setWindowsSeen(1).setFilters(ImportanceMath.rank(new double[] {0, 9}, new double[] {0, 0}, new double[] {0, 3},
            new double[] {2, 4}, new double[] {0, 20})).build();
    assertEquals(1, a.getFilters().get(0).getRank());
    LayerImportance m = ImportanceMath.merge(a, b);
    assertEquals(4, m.getWindowsSeen());
    assertEquals("p2", m.getLastProbeId());
    assertEquals(100, m.getUpdatedAtMs());
    FilterImportance m0 = m.getFilters().get(0);
    FilterImportance m1 = m.getFilters().get(1);
    assertEquals((4 * 3 + 0) / 4.0, m0.getScore(), 1e-12);           // 3.0
    assertEquals(((1 + 1) * 3 + (9 + 3)) / 4.0, m1.getScore(), 1e-12); // 4.5
    assertEquals((1.0 * 3 + 3.0) / 4.0, m1.getIntermodulation(), 1e-12);
    assertEquals((20.0 * 3 + 4) / 4.0, m1.getMeanSnr(), 1e-12);
    assertEquals((12.0 * 3 + 20) / 4.0, m1.getPaperSnrDb(), 1e-12);
    assertEquals(1, m1.getRank());
    assertEquals(2, m0.getRank());
    assertEquals(1.0, m1.getImportance(), 1e-12);
    assertEquals(3.0 / 4.5, m0.getImportance(), 1e-12);
    // inputs untouched
    assertEquals(1, a.getFilters().get(0).getRank());
    // a changed filter count: the newer value replaces the running one
    LayerImportance c = LayerImportance.newBuilder(b).setWindowsSeen(2).setFilters(ImportanceMath.rank(new double[] {1},
        new double[] {0}, new double[] {0}, new double[] {1}, new double[] {0})).build();
    assertEquals(2, ImportanceMath.merge(a, c).getWindowsSeen());
  }

  /** window1 as a tag response whose filter {@code slot} carries index {@code index}. */
  TagResponse window1WithIndex(int slot, int index) {
    TagResponse t = window1().toTagResponse("p", "m", "layer1", "img", 240);
    List<FilterResponse> fs = new ArrayList<>(t.getFilters());
    fs.set(slot, FilterResponse.newBuilder(fs.get(slot)).setFilter(index).build());
    t.setFilters(fs);
    return t;
  }

  @Test
  void duplicateFilterIndexRefusedNamingItAndNothingIsAdded() {
    LayerAccumulator acc = new LayerAccumulator(bins);
    acc.add(window2().toTagResponse("p", "m", "layer1", "img", 0));
    List<FilterImportance> before = acc.importance();
    double[][] ampBefore = acc.meanAmplitude();

    // filters 0, 0, 2: filter 0 would get two windows' worth and filter 1 none
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> acc.add(window1WithIndex(1, 0)));
    assertTrue(e.getMessage().contains("filter index 0 appears twice"), e.getMessage());
    assertTrue(e.getMessage().contains("layer 'layer1'") && e.getMessage().contains("imageFrame 240"), e.getMessage());
    assertEquals(1, acc.windows());
    assertEquals(before, acc.importance());
    assertEquals(ampBefore[0][0], acc.meanAmplitude()[0][0]);
    assertEquals(ampBefore[1][0], acc.meanAmplitude()[1][0]);

    // a later index repeated is named too, and an index outside 0..C-1 is refused before anything is added
    IllegalArgumentException e2 = assertThrows(IllegalArgumentException.class, () -> acc.add(window1WithIndex(2, 1)));
    assertTrue(e2.getMessage().contains("filter index 1 appears twice"), e2.getMessage());
    IllegalArgumentException e3 = assertThrows(IllegalArgumentException.class, () -> acc.add(window1WithIndex(0, 3)));
    assertTrue(e3.getMessage().contains("filter index 3 outside 0..2"), e3.getMessage());
    assertEquals(before, acc.importance());
  }

  @Test
  void aRefusedFirstTagResponseDoesNotFixTheFilterCount() {
    LayerAccumulator acc = new LayerAccumulator(bins);
    assertThrows(IllegalArgumentException.class, () -> acc.add(window1WithIndex(2, 0)));
    assertEquals(0, acc.filters());
    // a two-filter window is still welcome: the refused three-filter one left no trace
    acc.add(an.analyze(new double[][] {
        series(0, Map.of(12, new double[] {1.0, 0})),
        new double[W]}).toTagResponse("p", "m", "layer1", "img", 0));
    assertEquals(2, acc.filters());
    assertEquals(1.0, acc.meanAmplitude()[0][WindowAnalyzerTest.indexOf(bins, "f1")], 1e-9);
  }

  @Test
  void aWindowTooShortForTheSignalBinsIsRefusedBeforeAnythingIsAdded() {
    LayerAccumulator acc = new LayerAccumulator(bins);
    acc.add(window2().toTagResponse("p", "m", "layer1", "img", 0));
    List<FilterImportance> before = acc.importance();
    // same signal bins, but windowFrames and spectra of a 20-frame window: the bins lie above its spectrum
    TagResponse t = window1().toTagResponse("p", "m", "layer1", "img", 240);
    List<FilterResponse> fs = new ArrayList<>();
    for (FilterResponse r : t.getFilters()) {
      fs.add(FilterResponse.newBuilder(r).setSpectrum(new ArrayList<>(r.getSpectrum().subList(0, 11))).build());
    }
    t.setFilters(fs);
    t.setWindowFrames(20);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> acc.add(t));
    assertTrue(e.getMessage().contains("20-frame window"), e.getMessage());
    assertEquals(1, acc.windows());
    assertEquals(before, acc.importance());
  }
}
