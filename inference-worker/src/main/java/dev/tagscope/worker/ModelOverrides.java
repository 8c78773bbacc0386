package dev.tagscope.worker;

import java.util.List;

/**
 * Configuration that overrides the model's sidecar {@code <model>.json} (and what the graph
 * says) field by field; {@code null} keeps the sidecar's value. These are the worker's
 * preprocessing overrides.
 *
 * <p>Resolution order for each field: this override, then the sidecar, then the graph
 * (input name and static input shape), then the built-in default (name = file name without
 * {@code .onnx}, scale 1/255, mean 0, std 1).
 *
 * @param name model name, e.g. {@code fmnist-resnet32}
 * @param inputName name of the graph input that takes the image batch
 * @param channels model input channels C
 * @param height model input height, pixels (frames are resized to it)
 * @param width model input width, pixels
 * @param scale pixel scale, e.g. {@code 0.00392156862745098} (1/255)
 * @param mean per-channel mean after scaling (one value or one per channel)
 * @param std per-channel standard deviation after scaling (one value or one per channel)
 */
public record ModelOverrides(String name, String inputName, Integer channels, Integer height, Integer width,
                             Double scale, List<Float> mean, List<Float> std) {

  /** No overrides: everything comes from the sidecar and the graph. */
  public static final ModelOverrides NONE = new ModelOverrides(null, null, null, null, null, null, null, null);

  /** Copies the lists. */
  public ModelOverrides {
    mean = mean == null ? null : List.copyOf(mean);
    std = std == null ? null : List.copyOf(std);
  }

  /**
   * @param scale new pixel scale
   * @param mean new per-channel mean
   * @param std new per-channel std
   * @return a copy with the normalisation replaced
   */
  public ModelOverrides withNormalisation(Double scale, List<Float> mean, List<Float> std) {
    return new ModelOverrides(name, inputName, channels, height, width, scale, mean, std);
  }

  /**
   * @param channels model input channels
   * @param height model input height, pixels
   * @param width model input width, pixels
   * @return a copy with the input shape replaced
   */
  public ModelOverrides withInputShape(Integer channels, Integer height, Integer width) {
    return new ModelOverrides(name, inputName, channels, height, width, scale, mean, std);
  }

  /**
   * @param name model name
   * @return a copy with the model name replaced
   */
  public ModelOverrides withName(String name) {
    return new ModelOverrides(name, inputName, channels, height, width, scale, mean, std);
  }

  /**
   * @param inputName graph input name
   * @return a copy with the input name replaced
   */
  public ModelOverrides withInputName(String inputName) {
    return new ModelOverrides(name, inputName, channels, height, width, scale, mean, std);
  }
}
