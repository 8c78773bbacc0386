package dev.tagscope.spectral.internal;

import java.util.ArrayList;
import java.util.List;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;

/**
 * The window processor's buffer over its two state stores: the frames of the current image of
 * each (probe, layer), keyed {@link FrameKeys#key}, and each (probe, layer)'s
 * {@link FrameKeys.LayerState}. It knows how frames are stored, not which windows they belong
 * to; that is {@link WindowProcessor}'s part. Both stores are changelogged by Kafka Streams, so
 * the buffer survives a restart exactly as it was committed.
 */
final class FrameBuffer {
  private final KeyValueStore<Bytes, byte[]> frames;
  private final KeyValueStore<String, byte[]> layers;

  /**
   * @param frames the frame store, key {@code prefix + imageFrame}, value the encoded filter values
   * @param layers the layer-state store, key {@code probeId/layer}
   */
  FrameBuffer(KeyValueStore<Bytes, byte[]> frames, KeyValueStore<String, byte[]> layers) {
    this.frames = frames;
    this.layers = layers;
  }

  /**
   * The state of a (probe, layer).
   *
   * @param layerKey {@code probeId/layer}
   * @return its state, or null before its first frame
   */
  FrameKeys.LayerState state(String layerKey) {
    byte[] b = layers.get(layerKey);
    return b == null ? null : FrameKeys.LayerState.decode(b);
  }

  /**
   * Stores the state of a (probe, layer).
   *
   * @param layerKey {@code probeId/layer}
   * @param state its new state
   */
  void putState(String layerKey, FrameKeys.LayerState state) {
    layers.put(layerKey, state.encode());
  }

  /**
   * Buffers one frame.
   *
   * @param prefix the image's key prefix ({@link FrameKeys#prefix})
   * @param imageFrame the frame's index within its image
   * @param values one value per filter
   */
  void put(byte[] prefix, int imageFrame, List<Float> values) {
    frames.put(FrameKeys.key(prefix, imageFrame), FrameKeys.encode(values));
  }

  /**
   * Whether a frame is buffered.
   *
   * @param prefix the image's key prefix
   * @param imageFrame the frame's index within its image
   * @return whether it is in the store
   */
  boolean contains(byte[] prefix, int imageFrame) {
    return frames.get(FrameKeys.key(prefix, imageFrame)) != null;
  }

  /**
   * Reads the buffered frames {@code start..end} into a window.
   *
   * @param prefix the image's key prefix
   * @param start first imageFrame of the window
   * @param end last imageFrame of the window (inclusive)
   * @param series {@code [C][end-start+1]}, filled at {@code imageFrame - start}
   * @return how many frames were buffered (the window is complete when it equals its length)
   */
  int read(byte[] prefix, int start, int end, double[][] series) {
    int got = 0;
    try (KeyValueIterator<Bytes, byte[]> it = frames.range(FrameKeys.key(prefix, start), FrameKeys.key(prefix, end))) {
      while (it.hasNext()) {
        KeyValue<Bytes, byte[]> kv = it.next();
        FrameKeys.decodeInto(kv.value, series, FrameKeys.frameOf(kv.key) - start);
        got++;
      }
    }
    return got;
  }

  /**
   * Deletes every buffered frame of an image.
   *
   * @param prefix the image's key prefix
   */
  void purge(byte[] prefix) {
    deleteRange(prefix, 0, Integer.MAX_VALUE);
  }

  /**
   * Deletes the buffered frames {@code from..to} of an image; nothing when {@code to < from}.
   *
   * @param prefix the image's key prefix
   * @param from first imageFrame
   * @param to last imageFrame (inclusive)
   */
  void deleteRange(byte[] prefix, int from, int to) {
    if (to < from) {
      return;
    }
    List<Bytes> keys = new ArrayList<>();
    try (KeyValueIterator<Bytes, byte[]> it = frames.range(FrameKeys.key(prefix, from), FrameKeys.key(prefix, to))) {
      while (it.hasNext()) {
        keys.add(it.next().key);
      }
    }
    for (Bytes k : keys) {
      frames.delete(k);
    }
  }
}
