package dev.tagscope.tagging;

import dev.tagscope.schemas.ProbeSpec;
import dev.tagscope.schemas.Reduction;
import dev.tagscope.schemas.Region;
import dev.tagscope.schemas.SignalBin;
import dev.tagscope.tagging.PlanException;
import dev.tagscope.tagging.SignalCatalogue;
import dev.tagscope.tagging.internal.DefaultFrequencies;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import java.util.UUID;

/**
 * A validated frequency-tagging plan: how the images of one probe are split into regions,
 * tagged, shown and analysed (DESIGN.md section 1; Böge et al., arXiv:2411.10084, sec. 3).
 * Everything is checked in {@link Builder#build()}, before anything is sent; the result carries
 * the {@link ProbeSpec} that goes to {@code Topics.PROBES}.
 *
 * <pre>{@code
 * ProbePlan plan = ProbePlan.builder()
 *     .model("fmnist-resnet32")
 *     .layout("halves-lr")            // default; left 6 Hz, right 7.5 Hz
 *     .imageShape(1, 28, 28)
 *     .imageCount(images.size())
 *     .build();                       // throws PlanException naming the field and the fix
 * }</pre>
 *
 * <p>Contrast modulation of region r at frame i: {@code m_r(i) = c + a*sin(2*pi*f_r*i/fps + phi_r)},
 * defaults {@code c = 0.75}, {@code a = 0.25} (the paper's range [0.5, 1.0]).
 *
 * <p>Defaults: fps 120, window {@code W} = 240 frames (2 s, bin width 0.5 Hz), hop = W,
 * framesPerImage = W, maxHarmonic 4, maxImOrder 4 for two regions and 2 for more, baselineBins
 * 10, baselineSkip 1, phases 0, reduction MEAN, no layers (the worker's default taps), a random
 * probe id, startTimeMs = the wall clock at {@code build()}. Tag frequencies: 6 and 7.5 Hz for
 * the two-region layouts; for more regions, the first set a search over multiples of the bin
 * width finds that passes validation (see {@link DefaultFrequencies}; 6, 7, 8.5, 11.5 Hz for
 * quadrants at the default fps and window).
 */
public final class ProbePlan {
  private final ProbeSpec spec;
  private final Layout layout;

  private ProbePlan(ProbeSpec spec, Layout layout) {
    this.spec = spec;
    this.layout = layout;
  }

  /** @return a builder with the defaults listed in the class comment */
  public static Builder builder() {
    return new Builder();
  }

  /** @return a copy of the probe spec to publish on {@code Topics.PROBES} */
  public ProbeSpec spec() {
    return ProbeSpec.newBuilder(spec).build();
  }

  /** @return the layout */
  public Layout layout() {
    return layout;
  }

  /** @return the probe id (key on the probes and stimuli topics) */
  public String probeId() {
    return spec.getProbeId();
  }

  /** @return model name */
  public String model() {
    return spec.getModel();
  }

  /** @return stimulus time origin, epoch ms */
  public long startTimeMs() {
    return spec.getStartTimeMs();
  }

  /** @return frames per second of stimulus time */
  public double fps() {
    return spec.getFps();
  }

  /** @return W, frames per FFT window */
  public int windowFrames() {
    return spec.getWindowFrames();
  }

  /** @return frames between window starts */
  public int hopFrames() {
    return spec.getHopFrames();
  }

  /** @return frames each image is shown */
  public int framesPerImage() {
    return spec.getFramesPerImage();
  }

  /**
   * Where the windows of each image lie.
   *
   * @return the plan's window geometry (fps, {@code W}, hop, frames per image)
   */
  public WindowGeometry geometry() {
    return WindowGeometry.of(spec);
  }

  /**
   * What the spectral analysis of this plan needs.
   *
   * @return the analysis plan (geometry, regions, signal bins, baseline)
   */
  public AnalysisPlan analysis() {
    return AnalysisPlan.fromProbe(spec);
  }

  /** @return c of the modulation */
  public double modulationCenter() {
    return spec.getModulationCenter();
  }

  /** @return a of the modulation */
  public double modulationDepth() {
    return spec.getModulationDepth();
  }

  /** @return the regions in order, with their pixel bounds, tag frequency (Hz) and phase (rad); unmodifiable */
  public List<Region> regions() {
    return Collections.unmodifiableList(spec.getRegions());
  }

  /** @return the validated signal bins; unmodifiable */
  public List<SignalBin> signalBins() {
    return Collections.unmodifiableList(spec.getSignalBins());
  }

  /** @return image channels C */
  public int imageChannels() {
    return spec.getImageChannels();
  }

  /** @return image height H */
  public int imageHeight() {
    return spec.getImageHeight();
  }

