package dev.tagscope.schemas;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.Map;
import org.apache.avro.Schema;
import org.apache.avro.SchemaNormalization;
import org.apache.avro.message.BinaryMessageDecoder;
import org.apache.avro.message.BinaryMessageEncoder;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serializer;

/**
 * Kafka serde for an Avro generated class, in Avro's single-object encoding: two marker
 * bytes {@code C3 01}, the 8-byte CRC-64-AVRO fingerprint of the writer schema, then the
 * binary-encoded record (Avro 1.12 specification, "Single-object encoding"). The fingerprint
 * lets a reader pick the writer's schema from {@link SchemaHistory} without a schema
 * registry, so older records stay readable after a compatible change.
 *
 * <p>Java serialisation is never used. A value that cannot be decoded raises
 * {@link SerializationException} naming the topic and the cause; the stages catch it and
 * route the original bytes to the dead-letter topic. What decoding allocates is bounded by the
 * bytes given: a string, bytes or array length that claims more than the rest of the record is
 * refused before Avro allocates it.
 *
 * @param <T> the generated record class
 */
public final class AvroSerde<T extends SpecificRecord> implements Serde<T>, Serializer<T>, Deserializer<T> {
  private final Class<T> type;
  private final BinaryMessageEncoder<T> encoder;
  private final BinaryMessageDecoder<T> decoder;
  /** The schemas the decoder knows, by fingerprint, for {@link AvroBounds}. */
  private final Map<Long, Schema> writers = new HashMap<>();

  private AvroSerde(Class<T> type) {
    this.type = type;
    Schema schema = SpecificData.get().getSchema(type);
    SpecificData model = new SpecificData(type.getClassLoader());
    this.encoder = new BinaryMessageEncoder<>(model, schema);
    this.decoder = new BinaryMessageDecoder<>(model, schema);
    writers.put(SchemaNormalization.parsingFingerprint64(schema), schema);
    for (Schema old : SchemaHistory.versions(schema.getName())) {
      decoder.addSchema(old);
      writers.put(SchemaNormalization.parsingFingerprint64(old), old);
    }
  }

  /**
   * A serde for one generated record class.
   *
   * @param type e.g. {@code ProbeSpec.class}
   * @return a thread-safe serde (Avro's encoder and decoder keep per-thread buffers)
   */
  public static <T extends SpecificRecord> AvroSerde<T> of(Class<T> type) {
    return new AvroSerde<>(type);
  }

  @Override
  public byte[] serialize(String topic, T data) {
    if (data == null) {
      return null; // tombstone on compacted topics
    }
    try {
      ByteBuffer buf = encoder.encode(data);
      byte[] out = new byte[buf.remaining()];
      buf.get(out);
      return out;
    } catch (IOException | RuntimeException e) {
      throw new SerializationException("cannot encode " + type.getSimpleName() + " for topic " + topic + ": " + e.getMessage(), e);
    }
  }

  @Override
  public T deserialize(String topic, byte[] data) {
    if (data == null) {
      return null;
    }
    try {
      AvroBounds.check(writers, data); // a length prefix claiming more than the bytes given is refused before Avro allocates it
      return decoder.decode(data);
    } catch (IOException | RuntimeException e) {
      throw new SerializationException("cannot decode " + type.getSimpleName() + " from topic " + topic
          + " (" + data.length + " bytes): " + e, e);
    }
  }

  @Override
  public void configure(java.util.Map<String, ?> configs, boolean isKey) {
    // nothing to configure: the schema comes from the generated class
  }

  @Override
  public void close() {
    // no resources held
  }

  @Override
  public Serializer<T> serializer() {
    return this;
  }

  @Override
  public Deserializer<T> deserializer() {
    return this;
  }
}
