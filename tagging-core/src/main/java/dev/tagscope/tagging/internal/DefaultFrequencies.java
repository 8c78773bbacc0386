package dev.tagscope.tagging.internal;

import dev.tagscope.schemas.SignalBin;
import dev.tagscope.tagging.PlanException;
import dev.tagscope.tagging.SignalCatalogue;
import java.util.Arrays;
import java.util.List;

/**
 * Default tag frequencies for layouts with more than two regions.
 *
 * <p>A depth-first search over multiples of the bin width {@code fps/W}, ascending from the
 * bin of 6 Hz (the paper's lower tag frequency), then, if that finds nothing, from bin 2. Region
 * r gets the lowest bin above region r-1's such that the set so far passes
 * {@link SignalCatalogue#build} (every component on a bin, below Nyquist, no two on one bin)
 * and no component lies on bin 1, right next to DC where a baseline below it cannot be
 * measured. A prefix that fails can only fail when extended, so the search prunes there. The
 * search gives up after {@value #BUDGET} catalogue builds.
 *
 * <p>Examples at 120 fps, {@code W = 240}, {@code maxHarmonic = 4}, {@code maxImOrder = 2}:
 * 3 regions 6, 7, 8.5 Hz; 4 regions (quadrants, grid:2x2) 6, 7, 8.5, 11.5 Hz.
 */
public final class DefaultFrequencies {
  private DefaultFrequencies() {}

  /** Catalogue builds the search may spend before giving up. */
  public static final int BUDGET = 20_000;

  /**
   * @param regions number of regions (&gt;= 1)
   * @param fps frames per second (&gt; 0)
   * @param windowFrames W (even)
   * @param maxHarmonic H
   * @param maxImOrder M
   * @return one tag frequency per region, ascending, in Hz
   * @throws PlanException ({@code frequencies}) when no set is found within the budget
   */
  public static double[] search(int regions, double fps, int windowFrames, int maxHarmonic, int maxImOrder) {
    int half = windowFrames / 2;
    int start = Math.max(2, (int) Math.round(6.0 * windowFrames / fps));
    int[] budget = {BUDGET};
    double[] cur = new double[regions];
    if (start < half && dfs(cur, 0, start, fps, windowFrames, maxHarmonic, maxImOrder, budget)) {
      return cur;
    }
    if (start > 2 && dfs(cur, 0, 2, fps, windowFrames, maxHarmonic, maxImOrder, budget)) {
      return cur;
    }
    throw new PlanException("frequencies", "found no default tag frequencies for " + regions + " regions at " + fps
        + " fps with a " + windowFrames + "-frame window, maxHarmonic " + maxHarmonic + " and maxImOrder " + maxImOrder
        + ": give one frequency per region explicitly (multiples of the bin width " + (fps / windowFrames)
        + " Hz), or lower maxHarmonic/maxImOrder, or lengthen windowFrames");
  }

  private static boolean dfs(double[] cur, int k, int fromBin, double fps, int w, int h, int m, int[] budget) {
    if (k == cur.length) {
      return true;
    }
    for (int b = fromBin; b < w / 2 && budget[0] > 0; b++) {
      cur[k] = b * fps / w;
      if (accept(Arrays.copyOf(cur, k + 1), fps, w, h, m, budget) && dfs(cur, k + 1, b + 1, fps, w, h, m, budget)) {
        return true;
      }
    }
    return false;
  }

  private static boolean accept(double[] freqs, double fps, int w, int h, int m, int[] budget) {
    budget[0]--;
    try {
      List<SignalBin> bins = SignalCatalogue.build(freqs, fps, w, h, m);
      for (SignalBin b : bins) {
        if (b.getBin() < 2) {
          return false;
        }
      }
      return true;
    } catch (PlanException e) {
      return false;
    }
  }
}
