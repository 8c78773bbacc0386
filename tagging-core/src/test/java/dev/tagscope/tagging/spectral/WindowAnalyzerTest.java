package dev.tagscope.tagging.spectral;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tagscope.schemas.SignalBin;
import dev.tagscope.tagging.PlanException;
import dev.tagscope.tagging.SignalCatalogue;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

class WindowAnalyzerTest {
  static final int W = 240;
  static final double FPS = 120;

  /** x(i) = dc + sum a * sin(2 pi b i / W + phase) over (bin -> {a, phase}). */
  static double[] series(double dc, Map<Integer, double[]> sines) {
    double[] x = new double[W];
    for (int i = 0; i < W; i++) {
      double v = dc;
      for (Map.Entry<Integer, double[]> e : sines.entrySet()) {
        v += e.getValue()[0] * Math.sin(2 * Math.PI * e.getKey() * i / W + e.getValue()[1]);
      }
      x[i] = v;
    }
    return x;
  }

  @Test
  void sinusoidsOnSignalBinsGiveTheirAmplitudeBack() {
    List<SignalBin> bins = SignalCatalogue.build(new double[] {6, 7.5}, FPS, W, 4, 4);
    WindowAnalyzer an = new WindowAnalyzer(FPS, W, bins, 10, 1);
    Map<Integer, double[]> sines = new TreeMap<>();
    sines.put(12, new double[] {1.5, 0.3});    // f1
    sines.put(15, new double[] {0.25, -1.2});  // f2
    sines.put(3, new double[] {0.07, 2.9});    // 2f2-2f1
    sines.put(27, new double[] {3.0, 0.0});    // f1+f2
    sines.put(60, new double[] {1e-3, 1.0});   // 4f2 = 30 Hz
    double[] x = series(42.0, sines); // a large DC offset must not leak
    double[] y = series(-3.0, Map.of(48, new double[] {0.5, 0.7}));
    WindowResult r = an.analyze(new double[][] {x, y});
    assertEquals(2, r.filters());
    for (int s = 0; s < bins.size(); s++) {
      int b = bins.get(s).getBin();
      double want = sines.containsKey(b) ? sines.get(b)[0] : 0;
      double got = r.amplitude()[0][s];
      if (want > 0) {
        assertEquals(want, got, 1e-9 * want, bins.get(s).getLabel());
      } else {
        assertEquals(0, got, 1e-12, bins.get(s).getLabel());
      }
    }
    int fourF1 = indexOf(bins, "4f1");
    assertEquals(0.5, r.amplitude()[1][fourF1], 0.5e-9);
    assertEquals(0f, r.spectrum()[0][0]);
    assertEquals(W / 2 + 1, r.spectrum()[0].length);
    // a pure signal: no leakage into non-signal bins, so baselines are ~0 and corrected == amplitude
    assertEquals(1.5, r.corrected()[0][indexOf(bins, "f1")], 1e-9);
  }

  @Test
  void nyquistBinIsSingleSided() {
    List<SignalBin> bins = SignalCatalogue.build(new double[] {6}, FPS, W, 1, 0);
    WindowAnalyzer an = new WindowAnalyzer(FPS, W, bins, 10, 1);
    double[] x = new double[W];
    for (int i = 0; i < W; i++) {
      x[i] = 0.8 * ((i % 2 == 0) ? 1 : -1); // cos(pi i): amplitude 0.8 at b = W/2
    }
    double[] out = new double[W / 2 + 1];
    an.amplitudeSpectrum(x, out);
    assertEquals(0.8, out[W / 2], 1e-12);
    assertEquals(0, out[0], 0);
  }

  @Test
  void baselineIsMeanOfPlacedNeighbourAmplitudes() {
    // One signal bin (6 Hz = bin 12), K = 3, skip 1: baseline bins 10, 9, 8 and 14, 15, 16.
    List<SignalBin> bins = SignalCatalogue.build(new double[] {6}, FPS, W, 1, 0);
    WindowAnalyzer an = new WindowAnalyzer(FPS, W, bins, 3, 1);
    Map<Integer, double[]> sines = new TreeMap<>();
    sines.put(12, new double[] {2.0, 0.1});
    sines.put(11, new double[] {5.0, 0.2}); // adjacent: skipped
    sines.put(13, new double[] {5.0, 0.3}); // adjacent: skipped
    sines.put(9, new double[] {0.3, 0.4});
    sines.put(10, new double[] {0.6, 1.4});
    sines.put(16, new double[] {0.9, 2.0});
    sines.put(17, new double[] {7.0, 0.0}); // beyond K: not in baseline
    WindowResult r = an.analyze(new double[][] {series(1.0, sines)});
    double expected = (0.3 + 0.6 + 0.9) / 6;
    assertEquals(expected, r.baseline()[0][0], 1e-12);
    assertEquals(2.0 / expected, r.snr()[0][0], 1e-9);
    assertEquals(2.0 - expected, r.corrected()[0][0], 1e-12);
    assertEquals(2.0 - expected, r.fundamental()[0], 1e-12);
    assertEquals(2.0 - expected, r.score()[0], 1e-12);
    assertArrayEquals(new int[] {10, 9, 8, 14, 15, 16}, an.baselineBinsOf(0));
  }

