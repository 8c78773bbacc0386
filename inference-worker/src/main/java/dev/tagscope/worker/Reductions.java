package dev.tagscope.worker;

import dev.tagscope.schemas.Reduction;
import java.util.Objects;

/**
 * Reduces each filter's spatial map {@code [H,W]} to one number per frame (DESIGN.md section 1,
 * "Response"; arXiv:2411.10084 reduces each feature map to its spatial mean).
 *
 * <ul>
 *   <li>{@link Reduction#MEAN}: {@code (1/HW) * sum x}</li>
 *   <li>{@link Reduction#MAX}: {@code max x}</li>
 *   <li>{@link Reduction#L2}: {@code sqrt(sum x^2)} (not divided by HW)</li>
 *   <li>{@link Reduction#MEAN_ABS}: {@code (1/HW) * sum |x|}</li>
 * </ul>
 *
 * <p>Sums are accumulated in double precision over the flat row-major buffer. A 2-D output
 * {@code [N,C]} has no spatial extent ({@code spatial == 1}); its values are taken as they are,
 * whatever the reduction, so a signed logit stays signed.
 */
public final class Reductions {
  private Reductions() {}

  /**
   * Reduces one sample of a flat {@code [N,C,H,W]} tensor.
   *
   * @param data flat row-major tensor {@code [N,C,H,W]} (or {@code [N,C]} with {@code spatial == 1})
   * @param sample index {@code n} of the sample to reduce, {@code 0 <= n < N}
   * @param channels C, filters per sample
   * @param spatial H*W, values per filter map (1 for a 2-D output)
   * @param reduction how a map becomes one number
   * @param out receives {@code [C]} values; length at least {@code channels}
   * @throws IllegalArgumentException when {@code data} is too short for the sample, or
   *     {@code out} shorter than {@code channels}, or a size is not positive
   */
  public static void reduce(float[] data, int sample, int channels, int spatial, Reduction reduction, float[] out) {
    Objects.requireNonNull(reduction, "reduction");
    if (channels <= 0 || spatial <= 0 || sample < 0) {
      throw new IllegalArgumentException("channels (" + channels + ") and spatial (" + spatial
          + ") must be positive and sample (" + sample + ") non-negative");
    }
    long base = (long) sample * channels * spatial;
    if (base + (long) channels * spatial > data.length) {
      throw new IllegalArgumentException("tensor of " + data.length + " floats is too short for sample " + sample
          + " of [" + channels + "," + spatial + "]");
    }
    if (out.length < channels) {
      throw new IllegalArgumentException("output of length " + out.length + " is shorter than " + channels + " channels");
    }
    int off = (int) base;
    if (spatial == 1) {
      System.arraycopy(data, off, out, 0, channels);
      return;
    }
    for (int c = 0; c < channels; c++, off += spatial) {
      out[c] = reduceMap(data, off, spatial, reduction);
    }
  }

  /**
   * Reduces every sample of a flat {@code [N,C,H,W]} tensor.
   *
   * @param data flat row-major tensor
   * @param samples N
   * @param channels C
   * @param spatial H*W (1 for {@code [N,C]})
   * @param reduction how a map becomes one number
   * @return {@code [N][C]}
   * @throws IllegalArgumentException when {@code data.length < N*C*H*W}
   */
  public static float[][] reduceAll(float[] data, int samples, int channels, int spatial, Reduction reduction) {
    float[][] out = new float[samples][channels];
    for (int n = 0; n < samples; n++) {
      reduce(data, n, channels, spatial, reduction, out[n]);
    }
    return out;
  }

  /**
   * Reduces one map of {@code length} consecutive values.
   *
   * @param data flat buffer
   * @param offset first value of the map
   * @param length H*W, at least 1
   * @param reduction how the map becomes one number
   * @return the reduced value
   */
  public static float reduceMap(float[] data, int offset, int length, Reduction reduction) {
    int end = offset + length;
    switch (reduction) {
      case MEAN: {
        double s = 0;
        for (int i = offset; i < end; i++) {
          s += data[i];
        }
        return (float) (s / length);
      }
      case MAX: {
        float m = data[offset];
        for (int i = offset + 1; i < end; i++) {
          float v = data[i];
          if (v > m || Float.isNaN(v)) {
            m = v;
          }
        }
        return m;
      }
      case L2: {
        double s = 0;
        for (int i = offset; i < end; i++) {
          double v = data[i];
          s += v * v;
        }
        return (float) Math.sqrt(s);
      }
      case MEAN_ABS: {
        double s = 0;
        for (int i = offset; i < end; i++) {
          s += Math.abs(data[i]);
        }
        return (float) (s / length);
      }
      default:
        throw new IllegalArgumentException("unsupported reduction " + reduction);
    }
  }
}
