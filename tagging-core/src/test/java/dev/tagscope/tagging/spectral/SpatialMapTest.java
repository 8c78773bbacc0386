package dev.tagscope.tagging.spectral;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tagscope.tagging.AnalysisPlan;
import dev.tagscope.tagging.ProbePlan;
import java.util.List;
import org.junit.jupiter.api.Test;

class SpatialMapTest {
  // grid:2x2 defaults: 6, 7, 8.5, 11.5 Hz at 120 fps, W = 240 (bins 12, 14, 17, 23), H = 4, M = 2
  final AnalysisPlan plan = ProbePlan.builder().model("m").layout("grid:2x2").imageShape(1, 28, 28).imageCount(1).build().analysis();
  final WindowAnalyzer an = new WindowAnalyzer(plan);

  private static double[] sines(double[][] binAmp) {
    double[] x = new double[240];
    for (int i = 0; i < x.length; i++) {
      x[i] = 3.0;
      for (double[] b : binAmp) {
        x[i] += b[1] * Math.sin(2 * Math.PI * b[0] * i / 240 + 0.3);
      }
    }
    return x;
  }

  @Test
  void cellsHoldTheFundamentalOfTheirRegionAndPairsNameTheCombinedCells() {
    // filter 0: 2.0 at r1c0's 8.5 Hz, 0.5 at f1+f4 = 17.5 Hz (bin 35), 0.25 at f2-f1 = 1 Hz (bin 2) -> pair r0c0/r0c1
    // filter 1: 1.0 at r0c1's 7 Hz and 0.7 at r1c1's 11.5 Hz, nothing else
    WindowResult w = an.analyze(new double[][] {
        sines(new double[][] {{17, 2.0}, {35, 0.5}, {2, 0.25}}),
        sines(new double[][] {{14, 1.0}, {23, 0.7}})});
    LayerAccumulator acc = new LayerAccumulator(plan.signalBins());
    acc.add(w);
    List<SpatialMap> maps = SpatialMap.of(plan, acc.meanCorrected());
    assertEquals(2, maps.size());
    SpatialMap m0 = maps.get(0);
    assertEquals(2, m0.rows());
    assertEquals(2, m0.cols());
    assertEquals(0, m0.cells()[0][0], 1e-9);
    assertEquals(0, m0.cells()[0][1], 1e-9);
    assertEquals(2.0, m0.cells()[1][0], 1e-9);
    assertEquals(0, m0.cells()[1][1], 1e-9);
    assertEquals(2, m0.imPairs().size());
    assertEquals(new SpatialMap.ImPair("r0c0", "r1c1", 0.5).first(), m0.imPairs().get(0).first());
    assertEquals("r1c1", m0.imPairs().get(0).second());
    assertEquals(0.5, m0.imPairs().get(0).amplitude(), 1e-9);
    assertEquals("r0c0", m0.imPairs().get(1).first());
    assertEquals("r0c1", m0.imPairs().get(1).second());
    assertEquals(0.25, m0.imPairs().get(1).amplitude(), 1e-9);
    SpatialMap m1 = maps.get(1);
    assertEquals(1.0, m1.cells()[0][1], 1e-9);
    assertEquals(0.7, m1.cells()[1][1], 1e-9);
    assertEquals(0, m1.cells()[0][0], 1e-9);
    assertTrue(m1.imPairs().isEmpty(), "no IM term carries energy");

    JsonNode report = SpectralReport.builder(plan).layer("l", acc).build().toJson();
    JsonNode f0 = report.get("layers").get(0).get("ranking").get(0);
    assertEquals(0, f0.get("filter").asInt(), "filter 0 scores highest (2.75 against 1.7)");
    assertEquals(2.0, f0.get("map").get("cells").get(1).get(0).asDouble(), 1e-9);
    assertEquals("r1c1", f0.get("map").get("imPairs").get(0).get("cells").get(1).asText());
  }

  @Test
  void halvesAndQuadrantsArePlacedAndUnnamedRegionsAreNot() {
    assertEquals(1, SpatialMap.layout(List.of(new AnalysisPlan.RegionInfo("left", 6, 0),
        new AnalysisPlan.RegionInfo("right", 7.5, 0))).orElseThrow().rows());
    SpatialMap.Placement q = SpatialMap.layout(List.of(new AnalysisPlan.RegionInfo("top-left", 6, 0),
        new AnalysisPlan.RegionInfo("top-right", 7, 0), new AnalysisPlan.RegionInfo("bottom-left", 8.5, 0),
        new AnalysisPlan.RegionInfo("bottom-right", 11.5, 0))).orElseThrow();
    assertEquals(2, q.rows());
    assertEquals(2, q.cols());
    assertEquals(1, q.cell()[2][0]);
    assertEquals(0, q.cell()[2][1]);
    AnalysisPlan offline = AnalysisPlan.builder().fps(120).windowFrames(240).frequencies(6, 7.5).build();
    assertTrue(SpatialMap.layout(offline.regions()).isEmpty());
    assertTrue(SpatialMap.of(offline, new double[][] {new double[offline.signalBins().size()]}).isEmpty());
  }
}
