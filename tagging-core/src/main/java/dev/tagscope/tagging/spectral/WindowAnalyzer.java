package dev.tagscope.tagging.spectral;

import dev.tagscope.schemas.SignalBin;
import dev.tagscope.tagging.PlanException;
import dev.tagscope.tagging.AnalysisPlan;
import dev.tagscope.tagging.SignalCatalogue;
import dev.tagscope.tagging.WindowGeometry;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.jtransforms.fft.DoubleFFT_1D;

/**
 * Analyses one window of a layer: the real FFT of each filter's series of {@code W} frames and
 * the measures at every signal bin (DESIGN.md section 1; Böge et al., arXiv:2411.10084, sec. 3;
 * baseline correction after Retter et al. 2021).
 *
 * <ul>
 *   <li><b>Amplitude</b>: {@code A(b) = |X(b)| * 2 / W} for {@code 1 <= b < W/2}; the Nyquist bin
 *       {@code b = W/2} is {@code |X| / W}; DC ({@code b = 0}) is excluded and reported as 0. Bin
 *       {@code b} lies at {@code b * fps / W} Hz. A sinusoid of amplitude {@code a} on a bin gives
 *       back {@code a}.
 *   <li><b>Baseline</b> of signal bin {@code b}: mean amplitude of {@code K} eligible bins on each
 *       side, starting at distance {@code baselineSkip + 1} and walking outward; a bin is eligible
 *       when it is not DC, not above {@code W/2} and not a signal bin (other signal bins are passed
 *       over and the walk goes on, so {@code K} are still collected where the spectrum allows;
 *       near its edges the bins that exist are taken).
 *   <li><b>SNR</b> {@code = A / max(baseline, eps)}, {@code eps = max(1e-9 * largest amplitude of
 *       any bin of any filter of the layer in the window, Double.MIN_NORMAL)}: a network is
 *       deterministic, so the baseline can be 0 and the SNR still stays finite. The raw baseline
 *       is reported too. <b>Baseline-corrected amplitude</b> {@code = A - baseline}.
 *   <li><b>Score</b> of a filter: sum over signal bins of the baseline-corrected amplitude, kept
 *       apart as fundamental, harmonic and intermodulation parts.
 *   <li><b>Paper-compatible score</b> (arXiv:2411.10084): mean over signal bins of the SNR against
 *       the plain mean of 3 neighbours each side skipping 1 (other signal bins not excluded),
 *       floored at {@code eps}, in dB as {@code 20 * log10(meanSnr)} (an amplitude ratio).
 * </ul>
 *
 * <p>Reuses its FFT buffer: one instance per thread (it is on the hot path: with the default
 * model, {@code fmnist-resnet32}, every frame gives 16 tapped layers, the first convolution and
 * 15 residual blocks, of 16 to 64 filters each, and each of them completes its own windows).
 * Not thread-safe.
 */
public final class WindowAnalyzer {
  private final double fps;
  private final int windowFrames;
  private final int half;
  private final List<SignalBin> bins;
  private final int[] binIndex;
  private final int[][] baselineBins;
  private final int[][] paperBins;
  private final DoubleFFT_1D fft;
  private final double[] buffer;

  /**
   * An analyzer for a plan's window and catalogue.
   *
   * @param plan the analysis plan (its fps, {@code W}, signal bins and baseline)
   * @throws PlanException as {@link #WindowAnalyzer(double, int, List, int, int)}
   */
  public WindowAnalyzer(AnalysisPlan plan) {
    this(plan.fps(), plan.windowFrames(), plan.signalBins(), plan.baselineBins(), plan.baselineSkip());
  }

  /**
   * @param fps frames per second (> 0)
   * @param windowFrames {@code W} (even, >= 2)
   * @param bins signal bins, e.g. from {@link SignalCatalogue#build}; each {@code 1 <= bin < W/2}, distinct
   * @param baselineBins {@code K} (>= 1), default 10
   * @param baselineSkip bins next to a signal bin left out of its baseline (>= 0), default 1
   * @throws PlanException naming the field when a value is out of range
   */
  public WindowAnalyzer(double fps, int windowFrames, List<SignalBin> bins, int baselineBins, int baselineSkip) {
    WindowGeometry.of(fps, windowFrames, 0, 0); // PlanException for fps or windowFrames, checked in one place
    if (bins == null || bins.isEmpty()) {
      throw new PlanException("signalBins", "no signal bins: build them with SignalCatalogue.build(...)");
    }
    AnalysisPlan.checkBaseline(baselineBins, baselineSkip);
    this.fps = fps;
    this.windowFrames = windowFrames;
    this.half = windowFrames / 2;
    this.bins = List.copyOf(bins);
    this.binIndex = new int[bins.size()];
    Set<Integer> seen = new HashSet<>();
    for (int s = 0; s < bins.size(); s++) {
      SignalBin b = bins.get(s);
      if (b.getBin() < 1 || b.getBin() >= half) {
        throw new PlanException("signalBins", "bin " + b.getBin() + " of " + b.getLabel() + " is outside 1.." + (half - 1)
            + " for a " + windowFrames + "-frame window; rebuild the catalogue with SignalCatalogue.build for this window");
      }
      if (!seen.add(b.getBin())) {
        throw new PlanException("signalBins", "bin " + b.getBin() + " appears twice (" + b.getLabel()
            + "); rebuild the catalogue with SignalCatalogue.build");
      }
      binIndex[s] = b.getBin();
    }
    this.baselineBins = Spectra.baselineBins(this.bins, half, baselineBins, baselineSkip);
    this.paperBins = Spectra.paperBins(this.bins, half);
    this.fft = new DoubleFFT_1D(windowFrames);
    this.buffer = new double[windowFrames];
  }

