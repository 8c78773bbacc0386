package dev.tagscope.tagging;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tagscope.schemas.ComponentKind;
import dev.tagscope.schemas.ProbeSpec;
import dev.tagscope.schemas.Reduction;
import dev.tagscope.schemas.Region;
import dev.tagscope.schemas.SignalBin;
import dev.tagscope.tagging.PlanException;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

class ProbePlanTest {

  private static ProbePlan.Builder base() {
    return ProbePlan.builder().model("m").imageShape(1, 28, 28).imageCount(3);
  }

  private static PlanException refused(UnaryOperator<ProbePlan.Builder> change) {
    return assertThrows(PlanException.class, () -> change.apply(base()).build());
  }

  private static void assertRefused(String field, UnaryOperator<ProbePlan.Builder> change) {
    PlanException e = refused(change);
    assertEquals(field, e.field(), e.getMessage());
    assertTrue(e.getMessage().startsWith(field + ":"), e.getMessage());
  }

  @Test
  void defaultHalvesFrequenciesCannotBeChangedByCallers() {
    assertEquals(List.of(6.0, 7.5), PlanDefaults.HALVES_HZ);
    assertThrows(UnsupportedOperationException.class, () -> PlanDefaults.HALVES_HZ.set(0, 9.0));
    assertThrows(UnsupportedOperationException.class, () -> PlanDefaults.HALVES_HZ.add(9.0));
    // and a plan built after those attempts still gets the design's 6 and 7.5 Hz
    List<Region> r = base().build().regions();
    assertEquals(6.0, r.get(0).getFrequencyHz());
    assertEquals(7.5, r.get(1).getFrequencyHz());
  }

  @Test
  void defaultsMatchTheDesign() {
    ProbePlan plan = base().probeId("p1").startTimeMs(1_000L).layers(List.of("layer1")).reduction(Reduction.MAX).build();
    ProbeSpec s = plan.spec();
    assertEquals("p1", s.getProbeId());
    assertEquals("m", s.getModel());
    assertEquals(1_000L, s.getStartTimeMs());
    assertEquals("halves-lr", s.getLayout());
    assertEquals(120.0, s.getFps());
    assertEquals(240, s.getWindowFrames());
    assertEquals(240, s.getHopFrames());
    assertEquals(240, s.getFramesPerImage());
    assertEquals(4, s.getMaxHarmonic());
    assertEquals(4, s.getMaxImOrder());
    assertEquals(10, s.getBaselineBins());
    assertEquals(1, s.getBaselineSkip());
    assertEquals(0.75, s.getModulationCenter());
    assertEquals(0.25, s.getModulationDepth());
    assertEquals(List.of("layer1"), s.getLayers());
    assertEquals(Reduction.MAX, s.getReduction());
    assertEquals(3, s.getImageCount());
    assertFalse(s.getContinuous());
    assertEquals(720, plan.totalFrames());
    List<Region> r = s.getRegions();
    assertEquals(2, r.size());
    assertEquals(List.of("left", "right"), List.of(r.get(0).getName(), r.get(1).getName()));
    assertEquals(6.0, r.get(0).getFrequencyHz());
    assertEquals(7.5, r.get(1).getFrequencyHz());
    assertEquals(14, r.get(0).getX1());
    assertEquals(14, r.get(1).getX0());
    assertEquals(28, r.get(1).getX1());
    // the catalogue of 6 and 7.5 Hz at 120 fps, W = 240, H = 4, M = 4: 2 + 6 + 12 bins
    List<SignalBin> bins = s.getSignalBins();
    assertEquals(20, bins.size());
    assertEquals(12, bins.get(0).getBin());
    assertEquals(ComponentKind.FUNDAMENTAL, bins.get(0).getKind());
    for (SignalBin b : bins) {
      assertEquals(b.getFrequencyHz() * 240 / 120, b.getBin(), 1e-9);
    }
  }

