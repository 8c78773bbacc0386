package dev.tagscope.worker.djl.visual;

/**
 * How a filter's visualisation is optimised: gradient ascent on the filter's objective in the
 * model's (normalised) input space, with the regularisers of Yosinski et al. 2015, "Understanding
 * Neural Networks Through Deep Visualization" (ICML Deep Learning Workshop), section 3: L2 decay
 * {@code x <- (1 - l2Decay) * x} after every step, and a Gaussian blur of width {@code blurSigma}
 * every {@code blurEvery} steps; plus random jitter, the simplest of the "transformation robustness"
 * regularisers of Olah, Mordvintsev and Schubert 2017, "Feature Visualization" (Distill): each step's
 * gradient is taken at the image shifted circularly by up to {@code jitterPixels} in each direction.
 *
 * <p>Each step moves the image by {@code learningRate} times the gradient divided by its root mean
 * square, so one learning rate suits every layer whatever the scale of its activations (in
 * normalised input units per step; the bundled model's valid range is about 2.8 units wide).
 * Decay pulls towards 0, which is the data set's mean pixel in normalised space. After every step
 * the image is clipped to the pixels the preprocessing can produce (0..255). The start is mid-gray
 * plus Gaussian noise of 2 pixel levels, drawn from {@code seed}; the jitter offsets come from the
 * same seed, so the same settings give the same image.
 *
 * @param steps gradient steps, at least 1 (default 256)
 * @param learningRate step length in normalised input units, {@code > 0} (default 0.05)
 * @param l2Decay fraction of the image removed after each step, in [0, 1) (default 0.002)
 * @param blurSigma Gaussian blur standard deviation in pixels, {@code >= 0}, 0 for none (default 0.5, as Yosinski et al.)
 * @param blurEvery blur after every this many steps, at least 1 (default 4, as Yosinski et al.)
 * @param jitterPixels largest shift in pixels, {@code >= 0} (default 2, for 28 x 28 inputs)
 * @param seed the random seed of the start and the jitter (default 0)
 */
public record VisualSettings(int steps, double learningRate, double l2Decay, double blurSigma, int blurEvery,
                             int jitterPixels, long seed) {
  /** The defaults documented above. */
  public static final VisualSettings DEFAULTS = new VisualSettings(256, 0.05, 0.002, 0.5, 4, 2, 0);

  /**
   * Checks every field.
   *
   * @throws IllegalArgumentException naming the field, its range and the value given
   */
  public VisualSettings {
    if (steps < 1) {
      throw new IllegalArgumentException("steps: must be at least 1, got " + steps);
    }
    if (!(learningRate > 0) || Double.isInfinite(learningRate)) {
      throw new IllegalArgumentException("learningRate: must be a positive finite number, got " + learningRate);
    }
    if (!(l2Decay >= 0 && l2Decay < 1)) {
      throw new IllegalArgumentException("l2Decay: must be in [0, 1), got " + l2Decay);
    }
    if (!(blurSigma >= 0) || Double.isInfinite(blurSigma)) {
      throw new IllegalArgumentException("blurSigma: must be 0 (no blur) or a positive number of pixels, got " + blurSigma);
    }
    if (blurEvery < 1) {
      throw new IllegalArgumentException("blurEvery: must be at least 1 step, got " + blurEvery);
    }
    if (jitterPixels < 0) {
      throw new IllegalArgumentException("jitterPixels: must be 0 (no jitter) or more, got " + jitterPixels);
    }
  }

  /**
   * @param s the new step count
   * @return a copy with it
   */
  public VisualSettings withSteps(int s) {
    return new VisualSettings(s, learningRate, l2Decay, blurSigma, blurEvery, jitterPixels, seed);
  }

  /**
   * @param s the new seed
   * @return a copy with it
   */
  public VisualSettings withSeed(long s) {
    return new VisualSettings(steps, learningRate, l2Decay, blurSigma, blurEvery, jitterPixels, s);
  }

  /** @return the regulariser in words, for {@code index.json} */
  public String regulariser() {
    return "Yosinski et al. 2015 (L2 decay, Gaussian blur every few steps) + jitter (Olah et al. 2017, transformation"
        + " robustness); steps normalised by the gradient's RMS; pixels clipped to 0..255";
  }
}