  /** @return {@code W} */
  public int windowFrames() {
    return windowFrames;
  }

  /** @return frames per second */
  public double fps() {
    return fps;
  }

  /** @return the signal bins, in result order */
  public List<SignalBin> signalBins() {
    return bins;
  }

  /**
   * The baseline bins of signal bin {@code s}, for inspection.
   *
   * @param s index into {@link #signalBins()}
   * @return FFT bin indices averaged into its baseline (a copy)
   */
  public int[] baselineBinsOf(int s) {
    return baselineBins[s].clone();
  }

  /**
   * Single-sided amplitude spectrum of one series.
   *
   * @param series {@code [W]} values of one filter, activation units
   * @param out {@code [W/2+1]} receives {@code A(b)}, {@code out[0] = 0}
   * @return the largest amplitude in {@code out}
   * @throws IllegalArgumentException when lengths differ from {@code W} and {@code W/2+1}
   */
  public double amplitudeSpectrum(double[] series, double[] out) {
    if (series.length != windowFrames || out.length != half + 1) {
      throw new IllegalArgumentException("series must have " + windowFrames + " frames and out " + (half + 1)
          + " bins, got " + series.length + " and " + out.length);
    }
    System.arraycopy(series, 0, buffer, 0, windowFrames);
    fft.realForward(buffer);
    // realForward layout for even W: a[0] = Re X0, a[1] = Re X(W/2), a[2k] = Re Xk, a[2k+1] = Im Xk.
    out[0] = 0;
    double max = Math.abs(buffer[1]) / windowFrames;
    out[half] = max;
    double scale = 2.0 / windowFrames;
    for (int k = 1; k < half; k++) {
      double re = buffer[2 * k];
      double im = buffer[2 * k + 1];
      // not Math.hypot: its care for overflow near 1e154 costs a tenth of the stream thread, and a
      // reduced activation of that size is no activation (the input check refuses non-finite ones)
      double a = Math.sqrt(re * re + im * im) * scale;
      out[k] = a;
      if (a > max) {
        max = a;
      }
    }
    return max;
  }

  /**
   * Analyses one window of a layer.
   *
   * @param series {@code [C][W]}: {@code C >= 1} filters, {@code W} frames each, finite values
   * @return the per-filter, per-signal-bin measures and scores
   * @throws IllegalArgumentException when {@code C == 0}, a row is not {@code W} long, or a value
   *     is NaN or infinite (the message names the filter and frame)
   */
  public WindowResult analyze(double[][] series) {
    int c = series.length;
    if (c == 0) {
      throw new IllegalArgumentException("no filters: the layer's series must be [C][" + windowFrames + "] with C >= 1");
    }
    int s = bins.size();
    double[][] spec = new double[c][half + 1];
    double maxAmp = 0;
    for (int k = 0; k < c; k++) {
      double[] row = series[k];
      if (row.length != windowFrames) {
        throw new IllegalArgumentException("filter " + k + " has " + row.length + " frames, the window has " + windowFrames);
      }
      for (int i = 0; i < windowFrames; i++) {
        if (!Double.isFinite(row[i])) {
          throw new IllegalArgumentException("filter " + k + " is " + row[i] + " at frame " + i + " of the window");
        }
      }
      maxAmp = Math.max(maxAmp, amplitudeSpectrum(row, spec[k]));
    }
    double eps = Spectra.epsilon(maxAmp);
    double[][] amp = new double[c][s];
    double[][] base = new double[c][s];
    double[][] snr = new double[c][s];
    double[][] corr = new double[c][s];
    float[][] spectrumOut = new float[c][half + 1];
    double[] fund = new double[c];
    double[] harm = new double[c];
    double[] im = new double[c];
    double[] meanSnr = new double[c];
    double[] paper = new double[c];
    for (int k = 0; k < c; k++) {
      double[] a = spec[k];
      for (int b = 0; b <= half; b++) {
        spectrumOut[k][b] = (float) a[b];
      }
      double snrSum = 0;
      for (int j = 0; j < s; j++) {
        double amplitude = a[binIndex[j]];
        double baseline = Spectra.mean(i -> a[i], baselineBins[j]);
        amp[k][j] = amplitude;
        base[k][j] = baseline;
        snr[k][j] = amplitude / Math.max(baseline, eps);
        corr[k][j] = amplitude - baseline;
        snrSum += snr[k][j];
        switch (bins.get(j).getKind()) {
          case FUNDAMENTAL -> fund[k] += corr[k][j];
          case HARMONIC -> harm[k] += corr[k][j];
          default -> im[k] += corr[k][j];
        }
      }
      meanSnr[k] = snrSum / s;
      paper[k] = Spectra.paperSnrDb(i -> a[i], bins, paperBins, eps);
    }
    return new WindowResult(fps, windowFrames, bins, amp, base, snr, corr, spectrumOut, fund, harm, im, meanSnr, paper, eps);
  }
}