  /** @return image width W */
  public int imageWidth() {
    return spec.getImageWidth();
  }

  /** @return images per cycle, or -1 for a continuous probe */
  public int imageCount() {
    return spec.getImageCount();
  }

  /** @return whether the probe cycles through its images without end */
  public boolean continuous() {
    return spec.getContinuous();
  }

  /**
   * Total frames of a finite probe.
   *
   * @return {@code imageCount * framesPerImage}, or -1 for a continuous probe
   */
  public long totalFrames() {
    return continuous() ? -1 : (long) imageCount() * framesPerImage();
  }

  @Override
  public String toString() {
    return "ProbePlan" + spec;
  }

  /**
   * Collects a plan's settings; {@link #build()} validates them all. Setters do not validate,
   * so the first error reported is the one {@code build()} finds in a fixed order.
   */
  public static final class Builder {
    private String probeId;
    private String model;
    private Long startTimeMs;
    private String layout = PlanDefaults.LAYOUT;
    private double[] frequencies;
    private double[] phases;
    private double modulationCenter = PlanDefaults.MODULATION_CENTER;
    private double modulationDepth = PlanDefaults.MODULATION_DEPTH;
    private double fps = PlanDefaults.FPS;
    private int windowFrames = PlanDefaults.WINDOW_FRAMES;
    private int hopFrames;
    private int framesPerImage;
    private int maxHarmonic = PlanDefaults.MAX_HARMONIC;
    private Integer maxImOrder;
    private int baselineBins = PlanDefaults.BASELINE_BINS;
    private int baselineSkip = PlanDefaults.BASELINE_SKIP;
    private List<String> layers = List.of();
    private Reduction reduction = PlanDefaults.REDUCTION; // why MEAN: PlanDefaults.REDUCTION
    private int channels;
    private int height;
    private int width;
    private int imageCount;
    private boolean continuous;

    private Builder() {}

    /**
     * Sets {@code probeId}.
     *
     * @param probeId probe id; null for a random {@code probe-<uuid>}
     * @return this
     */
    public Builder probeId(String probeId) {
      this.probeId = probeId;
      return this;
    }

    /**
     * Sets {@code model}.
     *
     * @param model model name, e.g. {@code "fmnist-resnet32"} (required)
     * @return this
     */
    public Builder model(String model) {
      this.model = model;
      return this;
    }

    /**
     * Sets {@code startTimeMs}.
     *
     * @param startTimeMs stimulus time origin, epoch ms; null for the wall clock at build()
     * @return this
     */
    public Builder startTimeMs(Long startTimeMs) {
      this.startTimeMs = startTimeMs;
      return this;
    }

    /**
     * Sets {@code layout}.
     *
     * @param layout {@code halves-lr}, {@code halves-tb}, {@code quadrants} or {@code grid:RxC}
     * @return this
     */
    public Builder layout(String layout) {
      this.layout = layout;
      return this;
    }

    /**
     * Sets {@code frequencies}.
     *
     * @param hz tag frequency per region in Hz, region order; null for the default
     * @return this
     */
    public Builder frequencies(double... hz) {
      this.frequencies = hz == null ? null : hz.clone();
      return this;
    }

    /**
     * Sets {@code frequencies}.
     *
     * @param hz tag frequency per region in Hz, region order; null or empty for the default
     * @return this
     */
    public Builder frequencies(List<Double> hz) {
      this.frequencies = hz == null || hz.isEmpty() ? null : hz.stream().mapToDouble(Double::doubleValue).toArray();
      return this;
    }

    /**
     * Sets {@code phases}.
     *
     * @param rad phase per region in radians; null for all 0
     * @return this
     */
    public Builder phases(double... rad) {
      this.phases = rad == null ? null : rad.clone();
      return this;
    }

    /**
     * Sets {@code phases}.
     *
     * @param rad phase per region in radians; null or empty for all 0
     * @return this
     */
    public Builder phases(List<Double> rad) {
      this.phases = rad == null || rad.isEmpty() ? null : rad.stream().mapToDouble(Double::doubleValue).toArray();
      return this;
    }

    /**
     * @param center c, default 0.75
     * @param depth a, default 0.25; {@code 0 <= c-a} and {@code c+a <= 1} are required
     * @return this
     */
    public Builder modulation(double center, double depth) {
      this.modulationCenter = center;
      this.modulationDepth = depth;
      return this;
    }

    /**
     * Sets {@code fps}.
     *
     * @param fps frames per second of stimulus time, default 120
     * @return this
     */
    public Builder fps(double fps) {
      this.fps = fps;
      return this;
    }

    /**
     * Sets {@code windowFrames}.
     *
     * @param frames W, frames per FFT window (even), default 240
     * @return this
     */
    public Builder windowFrames(int frames) {
      this.windowFrames = frames;
      return this;
    }

