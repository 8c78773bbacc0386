package dev.tagscope.validation;

/**
 * Class selectivity index of a filter (Morcos et al., ICLR 2018, section 2.3, after Zhou et al.
 * 2018): {@code CSI = (mu_max - mu_-max) / (mu_max + mu_-max)}, where {@code mu_c} is the mean
 * over the images of class c of the filter's activation, {@code mu_max} the largest class mean
 * and {@code mu_-max} the mean of the other classes' means.
 *
 * <p><b>Negative activations.</b> Morcos et al. measure units after their ReLU, so every
 * {@code mu_c >= 0} and CSI lies in [0, 1]. A tap before a ReLU (the bundled model's
 * {@code conv1}) can be negative and would make the ratio meaningless (a denominator near 0 or
 * below it). Tagscope therefore takes the activation of a filter on an image as the spatial mean
 * of its rectified map, {@code mean_{h,w} max(x, 0)}: what the next layer receives after the
 * ReLU, and identical to the plain spatial mean for taps that are already rectified. A filter
 * whose class means are all 0 (it never fires) gets CSI 0.
 */
public final class ClassSelectivity {
  private ClassSelectivity() {}

  /**
   * The index from per-class mean activations.
   *
   * @param classMeans {@code [classes]} mean rectified activation per class, each {@code >= 0};
   *     classes with no image should be left out by the caller
   * @return CSI in [0, 1]; 0 when every mean is 0
   * @throws IllegalArgumentException when fewer than 2 classes are given, or a mean is negative or NaN
   */
  public static double index(double[] classMeans) {
    if (classMeans.length < 2) {
      throw new IllegalArgumentException("class selectivity needs at least 2 classes, got " + classMeans.length);
    }
    int best = 0;
    for (int c = 0; c < classMeans.length; c++) {
      if (!(classMeans[c] >= 0)) {
        throw new IllegalArgumentException("class mean " + c + " is " + classMeans[c] + "; class means of rectified"
            + " activations are >= 0");
      }
      if (classMeans[c] > classMeans[best]) {
        best = c;
      }
    }
    double rest = 0;
    for (int c = 0; c < classMeans.length; c++) {
      if (c != best) {
        rest += classMeans[c];
      }
    }
    rest /= classMeans.length - 1;
    double max = classMeans[best];
    return max + rest > 0 ? (max - rest) / (max + rest) : 0;
  }
}
