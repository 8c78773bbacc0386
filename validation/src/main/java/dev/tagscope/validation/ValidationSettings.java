package dev.tagscope.validation;

import dev.tagscope.schemas.Reduction;
import java.util.List;

/**
 * What one validation measures, with the defaults {@code tagscope validate} uses.
 *
 * @param images labelled images each single-filter ablation is measured on (Morcos et al. used
 *     the whole test set; 2,000 keeps 576 filters within minutes on 2 cores)
 * @param curveImages labelled images each pruning-curve point is measured on (the first of {@code images})
 * @param probeImages images the tag scores are probed with (the streaming demo's default is 16)
 * @param probeSnapshots probe image counts at which tag scores are also compared (each {@code <= probeImages});
 *     empty for none
 * @param reductions reductions whose tag scores are compared; the probe plan's own reduction is the default criterion
 * @param randomSeeds random orders averaged in the pruning curves (and seeds of the random criterion)
 * @param bootstrapResamples resamples of the bootstrap interval of each rho
 * @param confidence of the interval, e.g. 0.95
 * @param fractions pruning-curve steps, ascending from 0
 * @param chunkImages images per upstream pass
 * @param rowsPerCall target rows of one ablation call (images x masks stacked along the batch)
 * @param seed seed of the random criterion, the random orders and the bootstrap
 */
public record ValidationSettings(int images, int curveImages, int probeImages, List<Integer> probeSnapshots,
                                 List<Reduction> reductions, int randomSeeds, int bootstrapResamples, double confidence,
                                 double[] fractions, int chunkImages, int rowsPerCall, long seed) {

  /**
   * Validates the values.
   *
   * @throws IllegalArgumentException naming the field and the fix
   */
  public ValidationSettings {
    positive("images (--count)", images);
    positive("curveImages (--curve-count)", curveImages);
    positive("probeImages (--probe-count)", probeImages);
    positive("randomSeeds (--random-seeds)", randomSeeds);
    positive("bootstrapResamples (--bootstrap)", bootstrapResamples);
    positive("chunkImages", chunkImages);
    positive("rowsPerCall", rowsPerCall);
    if (curveImages > images) {
      throw new IllegalArgumentException("curveImages (--curve-count) is " + curveImages + ", more than images (--count) "
          + images + "; the curves use the first images of the ablation set, so lower --curve-count");
    }
    if (!(confidence > 0 && confidence < 1)) {
      throw new IllegalArgumentException("confidence must be in (0, 1), e.g. 0.95; got " + confidence);
    }
    if (fractions.length < 2 || fractions[0] != 0) {
      throw new IllegalArgumentException("fractions must start at 0 and have at least 2 steps");
    }
    for (int i = 1; i < fractions.length; i++) {
      if (!(fractions[i] > fractions[i - 1] && fractions[i] < 1)) {
        throw new IllegalArgumentException("fractions must rise strictly and stay below 1; got " + java.util.Arrays.toString(fractions));
      }
    }
    probeSnapshots = List.copyOf(probeSnapshots);
    for (int s : probeSnapshots) {
      if (s < 1 || s > probeImages) {
        throw new IllegalArgumentException("probe snapshot " + s + " must be between 1 and probeImages (--probe-count) " + probeImages);
      }
    }
    reductions = List.copyOf(reductions);
    if (reductions.isEmpty()) {
      throw new IllegalArgumentException("reductions: give at least one");
    }
    fractions = fractions.clone();
  }

  /**
   * The defaults: 2,000 images, curves on 300, a 16-image probe, all four reductions compared,
   * 5 random seeds, 1,000 bootstrap resamples at 95 %, steps of 10 %.
   *
   * @return the settings
   */
  public static ValidationSettings defaults() {
    return new ValidationSettings(2000, 300, 16, List.of(), List.of(Reduction.values()), 5, 1000, 0.95,
        PruningCurve.defaultFractions(), 64, 256, 20261201L);
  }

  /**
   * @param n images for single-filter ablation, and the curves' count capped at it
   * @return a copy
   */
  public ValidationSettings withImages(int n) {
    return new ValidationSettings(n, Math.min(curveImages, n), probeImages, probeSnapshots, reductions, randomSeeds,
        bootstrapResamples, confidence, fractions, chunkImages, rowsPerCall, seed);
  }

  /**
   * @param n images per pruning-curve point
   * @return a copy
   */
  public ValidationSettings withCurveImages(int n) {
    return new ValidationSettings(images, n, probeImages, probeSnapshots, reductions, randomSeeds, bootstrapResamples,
        confidence, fractions, chunkImages, rowsPerCall, seed);
  }

  /**
   * @param n probe images
   * @param snapshots probe image counts to compare as well
   * @return a copy
   */
  public ValidationSettings withProbe(int n, List<Integer> snapshots) {
    return new ValidationSettings(images, curveImages, n, snapshots, reductions, randomSeeds, bootstrapResamples,
        confidence, fractions, chunkImages, rowsPerCall, seed);
  }

  /**
   * @param seeds random orders
   * @param resamples bootstrap resamples
   * @return a copy
   */
  public ValidationSettings withStatistics(int seeds, int resamples) {
    return new ValidationSettings(images, curveImages, probeImages, probeSnapshots, reductions, seeds, resamples,
        confidence, fractions, chunkImages, rowsPerCall, seed);
  }

  private static void positive(String field, int v) {
    if (v < 1) {
      throw new IllegalArgumentException(field + " must be >= 1, got " + v);
    }
  }
}
