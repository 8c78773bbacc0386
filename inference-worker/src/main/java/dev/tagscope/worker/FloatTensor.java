package dev.tagscope.worker;

import java.util.Arrays;

/**
 * A dense float32 tensor copied out of the engine: row-major data and its shape.
 *
 * @param shape dimensions, e.g. {@code [N,C,H,W]}
 * @param data row-major values, length = product of {@code shape}
 */
public record FloatTensor(long[] shape, float[] data) {

  /**
   * Checks that the data length matches the shape.
   *
   * @throws IllegalArgumentException when it does not
   */
  public FloatTensor {
    long n = 1;
    for (long d : shape) {
      n *= d;
    }
    if (n != data.length) {
      throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " needs " + n + " values, got " + data.length);
    }
  }

  /**
   * @return number of dimensions
   */
  public int rank() {
    return shape.length;
  }

  /**
   * @param i dimension index
   * @return size of that dimension
   */
  public int dim(int i) {
    return Math.toIntExact(shape[i]);
  }

  @Override
  public String toString() {
    return "FloatTensor" + Arrays.toString(shape);
  }
}
