package dev.tagscope.tagging.spectral;

import dev.tagscope.schemas.ComponentKind;
import dev.tagscope.schemas.FilterImportance;
import dev.tagscope.schemas.FilterResponse;
import dev.tagscope.schemas.SignalBin;
import dev.tagscope.schemas.TagResponse;
import dev.tagscope.tagging.SignalCatalogue;
import java.util.List;

/**
 * Running means over windows (and images) of one layer's measures, for one model+layer or one
 * probe+layer: per filter and signal bin the mean amplitude, baseline, SNR and baseline-corrected
 * amplitude, and per filter the mean score with its parts, mean SNR and mean paper score.
 * Importance follows DESIGN.md section 1: {@code importance = score / max score of the layer}
 * (all 0 when that max is {@code <= 0}); rank 1 = highest score.
 *
 * <p>The filter count {@code C} is fixed by the first window added. Not thread-safe.
 */
public final class LayerAccumulator {
  private final List<SignalBin> bins;
  private int filters = -1;
  private long windows;
  private double[][] amplitude;
  private double[][] baseline;
  private double[][] snr;
  private double[][] corrected;
  private double[] fundamental;
  private double[] harmonic;
  private double[] intermodulation;
  private double[] meanSnr;
  private double[] paperSnrDb;
  private int paperHalf = -1;
  private int[][] paperBins;

  /**
   * @param signalBins the plan's signal bins; every window added must use the same bins, same order
   * @throws IllegalArgumentException when {@code signalBins} is empty
   */
  public LayerAccumulator(List<SignalBin> signalBins) {
    if (signalBins == null || signalBins.isEmpty()) {
      throw new IllegalArgumentException("signalBins: none given; use the plan's catalogue (SignalCatalogue.build)");
    }
    this.bins = List.copyOf(signalBins);
  }

  /**
   * An independent copy with the same windows added so far (to keep a snapshot while adding more).
   *
   * @return the copy
   */
  public LayerAccumulator copy() {
    LayerAccumulator c = new LayerAccumulator(bins);
    c.filters = filters;
    c.windows = windows;
    if (filters >= 0) {
      c.amplitude = deep(amplitude);
      c.baseline = deep(baseline);
      c.snr = deep(snr);
      c.corrected = deep(corrected);
      c.fundamental = fundamental.clone();
      c.harmonic = harmonic.clone();
      c.intermodulation = intermodulation.clone();
      c.meanSnr = meanSnr.clone();
      c.paperSnrDb = paperSnrDb.clone();
    }
    c.paperHalf = paperHalf;
    c.paperBins = paperBins == null ? null : deep(paperBins);
    return c;
  }

  private static double[][] deep(double[][] a) {
    double[][] out = new double[a.length][];
    for (int i = 0; i < a.length; i++) {
      out[i] = a[i].clone();
    }
    return out;
  }

  private static int[][] deep(int[][] a) {
    int[][] out = new int[a.length][];
    for (int i = 0; i < a.length; i++) {
      out[i] = a[i].clone();
    }
    return out;
  }

  /** @return the signal bins, in the order of the per-bin means */
  public List<SignalBin> signalBins() {
    return bins;
  }

  /** @return windows added so far */
  public long windows() {
    return windows;
  }

  /** @return filters {@code C} of the layer, or 0 before the first window */
  public int filters() {
    return Math.max(filters, 0);
  }

  /**
   * Adds one analysed window.
   *
   * @param r the window of this layer
   * @throws IllegalArgumentException when its filter count or signal bins differ from earlier windows
   */
  public void add(WindowResult r) {
    checkBins(r.signalBins());
    init(r.filters());
    double[] f = r.fundamental();
    double[] h = r.harmonic();
    double[] im = r.intermodulation();
    for (int c = 0; c < filters; c++) {
      addRow(amplitude[c], r.amplitude()[c]);
      addRow(baseline[c], r.baseline()[c]);
      addRow(snr[c], r.snr()[c]);
      addRow(corrected[c], r.corrected()[c]);
      fundamental[c] += f[c];
      harmonic[c] += h[c];
      intermodulation[c] += im[c];
      meanSnr[c] += r.meanSnr()[c];
      paperSnrDb[c] += r.paperSnrDb()[c];
    }
    windows++;
  }