    /**
     * Sets {@code hopFrames}.
     *
     * @param frames hop between window starts, 1..W; 0 for W
     * @return this
     */
    public Builder hopFrames(int frames) {
      this.hopFrames = frames;
      return this;
    }

    /**
     * Sets {@code framesPerImage}.
     *
     * @param frames frames each image is shown, &gt;= W with (frames - W) a multiple of hop; 0 for W
     * @return this
     */
    public Builder framesPerImage(int frames) {
      this.framesPerImage = frames;
      return this;
    }

    /**
     * Sets {@code maxHarmonic}.
     *
     * @param h H: harmonics n*f_r for n = 2..H, default 4
     * @return this
     */
    public Builder maxHarmonic(int h) {
      this.maxHarmonic = h;
      return this;
    }

    /**
     * Sets {@code maxImOrder}.
     *
     * @param m M: IM terms of order n+m &lt;= M; null for 4 (two regions) or 2 (more)
     * @return this
     */
    public Builder maxImOrder(Integer m) {
      this.maxImOrder = m;
      return this;
    }

    /**
     * Sets {@code baselineBins}.
     *
     * @param k K: baseline bins on each side of a signal bin, default 10
     * @return this
     */
    public Builder baselineBins(int k) {
      this.baselineBins = k;
      return this;
    }

    /**
     * Sets {@code baselineSkip}.
     *
     * @param skip bins next to a signal bin left out of its baseline, default 1
     * @return this
     */
    public Builder baselineSkip(int skip) {
      this.baselineSkip = skip;
      return this;
    }

    /**
     * Sets {@code layers}.
     *
     * @param layers layer names to tap; null or empty for the worker's defaults
     * @return this
     */
    public Builder layers(List<String> layers) {
      this.layers = layers == null ? List.of() : new ArrayList<>(layers);
      return this;
    }

    /**
     * Sets {@code reduction}.
     *
     * @param reduction how a filter's [H,W] map becomes one number per frame, default MEAN
     * @return this
     */
    public Builder reduction(Reduction reduction) {
      this.reduction = reduction;
      return this;
    }

    /**
     * @param channels C of every image of the probe
     * @param height H in pixels
     * @param width W in pixels
     * @return this
     */
    public Builder imageShape(int channels, int height, int width) {
      this.channels = channels;
      this.height = height;
      this.width = width;
      return this;
    }

    /**
     * Sets {@code imageCount}.
     *
     * @param count images per pass (&gt;= 1); not needed in continuous mode
     * @return this
     */
    public Builder imageCount(int count) {
      this.imageCount = count;
      return this;
    }

    /**
     * Sets {@code continuous}.
     *
     * @param continuous cycle through the images without end (ProbeSpec.imageCount = -1)
     * @return this
     */
    public Builder continuous(boolean continuous) {
      this.continuous = continuous;
      return this;
    }

    /**
     * Validates everything that does not depend on the images (model, layout name, timing,
     * modulation, frequencies, phases, signal bins, baseline, layers), so a caller can refuse a
     * bad plan before loading images.
     *
     * @throws PlanException naming the field and the fix
     */
    public void checkTagging() {
      tagging();
    }

    /** The tagging part of the plan, validated. */
    private record Tagging(Layout layout, WindowGeometry geometry, double[] freqs, double[] phases, int maxImOrder,
                           List<SignalBin> bins) {}

