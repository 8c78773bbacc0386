package dev.tagscope.spectral.internal;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.apache.kafka.common.utils.Bytes;

/**
 * Keys of the frame buffer store: {@code [len][probeId/layer utf8][len][imageId utf8][imageFrame]},
 * lengths and frame as big-endian 4-byte ints, so the frames of one image sort by imageFrame and
 * a range scan returns a window in order. Values are {@code C} big-endian floats.
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

  static byte[] encode(java.util.List<Float> values) {
    ByteBuffer buf = ByteBuffer.allocate(4 * values.size());
    for (Float v : values) {
      buf.putFloat(v);
    }
    return buf.array();
  }

  /** Decodes one frame into column {@code t} of {@code series[C][W]}. */
  static void decodeInto(byte[] value, double[][] series, int t) {
    ByteBuffer buf = ByteBuffer.wrap(value);
    for (int c = 0; c < series.length; c++) {
      series[c][t] = buf.getFloat();
    }
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