  @Test
  void randomProbeIdAndContinuousImageCount() {
    ProbePlan a = ProbePlan.builder().model("m").imageShape(1, 4, 4).continuous(true).build();
    ProbePlan b = ProbePlan.builder().model("m").imageShape(1, 4, 4).continuous(true).build();
    assertTrue(a.probeId().startsWith("probe-"));
    assertFalse(a.probeId().equals(b.probeId()));
    assertEquals(-1, a.spec().getImageCount());
    assertEquals(-1, a.totalFrames());
  }

  @Test
  void quadrantDefaultsPassTheCatalogueWithImOrderTwo() {
    ProbePlan plan = base().layout("quadrants").build();
    List<Region> r = plan.regions();
    assertEquals(4, r.size());
    assertEquals(2, plan.spec().getMaxImOrder());
    double[] f = r.stream().mapToDouble(Region::getFrequencyHz).toArray();
    assertArrayEquals(new double[] {6, 7, 8.5, 11.5}, f);
    Set<Integer> bins = new HashSet<>();
    for (SignalBin b : plan.signalBins()) {
      assertTrue(bins.add(b.getBin()), "distinct bins");
      assertTrue(b.getBin() >= 2 && b.getBin() < 120, "bin " + b.getBin());
    }
    // 4 fundamentals, 12 harmonics, 6 pairs x (sum, difference)
    assertEquals(4 + 12 + 12, bins.size());
  }

  @Test
  void gridWithTooManyRegionsForDefaultsAsksForFrequencies() {
    PlanException e = refused(b -> b.layout("grid:4x4"));
    assertEquals("frequencies", e.field());
    assertTrue(e.getMessage().contains("give one frequency per region"), e.getMessage());
  }

  @Test
  void fourByFourGridDefaultsFitA4000FrameWindow() {
    // 16 fundamentals, 48 harmonics (H = 4) and 120 pairs x (sum, difference) IM terms (M = 2):
    // 304 components on distinct bins need a longer window than 240 frames; 4000 frames
    // (33.3 s at 120 fps, 0.03 Hz bins) is the one README documents for grid:4x4.
    ProbePlan plan = base().layout("grid:4x4").windowFrames(4000).build();
    double[] f = plan.regions().stream().mapToDouble(Region::getFrequencyHz).toArray();
    assertEquals(16, f.length);
    assertEquals(6.0, f[0], 1e-12);
    Set<Integer> bins = new HashSet<>();
    for (SignalBin b : plan.signalBins()) {
      assertTrue(bins.add(b.getBin()), "distinct bins");
      assertTrue(b.getBin() >= 2 && b.getBin() < 2000, "bin " + b.getBin());
      assertEquals(b.getBin() * 120.0 / 4000, b.getFrequencyHz(), 1e-12, "on an exact bin");
    }
    assertEquals(16 + 48 + 240, bins.size());
    assertEquals("r3c3", plan.regions().get(15).getName());
  }

  @Test
  void gridFinerThanTheFrameSynthesizerSupportsIsRefusedAtBuild() {
    // 144 distinct fundamentals, no harmonics or IM terms: a valid tagging, but the frame
    // synthesiser holds at most 127 regions, so build() must refuse it before anything is sent.
    double[] f = new double[144];
    for (int r = 0; r < f.length; r++) {
      f[r] = (r + 2) * 120.0 / 1200;
    }
    assertRefused("layout", b -> b.layout("grid:12x12").windowFrames(1200).maxHarmonic(1).maxImOrder(0).frequencies(f));
  }

  @Test
  void offBinFrequencyIsRefused() {
    PlanException e = refused(b -> b.frequencies(6.3, 7.5));
    assertEquals("windowFrames", e.field()); // the catalogue says which W puts both on bins
    assertTrue(e.getMessage().contains("6.3"), e.getMessage());
  }

  @Test
  void frequencyAboveNyquistIsRefused() {
    assertRefused("fps", b -> b.frequencies(6, 70).maxHarmonic(1));
  }

  @Test
  void harmonicAboveNyquistNamesMaxHarmonic() {
    assertRefused("maxHarmonic", b -> b.frequencies(6, 20));
  }