    private Tagging tagging() {
      if (model == null || model.isBlank()) {
        throw new PlanException("model", "give the model name (e.g. fmnist-resnet32); the importance topic is keyed model/layer");
      }
      if (probeId != null && probeId.isBlank()) {
        throw new PlanException("probeId", "must not be blank; leave it unset for a random id");
      }
      Layout lay = Layout.parse(layout);
      int n = lay.regionCount();
      WindowGeometry geometry = WindowGeometry.of(fps, windowFrames, hopFrames, framesPerImage);
      double c = modulationCenter;
      double a = modulationDepth;
      if (!Double.isFinite(c) || c < 0 || c > 1) {
        throw new PlanException("modulationCenter", "must be in [0, 1], got " + c + " (default 0.75)");
      }
      if (!Double.isFinite(a) || !(a > 0)) {
        throw new PlanException("modulationDepth", "must be > 0 for any tag to show, got " + a + " (default 0.25)");
      }
      if (c - a < 0 || c + a > 1) {
        throw new PlanException("modulationDepth", "c +/- a must stay within [0, 1] (pixel values are only scaled down), got c - a = "
            + (c - a) + ", c + a = " + (c + a) + ": lower modulationDepth to at most " + Math.min(c, 1 - c)
            + " (the paper's range [0.5, 1.0] is c = 0.75, a = 0.25)");
      }
      AnalysisPlan.checkBaseline(baselineBins, baselineSkip);
      int m = maxImOrder != null ? maxImOrder : PlanDefaults.maxImOrder(n);
      double[] f = frequencies;
      if (f == null) {
        f = n == 2 ? PlanDefaults.HALVES_HZ.stream().mapToDouble(Double::doubleValue).toArray()
            : DefaultFrequencies.search(n, fps, windowFrames, maxHarmonic, m);
      } else if (f.length != n) {
        throw new PlanException("frequencies", "layout " + lay.spec() + " has " + n + " regions but " + f.length
            + " tag frequencies were given: give exactly " + n + " (region order), or none for the default");
      }
      double[] ph = phases == null ? new double[n] : phases;
      if (ph.length != n) {
        throw new PlanException("phases", "layout " + lay.spec() + " has " + n + " regions but " + ph.length
            + " phases were given: give exactly " + n + " (radians, region order), or none for all 0");
      }
      for (int r = 0; r < n; r++) {
        if (!Double.isFinite(ph[r])) {
          throw new PlanException("phases", "phase of region " + (r + 1) + " must be a finite number of radians, got " + ph[r]);
        }
      }
      List<SignalBin> bins = SignalCatalogue.build(f, fps, windowFrames, maxHarmonic, m);
      if (layers == null || layers.stream().anyMatch(l -> l == null || l.isBlank())) {
        throw new PlanException("layers", "layer names must not be blank, got " + layers + "; give none for the worker's default taps");
      }
      if (reduction == null) {
        throw new PlanException("reduction", "give one of " + Arrays.toString(Reduction.values()) + " (default MEAN)");
      }
      return new Tagging(lay, geometry, f, ph.clone(), m, bins);
    }

    /**
     * Validates the whole plan and builds it.
     *
     * @return the plan
     * @throws PlanException naming the field and the fix: {@code model}, {@code probeId},
     *     {@code layout}, {@code fps}, {@code windowFrames}, {@code hopFrames},
     *     {@code framesPerImage}, {@code modulationCenter}, {@code modulationDepth},
     *     {@code baselineBins}, {@code baselineSkip}, {@code frequencies}, {@code phases},
     *     {@code maxHarmonic}, {@code maxImOrder} (off-bin, at/above-Nyquist and colliding
     *     components, from {@link SignalCatalogue#build}), {@code layers}, {@code reduction},
     *     {@code imageShape}, {@code imageCount}
     */
    public ProbePlan build() {
      Tagging t = tagging();
      if (channels < 1 || height < 1 || width < 1) {
        throw new PlanException("imageShape", "[C,H,W] must be positive, got [" + channels + "," + height + "," + width
            + "]: set it from the loaded images");
      }
      if (!continuous && imageCount < 1) {
        throw new PlanException("imageCount", "must be >= 1 images per pass, got " + imageCount + " (not needed in continuous mode)");
      }
      List<Layout.Rect> rects = t.layout().regions(height, width);
      List<Region> regions = new ArrayList<>(rects.size());
      for (int r = 0; r < rects.size(); r++) {
        Layout.Rect q = rects.get(r);
        regions.add(Region.newBuilder().setName(q.name()).setX0(q.x0()).setY0(q.y0()).setX1(q.x1()).setY1(q.y1())
            .setFrequencyHz(t.freqs()[r]).setPhaseRad(t.phases()[r]).build());
      }
      ProbeSpec spec = ProbeSpec.newBuilder()
          .setProbeId(probeId != null ? probeId : "probe-" + UUID.randomUUID())
          .setModel(model)
          .setStartTimeMs(startTimeMs != null ? startTimeMs : System.currentTimeMillis())
          .setLayout(t.layout().spec())
          .setRegions(regions)
          .setModulationCenter(modulationCenter)
          .setModulationDepth(modulationDepth)
          .setFps(fps)
          .setWindowFrames(windowFrames)
          .setHopFrames(t.geometry().hopFrames())
          .setFramesPerImage(t.geometry().framesPerImage())
          .setMaxHarmonic(maxHarmonic)
          .setMaxImOrder(t.maxImOrder())
          .setBaselineBins(baselineBins)
          .setBaselineSkip(baselineSkip)
          .setSignalBins(new ArrayList<>(t.bins()))
          .setLayers(new ArrayList<>(layers))
          .setReduction(reduction)
          .setImageChannels(channels)
          .setImageHeight(height)
          .setImageWidth(width)
          .setImageCount(continuous ? -1 : imageCount)
          .setContinuous(continuous)
          .build();
      return new ProbePlan(spec, t.layout());
    }
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof ProbePlan p && p.spec.equals(spec);
  }

  @Override
  public int hashCode() {
    return Objects.hash(spec);
  }
}
