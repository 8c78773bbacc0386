package dev.tagscope.spectral.internal;

import dev.tagscope.schemas.LayerImportance;
import dev.tagscope.schemas.Topics;
import dev.tagscope.tagging.spectral.ImportanceMath;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * The stability processor's state of one (model, layer): the reference, and the model versions
 * with an open alert episode. Episodes are per version: two versions running side by side (a
 * canary beside the deployed model) each raise and clear their own, instead of one's buckets
 * clearing the other's alert.
 *
 * <p>Stored as bytes, no Java serialisation: {@code [format byte = 1][int buckets][int n][n UTF-8
 * bytes of the reference version][int m][m times: int n, n UTF-8 bytes of a version with an open
 * episode][the reference as a LayerImportance, Avro single-object encoding of Topics.IMPORTANCE]}.
 *
 * @param referenceVersion the version whose buckets form the reference
 * @param buckets buckets folded into the reference so far
 * @param reference the windows-weighted mean of those buckets ({@link ImportanceMath#merge})
 * @param openEpisodes the versions with an alert raised and not yet cleared
 */
public record StabilityState(String referenceVersion, int buckets, LayerImportance reference, java.util.Set<String> openEpisodes) {
  /** Keeps the set unmodifiable. */
  public StabilityState {
    openEpisodes = java.util.Set.copyOf(openEpisodes);
  }

  private static final byte FORMAT = 1;

  /**
   * @param k buckets the reference needs
   * @return whether the reference holds at least {@code k} buckets
   */
  public boolean complete(int k) {
    return buckets >= k;
  }

  /**
   * @param bucket one more bucket of the reference version
   * @return the state with that bucket folded into the reference
   */
  public StabilityState fold(LayerImportance bucket) {
    return new StabilityState(referenceVersion, buckets + 1, ImportanceMath.merge(reference, bucket), openEpisodes);
  }

  /**
   * @param version a model version
   * @return whether an alert episode of that version is open
   */
  public boolean episodeOpen(String version) {
    return openEpisodes.contains(version);
  }

  /**
   * @param version a model version
   * @param open whether its episode is open
   * @return the state with that version's episode opened or closed
   */
  public StabilityState withEpisode(String version, boolean open) {
    java.util.Set<String> v = new java.util.TreeSet<>(openEpisodes);
    if (open) {
      v.add(version);
    } else {
      v.remove(version);
    }
    return new StabilityState(referenceVersion, buckets, reference, v);
  }

  /** @return the stored form */
  public byte[] encode() {
    byte[] version = referenceVersion.getBytes(StandardCharsets.UTF_8);
    byte[] ref = Topics.IMPORTANCE.valueSerde().serializer().serialize(Topics.IMPORTANCE.name(), reference);
    java.util.List<byte[]> open = openEpisodes.stream().sorted().map(v -> v.getBytes(StandardCharsets.UTF_8)).toList();
    int size = 1 + 4 + 4 + version.length + 4 + ref.length + open.stream().mapToInt(o -> 4 + o.length).sum();
    ByteBuffer b = ByteBuffer.allocate(size).put(FORMAT).putInt(buckets).putInt(version.length).put(version).putInt(open.size());
    open.forEach(o -> b.putInt(o.length).put(o));
    return b.put(ref).array();
  }

  /**
   * @param bytes the stored form, or null
   * @return the state, or null for null
   * @throws IllegalStateException when the bytes are not of this format (a store of another version)
   */
  public static StabilityState decode(byte[] bytes) {
    if (bytes == null) {
      return null;
    }
    ByteBuffer b = ByteBuffer.wrap(bytes);
    byte format = b.get();
    if (format != FORMAT) {
      throw new IllegalStateException("stability state of format " + format + ", this version reads " + FORMAT
          + "; reset the Streams application's state (kafka-streams-application-reset) after a downgrade");
    }
    int buckets = b.getInt();
    byte[] version = new byte[b.getInt()];
    b.get(version);
    java.util.Set<String> open = new java.util.TreeSet<>();
    for (int i = b.getInt(); i > 0; i--) {
      byte[] v = new byte[b.getInt()];
      b.get(v);
      open.add(new String(v, StandardCharsets.UTF_8));
    }
    byte[] ref = Arrays.copyOfRange(bytes, b.position(), bytes.length);
    LayerImportance reference = Topics.IMPORTANCE.valueSerde().deserializer().deserialize(Topics.IMPORTANCE.name(), ref);
    return new StabilityState(new String(version, StandardCharsets.UTF_8), buckets, reference, open);
  }
}
