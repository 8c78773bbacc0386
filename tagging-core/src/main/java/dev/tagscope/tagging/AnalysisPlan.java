package dev.tagscope.tagging;

import dev.tagscope.schemas.ProbeSpec;
import dev.tagscope.schemas.Region;
import dev.tagscope.schemas.SignalBin;
import java.util.ArrayList;
import java.util.List;

/**
 * What the spectral analysis of a probe needs, and what a {@code SpectralReport} writes as its
 * "plan": the window geometry, the tagged regions with their tag frequencies, and the validated
 * signal-bin catalogue with its baseline. A streamed probe gives it with {@link #fromProbe}; an
 * offline analysis of a recorded series ({@code tagscope analyze}) builds it with
 * {@link #builder()}, whose defaults are {@link PlanDefaults}'.
 *
 * @param window where the windows lie, with fps (Hz), {@code W} and hop in frames
 * @param regions tagged regions in order ({@code f1} is the first)
 * @param maxHarmonic {@code H}
 * @param maxImOrder {@code M}
 * @param baselineBins {@code K}, baseline bins each side
 * @param baselineSkip bins next to a signal bin left out of its baseline
 * @param signalBins the validated catalogue
 */
public record AnalysisPlan(WindowGeometry window, List<RegionInfo> regions, int maxHarmonic, int maxImOrder,
                           int baselineBins, int baselineSkip, List<SignalBin> signalBins) {

  /**
   * One tagged region.
   *
   * @param name region name, e.g. {@code "left"}
   * @param frequencyHz tag frequency, Hz
   * @param phaseRad tag phase, radians
   */
  public record RegionInfo(String name, double frequencyHz, double phaseRad) {}

  /**
   * Copies the lists and checks the baseline.
   *
   * @throws PlanException ({@code baselineBins}, {@code baselineSkip}) when the baseline is empty
   *     or its skip negative
   */
  public AnalysisPlan {
    regions = List.copyOf(regions);
    signalBins = List.copyOf(signalBins);
    checkBaseline(baselineBins, baselineSkip);
  }

  /**
   * Checks a baseline: the one place its rules are written.
   *
   * @param baselineBins {@code K}, bins each side (&gt;= 1)
   * @param baselineSkip bins next to the signal bin left out (&gt;= 0)
   * @throws PlanException ({@code baselineBins}, {@code baselineSkip}) naming the fix
   */
  public static void checkBaseline(int baselineBins, int baselineSkip) {
    if (baselineBins < 1) {
      throw new PlanException("baselineBins", "must be >= 1 neighbouring bins on each side, got " + baselineBins
          + " (default " + PlanDefaults.BASELINE_BINS + ")");
    }
    if (baselineSkip < 0) {
      throw new PlanException("baselineSkip", "must be >= 0, got " + baselineSkip + " (default " + PlanDefaults.BASELINE_SKIP + ")");
    }
  }

  /**
   * Frames per second.
   *
   * @return fps of stimulus time, Hz
   */
  public double fps() {
    return window.fps();
  }

  /**
   * The window length.
   *
   * @return {@code W}, frames per FFT window
   */
  public int windowFrames() {
    return window.windowFrames();
  }

  /**
   * The hop.
   *
   * @return frames between the starts of consecutive windows of one image
   */
  public int hopFrames() {
    return window.hopFrames();
  }

  /**
   * The FFT bin width.
   *
   * @return {@code fps / W}, Hz
   */
  public double binWidthHz() {
    return window.binWidthHz();
  }

  /**
   * The tag frequencies.
   *
   * @return the tag frequencies in region order, Hz
   */
  public double[] frequenciesHz() {
    return regions.stream().mapToDouble(RegionInfo::frequencyHz).toArray();
  }

  /**
   * The plan of a published probe (its signal bins as carried by the probe).
   *
   * @param p the probe
   * @return its plan
   * @throws PlanException when the probe's geometry or baseline is inconsistent (a probe not
   *     built by {@link ProbePlan})
   */
  public static AnalysisPlan fromProbe(ProbeSpec p) {
    List<RegionInfo> regions = new ArrayList<>();
    for (Region r : p.getRegions()) {
      regions.add(new RegionInfo(r.getName(), r.getFrequencyHz(), r.getPhaseRad()));
    }
    return new AnalysisPlan(WindowGeometry.of(p), regions, p.getMaxHarmonic(), p.getMaxImOrder(), p.getBaselineBins(),
        p.getBaselineSkip(), p.getSignalBins());
  }

  /**
   * A builder for an offline analysis; regions are named {@code "region1"}, {@code "region2"},
   * ... with phase 0.
   *
   * @return a builder with {@link PlanDefaults}; the frequencies must be given
   */
  public static Builder builder() {
    return new Builder();
  }

  /** Collects an offline analysis plan; {@link #build()} validates it. */
  public static final class Builder {
    private double fps = PlanDefaults.FPS;
    private int windowFrames = PlanDefaults.WINDOW_FRAMES;
    private Integer hopFrames;
    private double[] frequencies;
    private int maxHarmonic = PlanDefaults.MAX_HARMONIC;
    private Integer maxImOrder;
    private int baselineBins = PlanDefaults.BASELINE_BINS;
    private int baselineSkip = PlanDefaults.BASELINE_SKIP;

    private Builder() {}

    /**
     * Sets the frame rate.
     *
     * @param fps frames per second of the recording, Hz (&gt; 0)
     * @return this
     */
    public Builder fps(double fps) {
      this.fps = fps;
      return this;
    }

    /**
     * Sets the window.
     *
     * @param frames {@code W}, frames per FFT window (even)
     * @return this
     */
    public Builder windowFrames(int frames) {
      this.windowFrames = frames;
      return this;
    }

    /**
     * Sets the hop.
     *
     * @param frames frames between window starts, {@code 1..W}; null (the default) for {@code W}
     * @return this
     */
    public Builder hopFrames(Integer frames) {
      this.hopFrames = frames;
      return this;
    }

    /**
     * Sets the tag frequencies.
     *
     * @param hz tag frequency per region, Hz
     * @return this
     */
    public Builder frequencies(double... hz) {
      this.frequencies = hz == null ? null : hz.clone();
      return this;
    }

    /**
     * Sets {@code H}.
     *
     * @param h harmonics {@code n*f} for {@code n = 2..H}
     * @return this
     */
    public Builder maxHarmonic(int h) {
      this.maxHarmonic = h;
      return this;
    }

    /**
     * Sets {@code M}.
     *
     * @param m highest IM order; null for {@link PlanDefaults#maxImOrder(int)}
     * @return this
     */
    public Builder maxImOrder(Integer m) {
      this.maxImOrder = m;
      return this;
    }

    /**
     * Sets {@code K}.
     *
     * @param k baseline bins each side (&gt;= 1)
     * @return this
     */
    public Builder baselineBins(int k) {
      this.baselineBins = k;
      return this;
    }

    /**
     * Sets the baseline skip.
     *
     * @param skip bins next to a signal bin left out of its baseline (&gt;= 0)
     * @return this
     */
    public Builder baselineSkip(int skip) {
      this.baselineSkip = skip;
      return this;
    }

    /**
     * Validates and builds the plan.
     *
     * @return the plan, with one image of one window ({@code framesPerImage = W}); a series is
     *     windowed with {@link WindowGeometry#overSeries}
     * @throws PlanException naming the field: {@code frequencies}, {@code fps},
     *     {@code windowFrames}, {@code maxHarmonic}, {@code maxImOrder} (see
     *     {@link SignalCatalogue#build}), {@code hopFrames}, {@code baselineBins},
     *     {@code baselineSkip}
     */
    public AnalysisPlan build() {
      if (frequencies == null) {
        throw new PlanException("frequencies", "give the tag frequency of each region, Hz (e.g. 6,7.5)");
      }
      int m = maxImOrder != null ? maxImOrder : PlanDefaults.maxImOrder(frequencies.length);
      List<SignalBin> bins = SignalCatalogue.build(frequencies, fps, windowFrames, maxHarmonic, m);
      WindowGeometry window = new WindowGeometry(fps, windowFrames, hopFrames == null ? windowFrames : hopFrames, windowFrames);
      List<RegionInfo> regions = new ArrayList<>();
      for (int r = 0; r < frequencies.length; r++) {
        regions.add(new RegionInfo("region" + (r + 1), frequencies[r], 0));
      }
      return new AnalysisPlan(window, regions, maxHarmonic, m, baselineBins, baselineSkip, bins);
    }
  }
}