  /**
   * Adds one window read back from the {@code tagscope.tag-responses} topic. Score parts and the
   * mean SNR are recomputed from the per-bin values; the paper score from the float spectrum
   * (so it can differ from the live value in the last float digits).
   *
   * <p>The response is checked in full before anything is added, so a refused one leaves the
   * accumulator as it was.
   *
   * @param t a tag response of this layer
   * @throws IllegalArgumentException when its filter count or signal bins differ from earlier
   *     windows, a filter index is outside {@code 0..C-1} or appears twice (the message names the
   *     index), a filter's arrays are not as long as the signal bins, its spectrum is not
   *     {@code W/2+1} long, or a signal bin lies above {@code W/2}
   */
  public void add(TagResponse t) {
    checkBins(t.getSignalBins());
    List<FilterResponse> fr = t.getFilters();
    int half = t.getWindowFrames() / 2;
    if (paperHalf != half) {
      paperBins = Spectra.paperBins(bins, half);
      paperHalf = half;
    }
    int s = bins.size();
    // The paper score below reads spectrum[bin] of every signal bin: a window too short for the
    // plan's bins would throw IndexOutOfBoundsException halfway through the filters, after some
    // were added, so it is refused here, before anything is added.
    for (SignalBin b : bins) {
      if (b.getBin() > half) {
        throw new IllegalArgumentException("signal bin " + b.getBin() + " (" + b.getLabel() + ") is above the " + (half + 1)
            + "-bin spectrum of a " + t.getWindowFrames() + "-frame window");
      }
    }
    double maxAmp = 0;
    for (FilterResponse r : fr) {
      if (r.getAmplitude().size() != s || r.getBaseline().size() != s || r.getSnr().size() != s || r.getCorrected().size() != s) {
        throw new IllegalArgumentException("filter " + r.getFilter() + ": per-bin arrays must have " + s + " values (one per signal bin)");
      }
      if (r.getSpectrum().size() != half + 1) {
        throw new IllegalArgumentException("filter " + r.getFilter() + ": spectrum has " + r.getSpectrum().size()
            + " bins, a " + t.getWindowFrames() + "-frame window has " + (half + 1));
      }
      for (int b = 1; b <= half; b++) {
        maxAmp = Math.max(maxAmp, r.getSpectrum().get(b));
      }
    }
    checkFilterCount(fr.size());
    // Each filter index exactly once: a repeated index would count one filter twice and leave
    // another without this window, silently skewing both means.
    boolean[] seen = new boolean[fr.size()];
    for (FilterResponse r : fr) {
      int c = r.getFilter();
      if (c < 0 || c >= seen.length) {
        throw new IllegalArgumentException("filter index " + c + " outside 0.." + (seen.length - 1));
      }
      if (seen[c]) {
        throw new IllegalArgumentException("filter index " + c + " appears twice in the tag response of layer '"
            + t.getLayer() + "' (probe '" + t.getProbeId() + "', window at imageFrame " + t.getWindowStartFrame()
            + "); each filter 0.." + (seen.length - 1) + " must appear once");
      }
      seen[c] = true;
    }
    init(fr.size());
    double eps = Spectra.epsilon(maxAmp);
    for (FilterResponse r : fr) {
      int c = r.getFilter();
      double snrSum = 0;
      for (int j = 0; j < s; j++) {
        amplitude[c][j] += r.getAmplitude().get(j);
        baseline[c][j] += r.getBaseline().get(j);
        snr[c][j] += r.getSnr().get(j);
        double corr = r.getCorrected().get(j);
        corrected[c][j] += corr;
        snrSum += r.getSnr().get(j);
        ComponentKind kind = bins.get(j).getKind();
        if (kind == ComponentKind.FUNDAMENTAL) {
          fundamental[c] += corr;
        } else if (kind == ComponentKind.HARMONIC) {
          harmonic[c] += corr;
        } else {
          intermodulation[c] += corr;
        }
      }
      meanSnr[c] += snrSum / s;
      List<Float> spec = r.getSpectrum();
      paperSnrDb[c] += Spectra.paperSnrDb(i -> spec.get(i), bins, paperBins, eps);
    }
    windows++;
  }

