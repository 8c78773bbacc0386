package dev.tagscope.worker;

import java.util.List;

/**
 * How a stimulus frame of {@code uint8} pixels {@code [C,H,W]} becomes the model input
 * {@code [channels,height,width]} float32, applied by {@link Preprocessor}:
 *
 * <ol>
 *   <li>{@code v = pixel * scale} (e.g. {@code 1/255} to reach {@code [0,1]});</li>
 *   <li>channel adaptation to {@code channels}: equal counts pass through, one channel is
 *       replicated (gray to RGB), three channels become one by ITU-R BT.601 luminance
 *       {@code 0.299 R + 0.587 G + 0.114 B};</li>
 *   <li>bilinear resize to {@code height x width} with half-pixel centres, the convention of
 *       PyTorch {@code F.interpolate(mode="bilinear", align_corners=False)} (no antialiasing);</li>
 *   <li>{@code (v - mean[c]) / std[c]} per channel.</li>
 * </ol>
 *
 * <p>Steps 1, 2 and 4 are affine and step 3 a convex combination, so the order of 1, 2 and 3
 * does not change the result.
 *
 * @param scale factor applied to every pixel value (finite, non-zero)
 * @param mean per-channel mean subtracted after scaling; one value for every channel, or one per channel
 * @param std per-channel standard deviation divided by; positive; one value, or one per channel
 * @param channels model input channels C
 * @param height model input height H, pixels
 * @param width model input width W, pixels
 */
public record Preprocessing(double scale, List<Float> mean, List<Float> std, int channels, int height, int width) {

  /**
   * Validates the settings and copies the lists.
   *
   * @throws IllegalArgumentException naming the field and the fix when a value is out of range
   */
  public Preprocessing {
    if (!Double.isFinite(scale) || scale == 0) {
      throw new IllegalArgumentException("preprocessing.scale must be finite and non-zero, got " + scale
          + " (use 0.00392156862745098 = 1/255 for pixels in [0,1])");
    }
    if (channels <= 0 || height <= 0 || width <= 0) {
      throw new IllegalArgumentException("model input channels/height/width must be positive, got ["
          + channels + "," + height + "," + width + "]; set channels, height and width in the model configuration");
    }
    mean = List.copyOf(mean);
    std = List.copyOf(std);
    if (mean.size() != 1 && mean.size() != channels) {
      throw new IllegalArgumentException("preprocessing.mean has " + mean.size() + " values but the model has "
          + channels + " channels: give one value or one per channel");
    }
    if (std.size() != 1 && std.size() != channels) {
      throw new IllegalArgumentException("preprocessing.std has " + std.size() + " values but the model has "
          + channels + " channels: give one value or one per channel");
    }
    for (Float s : std) {
      if (!(s > 0) || s.isInfinite()) {
        throw new IllegalArgumentException("preprocessing.std values must be positive and finite, got " + std);
      }
    }
    for (Float m : mean) {
      if (!Float.isFinite(m)) {
        throw new IllegalArgumentException("preprocessing.mean values must be finite, got " + mean);
      }
    }
  }

  /**
   * Mean of one channel.
   *
   * @param c channel index
   * @return {@code mean[c]}, or {@code mean[0]} when one value serves every channel
   */
  public float meanOf(int c) {
    return mean.size() == 1 ? mean.get(0) : mean.get(c);
  }

  /**
   * Standard deviation of one channel.
   *
   * @param c channel index
   * @return {@code std[c]}, or {@code std[0]} when one value serves every channel
   */
  public float stdOf(int c) {
    return std.size() == 1 ? std.get(0) : std.get(c);
  }

  /**
   * Floats per sample of the model input.
   *
   * @return {@code channels * height * width}
   */
  public int inputLength() {
    return channels * height * width;
  }

  /**
   * Checks a flat input batch against this input shape, as every engine's {@code run} and
   * {@code forward} do.
   *
   * @param input float32 {@code [N,C,H,W]} flat
   * @param n batch size N
   * @throws IllegalArgumentException when {@code n < 1} or {@code input} is shorter than {@code N*C*H*W}
   */
  public void checkBatch(float[] input, int n) {
    if (n < 1) {
      throw new IllegalArgumentException("batch size must be >= 1, got " + n);
    }
    long need = (long) n * inputLength();
    if (input.length < need) {
      throw new IllegalArgumentException("input of " + input.length + " floats is shorter than N*C*H*W = " + need);
    }
  }
}
