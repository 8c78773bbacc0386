package dev.tagscope.worker;

import java.util.List;
import java.util.Map;

/**
 * Per-image gradients of the classification loss with respect to a multiplicative gate on every
 * filter (channel) of the tapped layers: the tapped map {@code a[n,c,h,w]} is replaced by
 * {@code g[n,c] * a[n,c,h,w]}, and at {@code g = 1}
 * {@code dL_n/dg[n,c] = sum_{h,w} a[n,c,h,w] * dL_n/da[n,c,h,w]} (Molchanov et al., "Importance
 * Estimation for Neural Network Pruning", CVPR 2019, section 3: a gate after the layer), where
 * {@code L_n} is the cross-entropy of image n's label. The Taylor criterion of {@code tagscope
 * validate} squares and averages them over images.
 *
 * <p>An {@link ActivationEngine} that can differentiate its models returns one from
 * {@link ActivationEngine#gateGradients(ModelConfig)}; DJL's PyTorch engine does
 * ({@code inference-worker-djl}), ONNX Runtime does not.
 */
public interface GateGradients extends AutoCloseable {

  /**
   * The layers whose gates are differentiated, in the order of {@link ModelConfig#layers()}'s selection.
   *
   * @return each layer and its filter count C
   */
  List<TappedLayer> layers();

  /**
   * The SHA-256 of the ONNX file the model's weights were exported from, so a caller can check that
   * the gradients belong to the same weights as its ONNX model.
   *
   * @return lower-case hex, or {@code null} when the model file does not record it
   */
  String sourceSha256();

  /**
   * Gate gradients of one batch.
   *
   * @param input preprocessed images, {@code [N,C,H,W]} row-major, {@code n} of them
   * @param n N
   * @param labels {@code [N]} class index of each image (the loss is its cross-entropy, in nats)
   * @return layer name to {@code [N][C]} gradients {@code dL_n/dg[n,c]} at {@code g = 1}, in {@link #layers()} order
   * @throws IllegalArgumentException when the input length is not {@code n} images, or a label is
   *     outside the model's classes
   */
  Map<String, float[][]> gradients(float[] input, int n, int[] labels);

  /** Frees the native model. */
  @Override
  void close();
}
