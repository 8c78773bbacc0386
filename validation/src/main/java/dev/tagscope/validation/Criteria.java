package dev.tagscope.validation;

import dev.tagscope.schemas.FilterImportance;
import dev.tagscope.schemas.Reduction;
import dev.tagscope.tagging.spectral.LayerAccumulator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Names and values of the per-filter criteria a ranking can use (higher = more important).
 *
 * <ul>
 *   <li>Tag scores from the probe (DESIGN.md section 1): {@value #TAG} (the sum of baseline-corrected
 *       amplitudes over all signal bins, the streaming pipeline's importance), its parts
 *       {@value #TAG_FUNDAMENTAL}, {@value #TAG_HARMONIC}, {@value #TAG_IM}, the non-linear part
 *       {@value #TAG_NONLINEAR} (harmonic + IM), and the paper-compatible {@value #PAPER_SNR} (mean
 *       SNR in dB, Böge et al. 2024). Scores of another reduction than the plan's carry
 *       {@code @REDUCTION}; scores of a shorter probe carry {@code /nN}.</li>
 *   <li>Cheap criteria a user would try instead: {@value #MEAN_ACTIVATION} (spatial mean of the map,
 *       mean over the labelled images), {@value #WEIGHT_L1} (Li et al. 2017), {@value #CLASS_SELECTIVITY}
 *       (Morcos et al. 2018) and {@value #RANDOM}.</li>
 *   <li>{@value #TAYLOR}: the Taylor first-order criterion (Molchanov et al., CVPR 2019), which needs
 *       labels and gradients ({@link TaylorCriterion}): the strongest criterion to compare with, not a cheap one.</li>
 * </ul>
 */
public final class Criteria {
  /** Tag importance: sum of baseline-corrected amplitudes over every signal bin (the default). */
  public static final String TAG = "tag";
  /** Fundamental part of the tag score. */
  public static final String TAG_FUNDAMENTAL = "tag-fundamental";
  /** Harmonic part of the tag score. */
  public static final String TAG_HARMONIC = "tag-harmonic";
  /** Intermodulation part of the tag score. */
  public static final String TAG_IM = "tag-im";
  /** Harmonic plus IM: the part a linear filter would not have. */
  public static final String TAG_NONLINEAR = "tag-nonlinear";
  /** The paper-compatible score, dB. */
  public static final String PAPER_SNR = "paper-snr";
  /** Mean spatially averaged activation over the labelled images. */
  public static final String MEAN_ACTIVATION = "mean-activation";
  /** L1 norm of the producing convolutions' weights. */
  public static final String WEIGHT_L1 = "weight-l1";
  /** Class selectivity index. */
  public static final String CLASS_SELECTIVITY = "class-selectivity";
  /** Taylor first-order: mean over images of the squared gradient of the loss with respect to a gate on the filter. */
  public static final String TAYLOR = "taylor";
  /** Uniform random scores (chance). */
  public static final String RANDOM = "random";
  /** Single-filter ablation damage itself: the best possible order for a pruning curve (an oracle, not a criterion). */
  public static final String DAMAGE = "damage";

  /** The cheap criteria the tag score is compared with, in report order. */
  public static final List<String> CHEAP = List.of(MEAN_ACTIVATION, WEIGHT_L1, CLASS_SELECTIVITY, RANDOM);

  private Criteria() {}

  /**
   * The tag criteria of one layer's accumulator.
   *
   * @param acc the layer's accumulated windows
   * @param suffix appended to every name ({@code ""} for the default reduction and probe length)
   * @return name to {@code [C]} values, in report order
   */
  public static Map<String, double[]> tagScores(LayerAccumulator acc, String suffix) {
    List<FilterImportance> f = acc.importance();
    int c = f.size();
    double[] total = new double[c];
    double[] fund = new double[c];
    double[] harm = new double[c];
    double[] im = new double[c];
    double[] nonlinear = new double[c];
    double[] paper = new double[c];
    for (FilterImportance fi : f) {
      int k = fi.getFilter();
      total[k] = fi.getScore();
      fund[k] = fi.getFundamental();
      harm[k] = fi.getHarmonic();
      im[k] = fi.getIntermodulation();
      nonlinear[k] = fi.getHarmonic() + fi.getIntermodulation();
      paper[k] = fi.getPaperSnrDb();
    }
    Map<String, double[]> out = new LinkedHashMap<>();
    out.put(TAG + suffix, total);
    out.put(TAG_FUNDAMENTAL + suffix, fund);
    out.put(TAG_HARMONIC + suffix, harm);
    out.put(TAG_IM + suffix, im);
    out.put(TAG_NONLINEAR + suffix, nonlinear);
    out.put(PAPER_SNR + suffix, paper);
    return out;
  }

  /**
   * The suffix of a reduction's scores.
   *
   * @param r the reduction
   * @param planReduction the probe plan's reduction (no suffix)
   * @return {@code ""} or {@code "@R"}
   */
  public static String reductionSuffix(Reduction r, Reduction planReduction) {
    return r == planReduction ? "" : "@" + r.name();
  }

  /**
   * Uniform random scores.
   *
   * @param filters C
   * @param seed the seed
   * @return {@code [C]} values in [0, 1)
   */
  public static double[] random(int filters, long seed) {
    Random r = new Random(seed);
    double[] out = new double[filters];
    for (int k = 0; k < filters; k++) {
      out[k] = r.nextDouble();
    }
    return out;
  }
}
