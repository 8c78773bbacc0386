package dev.tagscope.validation;

import java.util.List;
import java.util.Map;

/**
 * Everything one validation measured; {@link ValidationReport} writes it, {@link ValidationRecords}
 * turns it into topic records.
 *
 * @param model model name
 * @param classes class names (index = label), possibly empty
 * @param settings what was measured
 * @param imagesSource where the labelled images came from
 * @param images labelled images used for single-filter ablation
 * @param curveImages labelled images used for each pruning-curve point
 * @param probeImages images the tag scores were probed with
 * @param defaultCriterion the criterion the streaming ranking uses ({@value Criteria#TAG})
 * @param baseAccuracy unablated accuracy on {@code images}, 0..1
 * @param baseCrossEntropy unablated mean cross-entropy on {@code images}, nats
 * @param curveBaseAccuracy unablated accuracy on the first {@code curveImages}
 * @param layers per tapped layer, in graph order
 * @param network whole-network pruning curves (filters of every tapped layer ranked together)
 * @param seconds wall time per phase, seconds ({@code probe}, {@code ablation}, {@code taylor} when computed, {@code curves}, {@code network}, {@code total})
 * @param filterEvaluationsPerSecond single-filter ablations times images, per second of the ablation phase
 * @param taylor whether the Taylor criterion was computed and how, or why it was skipped ({@link TaylorCriterion#note()})
 */
public record ValidationResult(String model, List<String> classes, ValidationSettings settings, String imagesSource,
                               int images, int curveImages, int probeImages, String defaultCriterion, double baseAccuracy,
                               double baseCrossEntropy, double curveBaseAccuracy, List<LayerResult> layers,
                               List<PruningCurve> network, Map<String, Double> seconds, double filterEvaluationsPerSecond,
                               String taylor) {

  /**
   * One layer's ground truth and how each criterion predicts it.
   *
   * @param layer tapped layer label
   * @param filters C
   * @param crossEntropyIncrease {@code [C]} mean cross-entropy with the filter ablated minus unablated, nats
   * @param accuracyDrop {@code [C]} unablated accuracy minus ablated accuracy, 0..1
   * @param criteria criterion name to {@code [C]} values (higher = more important), in report order
   * @param agreement criterion name to rho against the cross-entropy increase, with its interval
   * @param rhoAccuracy criterion name to rho against the accuracy drop
   * @param curves pruning curves of the layer (the random one is the mean over seeds)
   * @param weightL1Source the convolutions behind {@code weight-l1}, or why it is missing
   */
  public record LayerResult(String layer, int filters, double[] crossEntropyIncrease, double[] accuracyDrop,
                            Map<String, double[]> criteria, Map<String, Agreement> agreement,
                            Map<String, Double> rhoAccuracy, List<PruningCurve> curves, String weightL1Source) {}
}
