package dev.tagscope.spectral.internal;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.apache.kafka.common.utils.Bytes;

/**
 * Keys of the frame buffer store: {@code [len][probeId/layer utf8][len][imageId utf8][imageFrame]},
 * lengths and frame as big-endian 4-byte ints, so the frames of one image sort by imageFrame and
 * a range scan returns a window in order. A value is a run of consecutive frames starting at the
 * key's imageFrame: {@code [count][count*C big-endian floats]}, frame-major ({@link #encodeRun}).
 */
final class FrameKeys {
  private FrameKeys() {}

  static byte[] prefix(String probeLayer, String imageId) {
    byte[] a = probeLayer.getBytes(StandardCharsets.UTF_8);
    byte[] b = imageId.getBytes(StandardCharsets.UTF_8);
    return ByteBuffer.allocate(8 + a.length + b.length).putInt(a.length).put(a).putInt(b.length).put(b).array();
  }

  static Bytes key(byte[] prefix, int imageFrame) {
    return Bytes.wrap(ByteBuffer.allocate(prefix.length + 4).put(prefix).putInt(imageFrame).array());
  }

  static int frameOf(Bytes key) {
    byte[] k = key.get();
    return ByteBuffer.wrap(k, k.length - 4, 4).getInt();
  }

  /** Encodes a run: {@code [count][count*C floats]}. */
  static byte[] encodeRun(FrameRun run) {
    int n = run.count() * run.filters();
    ByteBuffer buf = ByteBuffer.allocate(4 + 4 * n).putInt(run.count());
    float[] v = run.values();
    for (int i = 0; i < n; i++) {
      buf.putFloat(v[i]);
    }
    return buf.array();
  }

  /**
   * Frames in a stored run. A value of exactly {@code 4*C} bytes is one frame as stored before
   * runs existed (no count in front, restored from an older changelog); {@code 4 + 4*C*count}
   * can never equal it, so the two encodings cannot be confused.
   *
   * @param value a stored value
   * @param filters the layer's filter count {@code C}
   * @return the number of frames it holds
   * @throws IllegalStateException when the value fits neither encoding (a corrupt store)
   */
  static int runLength(byte[] value, int filters) {
    if (value.length == 4 * filters) {
      return 1;
    }
    int count = ByteBuffer.wrap(value).getInt();
    if (count < 1 || value.length != 4 + 4L * filters * count) {
      throw new IllegalStateException("frame buffer entry of " + value.length + " bytes is not a run of "
          + filters + " filters");
    }
    return count;
  }

  /**
   * Decodes the frames {@code start..end} of a stored run into {@code series[C][W]} at column
   * {@code imageFrame - start}.
   *
   * @param value a stored value
   * @param first imageFrame of the run's first frame
   * @param start first imageFrame of the window
   * @param end last imageFrame of the window, inclusive
   * @param series {@code [C][end-start+1]}
   * @return how many frames of the run fell in {@code start..end}
   */
  static int decodeInto(byte[] value, int first, int start, int end, double[][] series) {
    int c = series.length;
    int count = runLength(value, c);
    ByteBuffer buf = ByteBuffer.wrap(value);
    int base = value.length == 4 * c ? 0 : 4;
    int from = Math.max(first, start);
    int to = Math.min(first + count - 1, end);
    for (int f = from; f <= to; f++) {
      int at = base + 4 * c * (f - first);
      for (int k = 0; k < c; k++) {
        series[k][f - start] = buf.getFloat(at + 4 * k);
      }
    }
    return Math.max(0, to - from + 1);
  }

  /**
   * Layer state of one (probe, layer).
   *
   * <p>Encoding: {@code [filters][lastFrame][idLen][imageId utf8][lastFrameIndex 8][spec 8]}. The
   * last two fields were added later: state written without them (by an earlier version, restored
   * from the changelog) decodes with {@code lastFrameIndex = -1} and {@code spec = }{@link #UNKNOWN_SPEC},
   * which the processor treats as "not known yet" rather than as a mismatch.
   *
   * @param filters filter count of the layer
   * @param imageId current image
   * @param lastFrame highest imageFrame seen of the current image, -1 before its first frame
   * @param lastFrameIndex highest frameIndex (counted over the whole probe) seen, -1 when unknown
   * @param spec fingerprint of the probe spec these frames were analysed under, {@link #UNKNOWN_SPEC} when unknown
   */
  record LayerState(int filters, String imageId, int lastFrame, long lastFrameIndex, long spec) {
    static final long UNKNOWN_SPEC = 0L;

    byte[] encode() {
      byte[] id = imageId.getBytes(StandardCharsets.UTF_8);
      return ByteBuffer.allocate(28 + id.length).putInt(filters).putInt(lastFrame).putInt(id.length).put(id)
          .putLong(lastFrameIndex).putLong(spec).array();
    }

    static LayerState decode(byte[] b) {
      ByteBuffer buf = ByteBuffer.wrap(b);
      int filters = buf.getInt();
      int last = buf.getInt();
      byte[] id = new byte[buf.getInt()];
      buf.get(id);
      long lastIndex = -1;
      long spec = UNKNOWN_SPEC;
      if (buf.remaining() >= 16) {
        lastIndex = buf.getLong();
        spec = buf.getLong();
      }
      return new LayerState(filters, new String(id, StandardCharsets.UTF_8), last, lastIndex, spec);
    }
  }
}