  @Test
  void baselineWalksPastOtherSignalBinsAndStopsAtTheEdge() {
    // 6 / 7.5 Hz, H = M = 4: signal bins are the multiples of 3 from 3 to 60.
    List<SignalBin> bins = SignalCatalogue.build(new double[] {6, 7.5}, FPS, W, 4, 4);
    WindowAnalyzer an = new WindowAnalyzer(FPS, W, bins, 10, 1);
    int f1 = indexOf(bins, "f1"); // bin 12
    // left of 12 from distance 2: 10, [9], 8, 7, [6], 5, 4, [3], 2, 1 then DC: 7 bins;
    // right from 14: 14, [15], 16, 17, [18], 19, 20, [21], 22, 23, [24], 25, 26, [27], 28: 10 bins.
    int[] left = {10, 8, 7, 5, 4, 2, 1};
    int[] right = {14, 16, 17, 19, 20, 22, 23, 25, 26, 28};
    int[] expectBins = new int[17];
    System.arraycopy(left, 0, expectBins, 0, 7);
    System.arraycopy(right, 0, expectBins, 7, 10);
    assertArrayEquals(expectBins, an.baselineBinsOf(f1));
    Map<Integer, double[]> sines = new TreeMap<>();
    sines.put(12, new double[] {4.0, 0});
    double sum = 0;
    for (int k = 0; k < expectBins.length; k++) {
      double a = 0.01 * (k + 1);
      sines.put(expectBins[k], new double[] {a, 0.1 * k});
      sum += a;
    }
    sines.put(29, new double[] {9.0, 0}); // 11th on the right: not in the baseline
    sines.put(11, new double[] {9.0, 0}); // adjacent
    WindowResult r = an.analyze(new double[][] {series(0, sines)});
    assertEquals(sum / 17, r.baseline()[0][f1], 1e-12);
    assertEquals(4.0 - sum / 17, r.corrected()[0][f1], 1e-12);
  }

  @Test
  void snrStaysFiniteWhenBaselineIsZero() {
    List<SignalBin> bins = SignalCatalogue.build(new double[] {6}, FPS, W, 1, 0);
    WindowAnalyzer an = new WindowAnalyzer(FPS, W, bins, 10, 1);
    WindowResult zero = an.analyze(new double[][] {new double[W]});
    assertEquals(0, zero.baseline()[0][0]);
    assertEquals(0, zero.snr()[0][0]);
    assertEquals(Double.MIN_NORMAL, zero.epsilon());
    assertTrue(Double.isFinite(zero.paperSnrDb()[0]));

    WindowResult pure = an.analyze(new double[][] {series(0, Map.of(12, new double[] {2.0, 0.5}))});
    double eps = 1e-9 * 2.0;
    assertEquals(eps, pure.epsilon(), 1e-9 * eps);
    assertTrue(pure.baseline()[0][0] < eps, "numerical noise only");
    assertEquals(2.0 / eps, pure.snr()[0][0], 1e-6 * 2.0 / eps);
    assertTrue(Double.isFinite(pure.snr()[0][0]));
  }

  @Test
  void paperScoreUsesThreePlainNeighboursEachSide() {
    // bins 12 (f1) and 15 (f2); paper neighbours of 12: 10,9,8,14,15,16 (15 is a signal bin and counts);
    // of 15: 13,12,11,17,18,19.
    List<SignalBin> bins = SignalCatalogue.build(new double[] {6, 7.5}, FPS, W, 1, 0);
    WindowAnalyzer an = new WindowAnalyzer(FPS, W, bins, 10, 1);
    Map<Integer, double[]> sines = new TreeMap<>();
    sines.put(12, new double[] {2.0, 0});
    sines.put(15, new double[] {1.0, 0.5});
    sines.put(9, new double[] {0.5, 0.3});
    sines.put(16, new double[] {0.1, 0.7});
    sines.put(18, new double[] {0.4, 0.9});
    sines.put(20, new double[] {5.0, 0.9}); // distance 5 from 15: outside
    WindowResult r = an.analyze(new double[][] {series(0, sines)});
    double base12 = (0.5 + 1.0 + 0.1) / 6;
    double base15 = (2.0 + 0.4) / 6;
    double meanSnr = (2.0 / base12 + 1.0 / base15) / 2;
    assertEquals(20 * Math.log10(meanSnr), r.paperSnrDb()[0], 1e-9);
  }

  @Test
  void badInputRefused() {
    List<SignalBin> bins = SignalCatalogue.build(new double[] {6}, FPS, W, 1, 0);
    WindowAnalyzer an = new WindowAnalyzer(FPS, W, bins, 10, 1);
    double[] x = new double[W];
    x[17] = Double.NaN;
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> an.analyze(new double[][] {new double[W], x}));
    assertTrue(e.getMessage().contains("filter 1") && e.getMessage().contains("frame 17"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> an.analyze(new double[][] {new double[W - 2]}));
    assertEquals("baselineBins", assertThrows(PlanException.class, () -> new WindowAnalyzer(FPS, W, bins, 0, 1)).field());
    assertEquals("signalBins", assertThrows(PlanException.class, () -> new WindowAnalyzer(FPS, 20, bins, 10, 1)).field());
  }

  static int indexOf(List<SignalBin> bins, String label) {
    for (int s = 0; s < bins.size(); s++) {
      if (bins.get(s).getLabel().equals(label)) {
        return s;
      }
    }
    throw new AssertionError("no " + label);
  }
}
