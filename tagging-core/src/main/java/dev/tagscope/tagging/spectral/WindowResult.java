package dev.tagscope.tagging.spectral;

import dev.tagscope.schemas.FilterResponse;
import dev.tagscope.schemas.SignalBin;
import dev.tagscope.schemas.TagResponse;
import java.util.ArrayList;
import java.util.List;

/**
 * The spectral answer of one layer to one window: per filter (channel) and per signal bin the
 * amplitude, baseline, SNR and baseline-corrected amplitude, the single-sided amplitude
 * spectrum, and the per-filter scores (DESIGN.md section 1).
 *
 * <p>Shapes: {@code C} filters, {@code S} signal bins, {@code W} frames per window. Per-bin arrays
 * are {@code [C][S]} in the order of {@link #signalBins()}; {@link #spectrum()} is
 * {@code [C][W/2+1]} (bin 0, DC, reported as 0); score arrays are {@code [C]}. Arrays are handed
 * out without copying: treat them as read-only.
 */
public final class WindowResult {
  private final double fps;
  private final int windowFrames;
  private final List<SignalBin> signalBins;
  private final double[][] amplitude;
  private final double[][] baseline;
  private final double[][] snr;
  private final double[][] corrected;
  private final float[][] spectrum;
  private final double[] fundamental;
  private final double[] harmonic;
  private final double[] intermodulation;
  private final double[] meanSnr;
  private final double[] paperSnrDb;
  private final double epsilon;

  WindowResult(double fps, int windowFrames, List<SignalBin> signalBins, double[][] amplitude, double[][] baseline,
               double[][] snr, double[][] corrected, float[][] spectrum, double[] fundamental, double[] harmonic,
               double[] intermodulation, double[] meanSnr, double[] paperSnrDb, double epsilon) {
    this.fps = fps;
    this.windowFrames = windowFrames;
    this.signalBins = signalBins;
    this.amplitude = amplitude;
    this.baseline = baseline;
    this.snr = snr;
    this.corrected = corrected;
    this.spectrum = spectrum;
    this.fundamental = fundamental;
    this.harmonic = harmonic;
    this.intermodulation = intermodulation;
    this.meanSnr = meanSnr;
    this.paperSnrDb = paperSnrDb;
    this.epsilon = epsilon;
  }

  /** @return number of filters {@code C} */
  public int filters() {
    return amplitude.length;
  }

  /** @return frames per second of stimulus time */
  public double fps() {
    return fps;
  }

  /** @return {@code W}, frames in the window */
  public int windowFrames() {
    return windowFrames;
  }

  /** @return the signal bins, in the order of the per-bin arrays */
  public List<SignalBin> signalBins() {
    return signalBins;
  }

  /** @return {@code [C][S]} amplitude {@code A(b) = |X(b)| * 2 / W} at each signal bin, activation units */
  public double[][] amplitude() {
    return amplitude;
  }

  /** @return {@code [C][S]} raw baseline: mean amplitude of the baseline bins (not floored) */
  public double[][] baseline() {
    return baseline;
  }

  /** @return {@code [C][S]} SNR {@code A / max(baseline, epsilon)} (amplitude ratio) */
  public double[][] snr() {
    return snr;
  }

  /** @return {@code [C][S]} baseline-corrected amplitude {@code A - baseline} */
  public double[][] corrected() {
    return corrected;
  }

  /** @return {@code [C][W/2+1]} single-sided amplitude spectrum, DC reported as 0 */
  public float[][] spectrum() {
    return spectrum;
  }

  /** @return {@code [C]} score: sum over all signal bins of the baseline-corrected amplitude */
  public double[] score() {
    double[] s = new double[fundamental.length];
    for (int c = 0; c < s.length; c++) {
      s[c] = fundamental[c] + harmonic[c] + intermodulation[c];
    }
    return s;
  }

  /** @return {@code [C]} part of the score from fundamentals */
  public double[] fundamental() {
    return fundamental;
  }

  /** @return {@code [C]} part of the score from harmonics */
  public double[] harmonic() {
    return harmonic;
  }

  /** @return {@code [C]} part of the score from intermodulation (IM) terms */
  public double[] intermodulation() {
    return intermodulation;
  }

  /** @return {@code [C]} mean SNR over the signal bins */
  public double[] meanSnr() {
    return meanSnr;
  }

  /** @return {@code [C]} paper-compatible score in dB, see {@link WindowAnalyzer} */
  public double[] paperSnrDb() {
    return paperSnrDb;
  }

  /** @return the baseline floor used in this window: {@code max(1e-9 * largest amplitude, Double.MIN_NORMAL)} */
  public double epsilon() {
    return epsilon;
  }

  /**
   * This window as a record of the {@code tagscope.tag-responses} topic.
   *
   * @param probeId probe id
   * @param model model name
   * @param layer layer name
   * @param imageId image id within the probe
   * @param windowStartFrame imageFrame of the window's first frame
   * @return the tag response, one {@link FilterResponse} per filter in channel order
   */
  public TagResponse toTagResponse(String probeId, String model, String layer, String imageId, int windowStartFrame) {
    List<FilterResponse> filters = new ArrayList<>(filters());
    for (int c = 0; c < filters(); c++) {
      List<Float> spec = new ArrayList<>(spectrum[c].length);
      for (float v : spectrum[c]) {
        spec.add(v);
      }
      filters.add(FilterResponse.newBuilder()
          .setFilter(c)
          .setAmplitude(boxed(amplitude[c]))
          .setBaseline(boxed(baseline[c]))
          .setSnr(boxed(snr[c]))
          .setCorrected(boxed(corrected[c]))
          .setSpectrum(spec)
          .build());
    }
    return TagResponse.newBuilder()
        .setProbeId(probeId)
        .setModel(model)
        .setLayer(layer)
        .setImageId(imageId)
        .setWindowStartFrame(windowStartFrame)
        .setWindowFrames(windowFrames)
        .setFps(fps)
        .setBinWidthHz(fps / windowFrames)
        .setSignalBins(new ArrayList<>(signalBins))
        .setFilters(filters)
        .build();
  }

  private static List<Double> boxed(double[] v) {
    List<Double> out = new ArrayList<>(v.length);
    for (double x : v) {
      out.add(x);
    }
    return out;
  }
}
