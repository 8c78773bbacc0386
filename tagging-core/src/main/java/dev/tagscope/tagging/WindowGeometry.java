package dev.tagscope.tagging;

import dev.tagscope.schemas.ProbeSpec;

/**
 * Where the FFT windows of one image lie: the one place that turns fps, window, hop and frames per
 * image into window starts and ends. The producer's plan, the Streams window processor, the CSV
 * analysis, the offline probe of the validation and the demo's progress all use it.
 *
 * <p>Frames of an image are numbered {@code 0 .. framesPerImage-1} ("imageFrame"). Window
 * {@code k} covers imageFrames {@code k*hop .. k*hop + W - 1}, for {@code k = 0 .. lastWindow()};
 * {@code (framesPerImage - W)} is a multiple of hop, so the windows tile the image exactly
 * (DESIGN.md section 1, Welch-style overlap when {@code hop < W}).
 *
 * @param fps frames per second of stimulus time, Hz (finite, &gt; 0)
 * @param windowFrames {@code W}, frames per FFT window (even, &gt;= 2)
 * @param hopFrames frames between the starts of consecutive windows ({@code 1..W})
 * @param framesPerImage frames each image is shown ({@code >= W}, {@code (framesPerImage - W) % hop == 0})
 */
public record WindowGeometry(double fps, int windowFrames, int hopFrames, int framesPerImage) {

  /**
   * Validates the geometry.
   *
   * @throws PlanException naming {@code fps}, {@code windowFrames}, {@code hopFrames} or
   *     {@code framesPerImage} with the fix
   */
  public WindowGeometry {
    if (!(fps > 0) || Double.isInfinite(fps)) {
      throw new PlanException("fps", "must be a finite number of frames per second > 0, got " + fps
          + " (default " + PlanDefaults.FPS + ")");
    }
    if (windowFrames < 2 || windowFrames % 2 != 0) {
      throw new PlanException("windowFrames", "must be an even number of frames >= 2, got " + windowFrames
          + " (default " + PlanDefaults.WINDOW_FRAMES + " = 2 s at " + PlanDefaults.FPS + " fps)");
    }
    if (hopFrames < 1 || hopFrames > windowFrames) {
      throw new PlanException("hopFrames", "must be between 1 and windowFrames (" + windowFrames + "), got " + hopFrames
          + "; leave it unset for hop = windowFrames (windows that do not overlap)");
    }
    if (framesPerImage < windowFrames) {
      throw new PlanException("framesPerImage", "must be >= windowFrames (" + windowFrames
          + ") so each image fills a window, got " + framesPerImage);
    }
    if ((framesPerImage - windowFrames) % hopFrames != 0) {
      int below = windowFrames + (framesPerImage - windowFrames) / hopFrames * hopFrames;
      throw new PlanException("framesPerImage", "(framesPerImage - windowFrames) must be a multiple of hopFrames ("
          + hopFrames + ") so windows tile each image, got " + framesPerImage + ": use " + below + " or " + (below + hopFrames));
    }
  }

  /**
   * A geometry with the plan's "unset" conventions.
   *
   * @param fps frames per second, Hz
   * @param windowFrames {@code W}
   * @param hopFrames hop, or 0 for {@code W} (windows that do not overlap)
   * @param framesPerImage frames per image, or 0 for {@code W} (one window per image)
   * @return the geometry
   * @throws PlanException as the canonical constructor
   */
  public static WindowGeometry of(double fps, int windowFrames, int hopFrames, int framesPerImage) {
    return new WindowGeometry(fps, windowFrames, hopFrames == 0 ? windowFrames : hopFrames,
        framesPerImage == 0 ? windowFrames : framesPerImage);
  }

  /**
   * The geometry a published probe declares.
   *
   * @param spec the probe, as read from {@code tagscope.probes}
   * @return its geometry
   * @throws PlanException when the probe's fps, window, hop or frames per image are inconsistent
   *     (a probe not built by {@link ProbePlan}); the Streams processor dead-letters its frames
   */
  public static WindowGeometry of(ProbeSpec spec) {
    return new WindowGeometry(spec.getFps(), spec.getWindowFrames(), spec.getHopFrames(), spec.getFramesPerImage());
  }

