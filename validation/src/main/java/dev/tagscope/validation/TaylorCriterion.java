package dev.tagscope.validation;

import dev.tagscope.worker.ActivationEngine;
import dev.tagscope.worker.GateGradients;
import dev.tagscope.worker.ModelConfig;
import dev.tagscope.worker.ModelVersion;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * The Taylor first-order criterion (Molchanov et al., "Importance Estimation for Neural Network
 * Pruning", CVPR 2019, section 3, eq. 8 with a gate after the layer): for filter c of a tapped
 * layer with map {@code a[n,c,h,w]} and per-image loss {@code L_n} (cross-entropy of image n's
 * label),
 * {@code T_c = mean over images n of (sum_{h,w} a[n,c,h,w] * dL_n/da[n,c,h,w])^2},
 * the squared gradient of the loss with respect to a multiplicative gate {@code g[n,c] = 1} on the
 * filter, averaged over the labelled images. It uses labels and gradients, so it is not a cheap
 * criterion but the strongest first-order one: the label-free tag importance is compared with it.
 *
 * <p>The gradients come from {@link GateGradients}, which ONNX Runtime cannot give: they are
 * computed by DJL's PyTorch engine on the TorchScript twin of the ONNX model ({@code <model>.pt}
 * beside the {@code .onnx}, written by {@code tools/torchscript_export.py}), found at run time
 * through {@link ActivationEngine}'s service loader so that this module does not depend on
 * PyTorch. {@link #open} says why when the criterion cannot be computed; the validation then
 * reports it as skipped.
 */
public final class TaylorCriterion implements AutoCloseable {
  private final GateGradients gradients;
  private final String note;

  private TaylorCriterion(GateGradients gradients, String note) {
    this.gradients = gradients;
    this.note = note;
  }

  /**
   * A criterion that is not computed.
   *
   * @param why the reason, for the report (e.g. {@code "--no-taylor"})
   * @return the skipped criterion
   */
  public static TaylorCriterion skipped(String why) {
    return new TaylorCriterion(null, "skipped: " + why);
  }

  /**
   * Opens the gate gradients of an ONNX model's TorchScript twin, or says why it cannot.
   *
   * @param onnx the ONNX model being validated, with its layer selection (the twin's gates are
   *     those of the same layers)
   * @return the criterion, computed when {@code <model>.pt} exists beside the {@code .onnx}, was
   *     exported from the same file (its {@code sourceSha256}), has the {@code gated} method, and
   *     DJL's engine is on the classpath; else skipped with the reason and the fix
   */
  public static TaylorCriterion open(ModelConfig onnx) {
    Path model = onnx.modelPath();
    String file = model.getFileName().toString();
    Path twin = ModelConfig.torchScriptTwin(model);
    if (!Files.isRegularFile(twin)) {
      return skipped("no TorchScript twin " + twin + " beside the ONNX model; write one with tools/torchscript_export.py");
    }
    GateGradients g;
    try {
      g = ActivationEngine.named(ModelConfig.DJL).gateGradients(onnx.withModelPath(twin).withEngine(ModelConfig.DJL));
    } catch (IllegalArgumentException | UnsupportedOperationException e) {
      return skipped(e.getMessage());
    }
    String want;
    try {
      want = ModelVersion.sha256(model);
    } catch (RuntimeException e) {
      g.close();
      throw e;
    }
    if (!want.equals(g.sourceSha256())) {
      g.close();
      return skipped(twin + " was exported from other weights (sourceSha256 " + g.sourceSha256() + ", " + file + " has "
          + want + "); export it again with tools/torchscript_export.py");
    }
    return new TaylorCriterion(g, "computed with DJL autograd on " + twin);
  }

  /**
   * Whether the criterion is computed.
   *
   * @return false when skipped
   */
  public boolean available() {
    return gradients != null;
  }

  /**
   * What the report says about the criterion.
   *
   * @return {@code "computed ..."} or {@code "skipped: <reason>"}
   */
  public String note() {
    return note;
  }

  /**
   * Gate gradients of one batch ({@link GateGradients#gradients}).
   *
   * @param input preprocessed images {@code [N,C,H,W]}
   * @param n N
   * @param labels {@code [N]} labels
   * @return layer to {@code [N][C]} gradients
   * @throws IllegalStateException when the criterion is skipped
   */
  Map<String, float[][]> gradients(float[] input, int n, int[] labels) {
    if (gradients == null) {
      throw new IllegalStateException("the Taylor criterion is " + note);
    }
    return gradients.gradients(input, n, labels);
  }

  /**
   * Adds one batch's squared gate gradients to per-filter sums; {@code T_c} is the sum divided by
   * the number of images.
   *
   * @param grads {@code [N][C]} gate gradients of one layer
   * @param sumOfSquares {@code [C]} running sums
   */
  static void accumulate(float[][] grads, double[] sumOfSquares) {
    for (float[] row : grads) {
      for (int c = 0; c < sumOfSquares.length; c++) {
        sumOfSquares[c] += (double) row[c] * row[c];
      }
    }
  }

  @Override
  public void close() {
    if (gradients != null) {
      gradients.close();
    }
  }
}
