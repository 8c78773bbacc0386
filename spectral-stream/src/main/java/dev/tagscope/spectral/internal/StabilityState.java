package dev.tagscope.spectral.internal;

import dev.tagscope.schemas.LayerImportance;
import dev.tagscope.schemas.Topics;
import dev.tagscope.tagging.spectral.ImportanceMath;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * The stability processor's state of one (model, layer): the reference and whether an alert
 * episode is open.
 *
 * <p>Stored as bytes, no Java serialisation: {@code [format byte = 1][episode open byte]
 * [int buckets][int n][n UTF-8 bytes of the reference version][the reference as a LayerImportance,
 * Avro single-object encoding of Topics.IMPORTANCE]}.
 *
 * @param referenceVersion the version whose buckets form the reference
 * @param buckets buckets folded into the reference so far
 * @param reference the windows-weighted mean of those buckets ({@link ImportanceMath#merge})
 * @param episodeOpen whether an alert was raised and not yet cleared
 */
public record StabilityState(String referenceVersion, int buckets, LayerImportance reference, boolean episodeOpen) {
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
    return new StabilityState(referenceVersion, buckets + 1, ImportanceMath.merge(reference, bucket), episodeOpen);
  }

  /**
   * @param open whether an episode is open
   * @return the state with that flag
   */
  public StabilityState withEpisode(boolean open) {
    return new StabilityState(referenceVersion, buckets, reference, open);
  }

  /** @return the stored form */
  public byte[] encode() {
    byte[] version = referenceVersion.getBytes(StandardCharsets.UTF_8);
    byte[] ref = Topics.IMPORTANCE.valueSerde().serializer().serialize(Topics.IMPORTANCE.name(), reference);
    return ByteBuffer.allocate(2 + 4 + 4 + version.length + ref.length).put(FORMAT).put((byte) (episodeOpen ? 1 : 0))
        .putInt(buckets).putInt(version.length).put(version).put(ref).array();
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
    boolean open = b.get() != 0;
    int buckets = b.getInt();
    byte[] version = new byte[b.getInt()];
    b.get(version);
    byte[] ref = Arrays.copyOfRange(bytes, b.position(), bytes.length);
    LayerImportance reference = Topics.IMPORTANCE.valueSerde().deserializer().deserialize(Topics.IMPORTANCE.name(), ref);
    return new StabilityState(new String(version, StandardCharsets.UTF_8), buckets, reference, open);
  }
}