  @Test
  void collidingComponentsAreRefused() {
    // 2*f1 = f2: the harmonic of region 1 lands on region 2's fundamental
    PlanException e = refused(b -> b.frequencies(6, 12).maxImOrder(1));
    assertTrue(e.getMessage().contains("2f1") && e.getMessage().contains("f2"), e.getMessage());
    assertEquals("maxHarmonic", e.field());
    // with IM terms, 2f1 - f2 = 0 Hz is refused first
    PlanException im = refused(b -> b.frequencies(6, 12));
    assertTrue(im.getMessage().contains("2f1-f2"), im.getMessage());
    assertEquals("maxImOrder", im.field());
    // an IM term on a fundamental: f1 + f2 = f3
    assertRefused("maxImOrder", b -> b.layout("grid:1x3").frequencies(6, 7.5, 13.5));
    assertRefused("frequencies", b -> b.frequencies(6, 6));
  }

  @Test
  void badWindowAndHopAreRefused() {
    assertRefused("windowFrames", b -> b.windowFrames(239));
    assertRefused("windowFrames", b -> b.windowFrames(0));
    assertRefused("hopFrames", b -> b.hopFrames(241));
    assertRefused("hopFrames", b -> b.hopFrames(-1));
    assertRefused("framesPerImage", b -> b.framesPerImage(200));
    PlanException e = refused(b -> b.hopFrames(60).framesPerImage(250));
    assertEquals("framesPerImage", e.field());
    assertTrue(e.getMessage().contains("240 or 300"), e.getMessage());
    // valid: hop 60, 4 windows per image
    assertEquals(420, base().hopFrames(60).framesPerImage(420).build().framesPerImage());
  }

  @Test
  void countMismatchesAreRefused() {
    PlanException e = refused(b -> b.frequencies(6, 7.5, 9));
    assertEquals("frequencies", e.field());
    assertTrue(e.getMessage().contains("2 regions") && e.getMessage().contains("3 tag frequencies"), e.getMessage());
    assertRefused("frequencies", b -> b.layout("quadrants").frequencies(6, 7.5));
    assertRefused("phases", b -> b.phases(0.0));
    assertRefused("phases", b -> b.phases(0.0, Double.NaN));
  }

  @Test
  void otherRefusalsNameTheirField() {
    assertRefused("model", b -> b.model(" "));
    assertRefused("layout", b -> b.layout("thirds"));
    assertRefused("layout", b -> b.layout("grid:0x3"));
    double[] eighty = java.util.stream.IntStream.rangeClosed(1, 80).asDoubleStream().toArray();
    // 80 valid tag frequencies, but a 28-pixel-wide image cannot hold 40 grid columns
    assertRefused("layout", b -> b.layout("grid:2x40").frequencies(eighty).maxHarmonic(1).maxImOrder(0).fps(1000).windowFrames(1000));
    assertRefused("fps", b -> b.fps(0));
    assertRefused("fps", b -> b.fps(Double.POSITIVE_INFINITY));
    assertRefused("modulationDepth", b -> b.modulation(0.75, 0.5));
    assertRefused("modulationDepth", b -> b.modulation(0.5, 0));
    assertRefused("modulationCenter", b -> b.modulation(1.5, 0.25));
    assertRefused("baselineBins", b -> b.baselineBins(0));
    assertRefused("baselineSkip", b -> b.baselineSkip(-1));
    assertRefused("layers", b -> b.layers(List.of("a", " ")));
    assertRefused("reduction", b -> b.reduction(null));
    assertRefused("imageShape", b -> b.imageShape(0, 28, 28));
    assertRefused("imageCount", b -> b.imageCount(0));
    assertRefused("maxImOrder", b -> b.maxImOrder(-1));
  }

  @Test
  void checkTaggingRefusesBeforeImagesAreKnown() {
    ProbePlan.Builder b = ProbePlan.builder().model("m").frequencies(6, 7.4);
    assertThrows(PlanException.class, b::checkTagging);
    ProbePlan.builder().model("m").checkTagging(); // no image shape needed
  }
}
