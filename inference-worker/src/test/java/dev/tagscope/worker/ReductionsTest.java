package dev.tagscope.worker;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.tagscope.schemas.Reduction;
import org.junit.jupiter.api.Test;

class ReductionsTest {
  /** [N=2, C=2, H=2, W=2] flat. */
  private static final float[] DATA = {
      1, -2, 3, -4, /* n0 c0 */ 0, 0, 0, 8, /* n0 c1 */
      -1, -1, -1, -1, /* n1 c0 */ 0.5f, 0.25f, 0, 0.25f /* n1 c1 */};

  @Test
  void meanIsSumOverHW() {
    assertArrayEquals(new float[][] {{-0.5f, 2f}, {-1f, 0.25f}}, Reductions.reduceAll(DATA, 2, 2, 4, Reduction.MEAN));
  }

  @Test
  void maxIsLargestValue() {
    assertArrayEquals(new float[][] {{3f, 8f}, {-1f, 0.5f}}, Reductions.reduceAll(DATA, 2, 2, 4, Reduction.MAX));
  }

  @Test
  void l2IsRootOfSumOfSquares() {
    float[][] r = Reductions.reduceAll(DATA, 2, 2, 4, Reduction.L2);
    // sqrt(1+4+9+16), sqrt(64), sqrt(4*1), sqrt(0.25+0.0625+0.0625)
    assertArrayEquals(new float[] {5.4772256f, 8f}, r[0], 1e-6f);
    assertArrayEquals(new float[] {2f, 0.61237244f}, r[1], 1e-6f);
  }

  @Test
  void meanAbsIsMeanOfMagnitudes() {
    assertArrayEquals(new float[][] {{2.5f, 2f}, {1f, 0.25f}}, Reductions.reduceAll(DATA, 2, 2, 4, Reduction.MEAN_ABS));
  }

  @Test
  void oneSampleIntoCallerBuffer() {
    float[] out = new float[3];
    Reductions.reduce(DATA, 1, 2, 4, Reduction.MAX, out);
    assertArrayEquals(new float[] {-1f, 0.5f, 0f}, out);
  }

  @Test
  void twoDimensionalValuesPassUnchangedWhateverTheReduction() {
    float[] nc = {-3f, 2f, 0.5f, -0.25f}; // [N=2, C=2]
    for (Reduction r : Reduction.values()) {
      assertArrayEquals(new float[][] {{-3f, 2f}, {0.5f, -0.25f}}, Reductions.reduceAll(nc, 2, 2, 1, r), r.name());
    }
  }

  @Test
  void tooShortInputIsRefused() {
    assertThrows(IllegalArgumentException.class, () -> Reductions.reduceAll(DATA, 3, 2, 4, Reduction.MEAN));
    assertThrows(IllegalArgumentException.class, () -> Reductions.reduce(DATA, 0, 2, 4, Reduction.MEAN, new float[1]));
  }
}
