package dev.tagscope.spectral.internal;

import java.util.ArrayList;
import java.util.List;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;

/**
 * The window processor's buffer over its two state stores: runs of consecutive frames of the
 * current image of each (probe, layer), keyed {@link FrameKeys#key} by the run's first imageFrame,
 * and each (probe, layer)'s {@link FrameKeys.LayerState}. It knows how frames are stored, not which
 * windows they belong to; that is {@link WindowProcessor}'s part. Both stores are changelogged by
 * Kafka Streams, so the buffer survives a restart exactly as it was committed.
 *
 * <p>A run is stored as one entry, so an activation record of {@code T} frames costs one store
 * write and one changelog record, not {@code T}. The processor never stores a frame twice, so the
 * runs of an image never overlap; a run that reaches past the frames a later window needs stays
 * whole until its last frame is no longer needed, and a read takes only the frames it asks for.
 */
final class FrameBuffer {
  private final KeyValueStore<Bytes, byte[]> frames;
  private final KeyValueStore<String, byte[]> layers;

  /**
   * @param frames the frame store, key {@code prefix + first imageFrame}, value the encoded run ({@link FrameKeys#encodeRun})
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
   * Buffers a run of consecutive frames, none of them buffered yet.
   *
   * @param prefix the image's key prefix ({@link FrameKeys#prefix})
   * @param run the frames
   */
  void put(byte[] prefix, FrameRun run) {
    if (run.count() > 0) {
      frames.put(FrameKeys.key(prefix, run.first()), FrameKeys.encodeRun(run));
    }
  }

  /**
   * Whether a frame is buffered.
   *
   * @param prefix the image's key prefix
   * @param imageFrame the frame's index within its image
   * @param filters the layer's filter count {@code C}
   * @return whether some stored run holds it
   */
  boolean contains(byte[] prefix, int imageFrame, int filters) {
    try (KeyValueIterator<Bytes, byte[]> it = frames.range(FrameKeys.key(prefix, 0), FrameKeys.key(prefix, imageFrame))) {
      while (it.hasNext()) {
        KeyValue<Bytes, byte[]> kv = it.next();
        int first = FrameKeys.frameOf(kv.key);
        if (imageFrame < first + FrameKeys.runLength(kv.value, filters)) {
          return true;
        }
      }
    }
    return false;
  }

  /**
   * Reads the buffered frames {@code start..end} into a window.
   *
   * @param prefix the image's key prefix
   * @param start first imageFrame of the window
   * @param end last imageFrame of the window (inclusive)
   * @param series {@code [C][end-start+1]}, filled at {@code imageFrame - start}
   * @return how many frames of {@code start..end} were buffered (the window is complete when it equals its length)
   */
  int read(byte[] prefix, int start, int end, double[][] series) {
    int got = 0;
    // A run that starts before the window may reach into it, so the scan starts at the image's first frame.
    try (KeyValueIterator<Bytes, byte[]> it = frames.range(FrameKeys.key(prefix, 0), FrameKeys.key(prefix, end))) {
      while (it.hasNext()) {
        KeyValue<Bytes, byte[]> kv = it.next();
        got += FrameKeys.decodeInto(kv.value, FrameKeys.frameOf(kv.key), start, end, series);
      }
    }
    return got;
  }

  /**
   * Deletes every buffered frame of an image.
   *
   * @param prefix the image's key prefix
   * @param filters the layer's filter count {@code C}
   */
  void purge(byte[] prefix, int filters) {
    deleteBefore(prefix, Integer.MAX_VALUE, filters);
  }

  /**
   * Deletes the stored runs of an image whose every frame is before {@code frame}; a run that
   * reaches {@code frame} or later stays whole.
   *
   * @param prefix the image's key prefix
   * @param frame the first imageFrame still needed
   * @param filters the layer's filter count {@code C}
   */
  void deleteBefore(byte[] prefix, int frame, int filters) {
    if (frame <= 0) {
      return;
    }
    List<Bytes> keys = new ArrayList<>();
    try (KeyValueIterator<Bytes, byte[]> it = frames.range(FrameKeys.key(prefix, 0), FrameKeys.key(prefix, frame - 1))) {
      while (it.hasNext()) {
        KeyValue<Bytes, byte[]> kv = it.next();
        if ((long) FrameKeys.frameOf(kv.key) + FrameKeys.runLength(kv.value, filters) <= frame) {
          keys.add(kv.key);
        }
      }
    }
    keys.forEach(frames::delete);
  }
}
