package dev.tagscope.tagging;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tagscope.schemas.ComponentKind;
import dev.tagscope.schemas.SignalBin;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class SignalCatalogueTest {

  @Test
  void defaultPlanListsExactlyTheExpectedTerms() {
    List<SignalBin> bins = SignalCatalogue.build(new double[] {6, 7.5}, 120, 240, 4, 4);
    // Worked out by hand: f1 = 6, f2 = 7.5 Hz; bin width 0.5 Hz.
    Map<String, Double> expected = new LinkedHashMap<>();
    expected.put("f1", 6.0);
    expected.put("f2", 7.5);
    expected.put("2f1", 12.0);
    expected.put("2f2", 15.0);
    expected.put("3f1", 18.0);
    expected.put("3f2", 22.5);
    expected.put("4f1", 24.0);
    expected.put("4f2", 30.0);
    // order 2, by frequency
    expected.put("f2-f1", 1.5);
    expected.put("f1+f2", 13.5);
    // order 3
    expected.put("2f1-f2", 4.5);
    expected.put("2f2-f1", 9.0);
    expected.put("2f1+f2", 19.5);
    expected.put("f1+2f2", 21.0);
    // order 4
    expected.put("2f2-2f1", 3.0);
    expected.put("3f1-f2", 10.5);
    expected.put("3f2-f1", 16.5);
    expected.put("3f1+f2", 25.5);
    expected.put("2f1+2f2", 27.0);
    expected.put("f1+3f2", 28.5);
    assertEquals(List.copyOf(expected.keySet()), bins.stream().map(SignalBin::getLabel).toList());
    for (SignalBin b : bins) {
      double f = expected.get(b.getLabel());
      assertEquals(f, b.getFrequencyHz(), 0.0, b.getLabel());
      assertEquals((int) Math.round(f * 2), b.getBin(), b.getLabel());
    }
    assertEquals(ComponentKind.FUNDAMENTAL, bins.get(1).getKind());
    assertEquals(1, bins.get(1).getOrder());
    assertEquals(ComponentKind.HARMONIC, bins.get(7).getKind());
    assertEquals(4, bins.get(7).getOrder());
    assertEquals(ComponentKind.INTERMODULATION, bins.get(8).getKind());
    assertEquals(2, bins.get(8).getOrder());
    assertEquals(4, bins.get(19).getOrder());
  }

  @Test
  void bruteForceAgreesOnTheSetOfFrequencies() {
    // Independent enumeration: every a*f1 + b*f2 with |a|+|b| <= 4 that is > 0 and a tag term.
    double f1 = 6, f2 = 7.5;
    java.util.TreeSet<Double> want = new java.util.TreeSet<>();
    for (int a = -4; a <= 4; a++) {
      for (int b = -4; b <= 4; b++) {
        double v = a * f1 + b * f2;
        boolean harmonicOrFund = (a == 0 || b == 0) && Math.abs(a) + Math.abs(b) <= 4;
        boolean im = a != 0 && b != 0 && Math.abs(a) + Math.abs(b) <= 4;
        if (v > 0 && (harmonicOrFund || im)) {
          want.add(v);
        }
      }
    }
    java.util.TreeSet<Double> got = new java.util.TreeSet<>();
    SignalCatalogue.build(new double[] {f1, f2}, 120, 240, 4, 4).forEach(b -> got.add(b.getFrequencyHz()));
    assertEquals(want, got);
  }

  @Test
  void noImWithOneRegionAndNoHarmonicsWithMaxHarmonicOne() {
    List<SignalBin> bins = SignalCatalogue.build(new double[] {6}, 120, 240, 1, 4);
    assertEquals(1, bins.size());
    assertEquals("f1", bins.get(0).getLabel());
  }

  @Test
  void offBinNamesWindowAndSmallestMultiple() {
    PlanException e = assertThrows(PlanException.class, () -> SignalCatalogue.build(new double[] {6, 7.5}, 120, 100, 2, 2));
    assertEquals("windowFrames", e.field());
    assertTrue(e.getMessage().startsWith("windowFrames: "), e.getMessage());
    assertTrue(e.getMessage().contains("W must be a multiple of 80 frames at 120 fps for 6 and 7.5 Hz"), e.getMessage());
    assertTrue(e.getMessage().contains("e.g. 160"), e.getMessage());
    assertEquals(80, SignalCatalogue.smallestWindow(new double[] {6, 7.5}, 120));
    assertEquals(20, SignalCatalogue.smallestWindow(new double[] {6}, 120));
  }

  @Test
  void harmonicAtNyquistNamesMaxHarmonic() {
    // 6 Hz at 60 fps, W = 60: 5f1 = 30 Hz = Nyquist.
    PlanException e = assertThrows(PlanException.class, () -> SignalCatalogue.build(new double[] {6}, 60, 60, 5, 1));
    assertEquals("maxHarmonic", e.field());
    assertTrue(e.getMessage().contains("5f1 = 30 Hz"), e.getMessage());
    assertTrue(e.getMessage().contains("set maxHarmonic to 4"), e.getMessage());
    assertTrue(e.getMessage().contains("raise fps above 60"), e.getMessage());
  }

  @Test
  void imAboveNyquistNamesMaxImOrder() {
    // 6 and 7.5 Hz at 40 fps, W = 80: order 3 sum 2f1+f2 = 19.5 < 20 fine, f1+2f2 = 21 >= 20.
    PlanException e = assertThrows(PlanException.class, () -> SignalCatalogue.build(new double[] {6, 7.5}, 40, 80, 1, 3));
    assertEquals("maxImOrder", e.field());
    assertTrue(e.getMessage().contains("f1+2f2 = 21 Hz"), e.getMessage());
    assertTrue(e.getMessage().contains("set maxImOrder to 2"), e.getMessage());
  }

  @Test
  void fundamentalAboveNyquistNamesFps() {
    PlanException e = assertThrows(PlanException.class, () -> SignalCatalogue.build(new double[] {30}, 60, 60, 1, 1));
    assertEquals("fps", e.field());
    assertTrue(e.getMessage().contains("f1 = 30 Hz"), e.getMessage());
  }

  @Test
  void collisionNamesBothTerms() {
    PlanException e = assertThrows(PlanException.class, () -> SignalCatalogue.build(new double[] {6, 12}, 120, 240, 2, 0));
    assertEquals("maxHarmonic", e.field());
    assertTrue(e.getMessage().contains("f2 = 2f1 = 12 Hz"), e.getMessage());
    PlanException same = assertThrows(PlanException.class, () -> SignalCatalogue.build(new double[] {6, 6}, 120, 240, 1, 0));
    assertEquals("frequencies", same.field());
    assertTrue(same.getMessage().contains("f1 = f2 = 6 Hz"), same.getMessage());
    // three regions: f2-f1 = f3-f2 = 1.5 Hz
    PlanException im = assertThrows(PlanException.class, () -> SignalCatalogue.build(new double[] {6, 7.5, 9}, 120, 240, 1, 2));
    assertEquals("maxImOrder", im.field());
    assertTrue(im.getMessage().contains("f2-f1 = f3-f2 = 1.5 Hz"), im.getMessage());
  }

  @Test
  void imAtZeroHzRefused() {
    PlanException e = assertThrows(PlanException.class, () -> SignalCatalogue.build(new double[] {6, 12}, 120, 240, 1, 3));
    assertEquals("maxImOrder", e.field());
    assertTrue(e.getMessage().contains("2f1-f2 is at 0 Hz"), e.getMessage());
  }

  @Test
  void badBasicsRefusedWithField() {
    assertEquals("fps", assertThrows(PlanException.class, () -> SignalCatalogue.build(new double[] {6}, 0, 240, 1, 1)).field());
    assertEquals("windowFrames", assertThrows(PlanException.class, () -> SignalCatalogue.build(new double[] {6}, 120, 241, 1, 1)).field());
    assertEquals("windowFrames", assertThrows(PlanException.class, () -> SignalCatalogue.build(new double[] {6}, 120, 0, 1, 1)).field());
    assertEquals("frequencies", assertThrows(PlanException.class, () -> SignalCatalogue.build(new double[] {-6}, 120, 240, 1, 1)).field());
    assertEquals("frequencies", assertThrows(PlanException.class, () -> SignalCatalogue.build(new double[0], 120, 240, 1, 1)).field());
    assertEquals("maxHarmonic", assertThrows(PlanException.class, () -> SignalCatalogue.build(new double[] {6}, 120, 240, 0, 1)).field());
    IllegalArgumentException iae = assertThrows(IllegalArgumentException.class, () -> SignalCatalogue.build(new double[] {Double.NaN}, 120, 240, 1, 1));
    assertTrue(iae.getMessage().startsWith("frequencies: "));
  }
}
