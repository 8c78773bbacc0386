package dev.tagscope.spectral.internal;

import java.util.Arrays;
import java.util.List;
import org.apache.avro.generic.PrimitivesArrays;

/**
 * Consecutive frames of one image of one layer, gathered before they go into the frame buffer as
 * one store entry: frame {@code t} of the run is imageFrame {@code first + t}, its filter values
 * are {@code values[t*C .. t*C+C-1]}. Reused from record to record; not thread-safe.
 */
final class FrameRun {
  private final int filters;
  private float[] values;
  private int first = -1;
  private int count;

  /**
   * @param filters filter count {@code C} of the layer, at least 1
   * @param capacity frames to make room for at first (grows as needed)
   */
  FrameRun(int filters, int capacity) {
    this.filters = filters;
    this.values = new float[filters * Math.max(1, capacity)];
  }

  /** @return filter count {@code C} */
  int filters() {
    return filters;
  }

  /** @return imageFrame of the first frame; meaningless while {@link #count()} is 0 */
  int first() {
    return first;
  }

  /** @return frames held */
  int count() {
    return count;
  }

  /** @return {@code [count*C]} the values, frame-major; only the first {@code count*C} are the run's */
  float[] values() {
    return values;
  }

  /**
   * Whether a frame continues this run (the run is empty, or the frame comes right after its last).
   *
   * @param imageFrame the frame's index within its image
   * @return whether {@link #add} may take it
   */
  boolean continuesWith(int imageFrame) {
    return count == 0 || imageFrame == first + count;
  }

  /**
   * Appends one frame, copied out of a record's {@code [frames, C]} values.
   *
   * @param imageFrame the frame's index within its image; must satisfy {@link #continuesWith}
   * @param source a record's values, {@code [frames, C]} row-major
   * @param row which frame of {@code source}
   * @throws IllegalStateException when the frame does not continue the run
   */
  void add(int imageFrame, List<Float> source, int row) {
    if (!continuesWith(imageFrame)) {
      throw new IllegalStateException("imageFrame " + imageFrame + " does not continue a run of " + count + " from " + first);
    }
    if (count == 0) {
      first = imageFrame;
    }
    int at = count * filters;
    if (at + filters > values.length) {
      values = Arrays.copyOf(values, 2 * values.length);
    }
    int from = row * filters;
    for (int k = 0; k < filters; k++) {
      values[at + k] = valueAt(source, from + k);
    }
    count++;
  }

  /**
   * One value of a record's {@code values}, unboxed where the Avro decoder gave primitive floats.
   *
   * @param values a record's values
   * @param i the index
   * @return {@code values.get(i)}
   */
  static float valueAt(List<Float> values, int i) {
    return values instanceof PrimitivesArrays.FloatArray floats ? floats.getFloat(i) : values.get(i);
  }

  /** Empties the run. */
  void clear() {
    count = 0;
    first = -1;
  }
}