  /**
   * The geometry of a recorded series of {@code frames} frames analysed as one image: the windows
   * that fit, trailing frames after the last whole window left out.
   *
   * @param frames length of the series, frames
   * @return this geometry with {@code framesPerImage} the frames its windows cover
   * @throws PlanException ({@code windowFrames}) when the series is shorter than one window
   */
  public WindowGeometry overSeries(int frames) {
    if (frames < windowFrames) {
      throw new PlanException("windowFrames", "the series has " + frames + " frames, fewer than one " + windowFrames
          + "-frame window; record at least " + windowFrames + " frames or choose a shorter window");
    }
    return new WindowGeometry(fps, windowFrames, hopFrames, windowFrames + (frames - windowFrames) / hopFrames * hopFrames);
  }

  /**
   * The FFT bin width.
   *
   * @return {@code fps / W}, Hz
   */
  public double binWidthHz() {
    return fps / windowFrames;
  }

  /**
   * Windows per image.
   *
   * @return {@code 1 + (framesPerImage - W) / hop}
   */
  public int windowsPerImage() {
    return 1 + (framesPerImage - windowFrames) / hopFrames;
  }

  /**
   * The index of the last window of an image.
   *
   * @return {@link #windowsPerImage()} - 1
   */
  public int lastWindow() {
    return windowsPerImage() - 1;
  }

  /**
   * The first frame of window {@code k}.
   *
   * @param k window index, {@code 0..lastWindow()}
   * @return {@code k * hop}, imageFrame
   */
  public int windowStart(int k) {
    return k * hopFrames;
  }

  /**
   * The last frame of window {@code k}.
   *
   * @param k window index, {@code 0..lastWindow()}
   * @return {@code k * hop + W - 1}, imageFrame
   */
  public int windowEnd(int k) {
    return k * hopFrames + windowFrames - 1;
  }

  /**
   * Stimulus time of a frame after the probe's start, as the producer stamps its records
   * (DESIGN.md section 2: record timestamp = probe start + frameIndex / fps).
   *
   * @param frameIndex frame number counted over the whole probe
   * @return {@code round(1000 * frameIndex / fps)}, ms
   */
  public long stimulusOffsetMs(long frameIndex) {
    return Math.round(1000.0 * frameIndex / fps);
  }

  /**
   * Whether an imageFrame belongs to at least one window.
   *
   * @param f imageFrame (any int; negative or past the image gives false)
   * @return whether some window covers {@code f}
   */
  public boolean inSomeWindow(int f) {
    return firstWindowContaining(f) <= lastWindowContaining(f);
  }

  /**
   * Whether an imageFrame belongs to a window that ends after {@code lastFrame}, i.e. one that has
   * been neither analysed nor skipped while {@code lastFrame} is the highest frame seen.
   *
   * @param f imageFrame
   * @param lastFrame the highest imageFrame seen so far
   * @return whether a window containing {@code f} is still open
   */
  public boolean inOpenWindow(int f, int lastFrame) {
    int hi = lastWindowContaining(f);
    // of the windows containing f, the last one ends latest
    return firstWindowContaining(f) <= hi && windowEnd(hi) > lastFrame;
  }

  /**
   * Whether an imageFrame is the last frame of a window.
   *
   * @param f imageFrame
   * @return whether {@code f == windowEnd(k)} for some window {@code k}
   */
  public boolean isWindowEnd(int f) {
    int s = f - windowFrames + 1;
    return s >= 0 && s % hopFrames == 0 && s / hopFrames <= lastWindow();
  }

  /**
   * Counts the windows whose last frame {@code e} satisfies {@code from < e < to}.
   *
   * @param from exclusive lower bound, imageFrame
   * @param to exclusive upper bound, imageFrame
   * @return the number of such windows
   */
  public int windowEndsBetween(int from, int to) {
    int n = 0;
    for (int k = 0; k <= lastWindow(); k++) {
      int e = windowEnd(k);
      if (e > from && e < to) {
        n++;
      }
    }
    return n;
  }

  private int firstWindowContaining(int f) {
    return Math.max(0, Math.floorDiv(f - windowFrames, hopFrames) + 1);
  }

  private int lastWindowContaining(int f) {
    return Math.min(lastWindow(), Math.floorDiv(f, hopFrames));
  }
}
