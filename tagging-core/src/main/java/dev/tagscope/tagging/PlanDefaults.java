package dev.tagscope.tagging;

import dev.tagscope.schemas.Reduction;
import java.util.List;

/**
 * The defaults of a probe plan, written once: {@link ProbePlan.Builder}, {@link AnalysisPlan.Builder}
 * and the command-line options of {@code tagscope probe}, {@code demo}, {@code validate} and
 * {@code analyze} all read them from here, so they cannot drift apart.
 *
 * <p>The values follow DESIGN.md section 1 and Böge et al., arXiv:2411.10084, sec. 3: a 2 s
 * window at 120 fps gives 0.5 Hz bins, on which 6 and 7.5 Hz and their harmonics and IM terms up
 * to order 4 fall exactly; contrast is modulated in the paper's range [0.5, 1.0].
 */
public final class PlanDefaults {
  private PlanDefaults() {}

  /** Region layout: left and right halves. */
  public static final String LAYOUT = "halves-lr";

  /**
   * Tag frequencies of the two-region layouts, in Hz (left/top, right/bottom). Unmodifiable: it is
   * shared by every plan built without frequencies, so a caller must not be able to change the
   * defaults of all later plans (set/add throw UnsupportedOperationException).
   */
  public static final List<Double> HALVES_HZ = List.of(6.0, 7.5);

  /** Frames per second of stimulus time, Hz. An int so that it can be a picocli default string. */
  public static final int FPS = 120;

  /** {@code W}, frames per FFT window (2 s at {@link #FPS}: bin width 0.5 Hz). */
  public static final int WINDOW_FRAMES = 240;

  /** {@code H}: harmonics {@code n*f_r} for {@code n = 2..H}. */
  public static final int MAX_HARMONIC = 4;

  /** {@code M}, the highest IM order {@code |n|+|m|} for plans of one or two regions. */
  public static final int MAX_IM_ORDER_TWO_REGIONS = 4;

  /**
   * {@code M} for plans of three or more regions: every pair of regions adds its own IM terms, and
   * at order 4 four regions leave no set of frequencies below Nyquist without two components on
   * one bin at the default window.
   */
  public static final int MAX_IM_ORDER_MORE_REGIONS = 2;

  /** {@code K}, baseline bins on each side of a signal bin. */
  public static final int BASELINE_BINS = 10;

  /** Bins next to a signal bin left out of its baseline (spectral leakage of the signal). */
  public static final int BASELINE_SKIP = 1;

  /** {@code c} of the contrast modulation {@code c + a sin(2 pi f t + phi)}. */
  public static final double MODULATION_CENTER = 0.75;

  /** {@code a} of the contrast modulation. */
  public static final double MODULATION_DEPTH = 0.25;

  /**
   * How a filter's {@code [H,W]} map becomes one number per frame.
   *
   * <p>MEAN stays the default although L2's tag score predicts ablation damage better on the
   * bundled model (mean rho 0.435 vs 0.383, {@code tagscope validate}): the L2 norm is itself
   * nonlinear, so it puts harmonics and IM into a linear layer (conv1: IM 12 vs fundamental 67),
   * and IM would no longer mean that a filter integrates both regions. README "Validation".
   */
  public static final Reduction REDUCTION = Reduction.MEAN;

  /**
   * The default highest IM order for a plan of {@code regions} regions.
   *
   * @param regions number of tagged regions (&gt;= 1)
   * @return {@link #MAX_IM_ORDER_TWO_REGIONS} for up to two regions, else {@link #MAX_IM_ORDER_MORE_REGIONS}
   */
  public static int maxImOrder(int regions) {
    return regions > 2 ? MAX_IM_ORDER_MORE_REGIONS : MAX_IM_ORDER_TWO_REGIONS;
  }
}
