package dev.tagscope.spectral.internal;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.apache.kafka.streams.state.KeyValueStore;

/**
 * Per (probe, layer) the running sum {@code [C]} of the current image's accepted frames, for the
 * top examples: the window processor adds each frame it accepts (not the duplicates or late frames
 * it refuses) and, when the image's segment ends, takes the image's per-filter means out
 * ({@link #end}). The sums live in a changelogged state store, so a restart resumes them exactly
 * as committed. One entry per (probe, layer): {@code C} doubles, the image id, model version,
 * frame count and the last frame's stimulus time.
 *
 * <p>Use per record: {@link #current} (loads or starts the image), {@link Sum#add} per accepted
 * frame, {@link #end} when the image ends, {@link #save} once at the end of the record.
 */
final class ImageMeans {
  private final KeyValueStore<String, byte[]> store;

  /** @param store key {@code probeId/layer}, value an encoded {@link Sum} */
  ImageMeans(KeyValueStore<String, byte[]> store) {
    this.store = store;
  }

  /**
   * The sum of an image of a (probe, layer): the stored one when it is of this image and version,
   * else a fresh one (an older sum left there was ended by the processor before, see {@link #end}).
   *
   * @param layerKey {@code probeId/layer}
   * @param imageId the image
   * @param version the model version ({@code ""} when the worker did not say)
   * @param filters the layer's filter count {@code C}
   * @return the image's sum, to add frames to
   */
  Sum current(String layerKey, String imageId, String version, int filters) {
    byte[] b = store.get(layerKey);
    if (b != null) {
      Sum s = Sum.decode(b);
      if (s.imageId.equals(imageId) && s.version.equals(version) && s.sums.length == filters) {
        return s;
      }
    }
    return new Sum(imageId, version, new double[filters], 0, 0L);
  }

  /**
   * Ends the stored image of a (probe, layer) and removes its sum.
   *
   * @param layerKey {@code probeId/layer}
   * @return the ended image's means, or null when no frame of it was accepted (or it ended already)
   */
  Image end(String layerKey) {
    byte[] b = store.get(layerKey);
    if (b == null) {
      return null;
    }
    store.delete(layerKey);
    return Sum.decode(b).image();
  }

  /** Forgets the stored sum of a (probe, layer) without ending it (the probe was published again). */
  void drop(String layerKey) {
    store.delete(layerKey);
  }

  /**
   * Stores a sum after a record, or removes the entry when the sum holds no frame (its image ended).
   *
   * @param layerKey {@code probeId/layer}
   * @param sum the sum the record added to
   */
  void save(String layerKey, Sum sum) {
    if (sum.frames > 0) {
      store.put(layerKey, sum.encode());
    } else if (sum.ended) {
      store.delete(layerKey);
    }
  }

  /**
   * An image ended: per filter its mean over its accepted frames.
   *
   * @param imageId the image
   * @param version the model version of the frames
   * @param frames frames the means are over
   * @param means {@code [C]} layer units
   * @param timestamp stimulus time of its last accepted frame, ms
   */
  record Image(String imageId, String version, int frames, double[] means, long timestamp) {}

  /** The running sum of one image. */
  static final class Sum {
    final String imageId;
    final String version;
    final double[] sums;
    int frames;
    long lastTimestamp;
    /** Set once {@link #take} emptied it, so that {@link #save} removes the stored entry. */
    boolean ended;

    private Sum(String imageId, String version, double[] sums, int frames, long lastTimestamp) {
      this.imageId = imageId;
      this.version = version;
      this.sums = sums;
      this.frames = frames;
      this.lastTimestamp = lastTimestamp;
    }

    /**
     * Adds one frame of a record.
     *
     * @param values the record's values, {@code [frames, C]} row-major
     * @param row which frame of the record
     * @param timestamp the frame's stimulus time, ms
     */
    void add(List<Float> values, int row, long timestamp) {
      int c = sums.length;
      int from = row * c;
      for (int k = 0; k < c; k++) {
        sums[k] += FrameRun.valueAt(values, from + k);
      }
      frames++;
      lastTimestamp = timestamp;
    }

    /**
     * Ends the image: its means, and the sum emptied.
     *
     * @return the image's means, or null when it holds no frame
     */
    Image take() {
      Image out = image();
      java.util.Arrays.fill(sums, 0);
      frames = 0;
      ended = true;
      return out;
    }

    private Image image() {
      if (frames == 0) {
        return null;
      }
      double[] means = new double[sums.length];
      for (int k = 0; k < means.length; k++) {
        means[k] = sums[k] / frames;
      }
      return new Image(imageId, version, frames, means, lastTimestamp);
    }

    /** {@code [idLen][imageId][verLen][version][frames][lastTimestamp 8][C][C doubles]}, big-endian. */
    byte[] encode() {
      byte[] id = imageId.getBytes(StandardCharsets.UTF_8);
      byte[] v = version.getBytes(StandardCharsets.UTF_8);
      ByteBuffer buf = ByteBuffer.allocate(24 + id.length + v.length + 8 * sums.length)
          .putInt(id.length).put(id).putInt(v.length).put(v).putInt(frames).putLong(lastTimestamp).putInt(sums.length);
      for (double s : sums) {
        buf.putDouble(s);
      }
      return buf.array();
    }

    static Sum decode(byte[] b) {
      ByteBuffer buf = ByteBuffer.wrap(b);
      byte[] id = new byte[buf.getInt()];
      buf.get(id);
      byte[] v = new byte[buf.getInt()];
      buf.get(v);
      int frames = buf.getInt();
      long ts = buf.getLong();
      double[] sums = new double[buf.getInt()];
      for (int k = 0; k < sums.length; k++) {
        sums[k] = buf.getDouble();
      }
      return new Sum(new String(id, StandardCharsets.UTF_8), new String(v, StandardCharsets.UTF_8), sums, frames, ts);
    }
  }
}