  /** @return {@code [C][S]} mean over windows of the amplitude at each signal bin */
  public double[][] meanAmplitude() {
    return mean2(amplitude);
  }

  /** @return {@code [C][S]} mean over windows of the raw baseline at each signal bin */
  public double[][] meanBaseline() {
    return mean2(baseline);
  }

  /** @return {@code [C][S]} mean over windows of the SNR at each signal bin */
  public double[][] meanSnrPerBin() {
    return mean2(snr);
  }

  /** @return {@code [C][S]} mean over windows of the baseline-corrected amplitude at each signal bin */
  public double[][] meanCorrected() {
    return mean2(corrected);
  }

  /**
   * Per-filter importance of the layer, in filter (channel) order, each with its rank.
   *
   * @return one entry per filter; empty before the first window
   */
  public List<FilterImportance> importance() {
    if (windows == 0) {
      return List.of();
    }
    double n = windows;
    double[] f = new double[filters];
    double[] h = new double[filters];
    double[] im = new double[filters];
    double[] snrMean = new double[filters];
    double[] paper = new double[filters];
    for (int c = 0; c < filters; c++) {
      f[c] = fundamental[c] / n;
      h[c] = harmonic[c] / n;
      im[c] = intermodulation[c] / n;
      snrMean[c] = meanSnr[c] / n;
      paper[c] = paperSnrDb[c] / n;
    }
    return ImportanceMath.rank(f, h, im, snrMean, paper);
  }

  private void checkFilterCount(int c) {
    if (c < 1) {
      throw new IllegalArgumentException("a window must have at least one filter");
    }
    if (filters >= 0 && c != filters) {
      throw new IllegalArgumentException("this window has " + c + " filters, earlier windows of the layer had " + filters);
    }
  }

  private void init(int c) {
    checkFilterCount(c);
    if (filters < 0) {
      filters = c;
      int s = bins.size();
      amplitude = new double[c][s];
      baseline = new double[c][s];
      snr = new double[c][s];
      corrected = new double[c][s];
      fundamental = new double[c];
      harmonic = new double[c];
      intermodulation = new double[c];
      meanSnr = new double[c];
      paperSnrDb = new double[c];
    }
  }

  private void checkBins(List<SignalBin> other) {
    if (other.size() != bins.size()) {
      throw new IllegalArgumentException("this window has " + other.size() + " signal bins, the layer's plan has " + bins.size());
    }
    for (int j = 0; j < bins.size(); j++) {
      if (other.get(j).getBin() != bins.get(j).getBin()) {
        throw new IllegalArgumentException("signal bin " + j + " is bin " + other.get(j).getBin() + " (" + other.get(j).getLabel()
            + "), the layer's plan has bin " + bins.get(j).getBin() + " (" + bins.get(j).getLabel() + ")");
      }
    }
  }

  private static void addRow(double[] sum, double[] row) {
    for (int j = 0; j < sum.length; j++) {
      sum[j] += row[j];
    }
  }

  private double[][] mean2(double[][] sum) {
    if (windows == 0) {
      return new double[0][];
    }
    double[][] out = new double[filters][];
    for (int c = 0; c < filters; c++) {
      out[c] = new double[sum[c].length];
      for (int j = 0; j < out[c].length; j++) {
        out[c][j] = sum[c][j] / windows;
      }
    }
    return out;
  }
}
