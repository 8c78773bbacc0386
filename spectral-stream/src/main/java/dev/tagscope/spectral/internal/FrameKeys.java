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

  /** Layer state: filter count, current image, highest imageFrame seen of it. */
  record LayerState(int filters, String imageId, int lastFrame) {
    byte[] encode() {
      byte[] id = imageId.getBytes(StandardCharsets.UTF_8);
      return ByteBuffer.allocate(12 + id.length).putInt(filters).putInt(lastFrame).putInt(id.length).put(id).array();
    }

    static LayerState decode(byte[] b) {
      ByteBuffer buf = ByteBuffer.wrap(b);
      int filters = buf.getInt();
      int last = buf.getInt();
      byte[] id = new byte[buf.getInt()];
      buf.get(id);
      return new LayerState(filters, new String(id, StandardCharsets.UTF_8), last);
    }
  }
}
