package dev.tagscope.schemas;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.stream.Stream;
import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;
import org.apache.avro.SchemaCompatibility.SchemaCompatibilityType;
import org.apache.avro.SchemaNormalization;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.specific.SpecificRecord;
import org.apache.avro.util.RandomData;
import org.apache.kafka.common.errors.SerializationException;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

/**
 * Every topic schema must read data written by each of its released versions
 * ({@link SchemaHistory}), checked two ways: Avro's own compatibility checker, and real bytes
 * written by the old schema decoded by the serde of the current class.
 */
class SchemaCompatibilityTest {

  static Stream<Class<? extends SpecificRecord>> topicRecords() {
    return Stream.of(ProbeSpec.class, StimulusFrame.class, ProbeImage.class, ActivationFrame.class, TagResponse.class,
        LayerImportance.class, ImportanceBucket.class, RankAlert.class, TopExamples.class, LayerValidation.class,
        DeadLetter.class);
  }

  private static Schema current(Class<? extends SpecificRecord> type) {
    return org.apache.avro.specific.SpecificData.get().getSchema(type);
  }

  @ParameterizedTest
  @MethodSource("topicRecords")
  void currentSchemaReadsEveryReleasedVersion(Class<? extends SpecificRecord> type) {
    Schema reader = current(type);
    List<Schema> versions = SchemaHistory.versions(reader.getName());
    assertFalse(versions.isEmpty(), "no history for " + reader.getName());
    for (Schema writer : versions) {
      SchemaCompatibility.SchemaPairCompatibility result =
          SchemaCompatibility.checkReaderWriterCompatibility(reader, writer);
      assertEquals(SchemaCompatibilityType.COMPATIBLE, result.getType(),
          reader.getName() + " cannot read an older version: " + result.getDescription());
    }
  }

  @ParameterizedTest
  @MethodSource("topicRecords")
  void newestReleasedVersionIsTheCurrentSchema(Class<? extends SpecificRecord> type) {
    // A schema change must be released as a new history file, or the checks above prove nothing.
    Schema reader = current(type);
    List<Schema> versions = SchemaHistory.versions(reader.getName());
    Schema newest = versions.get(versions.size() - 1);
    assertEquals(SchemaNormalization.parsingFingerprint64(reader), SchemaNormalization.parsingFingerprint64(newest),
        reader.getName() + " changed: copy src/main/avro/" + reader.getName() + ".avsc to history/"
            + reader.getName() + "/v" + (versions.size() + 1) + ".avsc");
  }

  @ParameterizedTest
  @MethodSource("topicRecords")
  <T extends SpecificRecord> void bytesWrittenByEachVersionDecodeWithTheSerde(Class<T> type) throws IOException {
    AvroSerde<T> serde = AvroSerde.of(type);
    for (Schema writer : SchemaHistory.versions(current(type).getName())) {
      int n = 0;
      for (Object datum : new RandomData(writer, 20, 42L)) {
        byte[] bytes = singleObject(writer, (GenericData.Record) datum);
        T decoded = serde.deserialize("test", bytes);
        GenericData.Record written = (GenericData.Record) datum;
        for (Schema.Field field : decoded.getSchema().getFields()) {
          Schema.Field was = writer.getField(field.name());
          // a field the writer had keeps its value; a field added since reads as its default
          Object expected = was != null ? written.get(was.pos()) : GenericData.get().getDefaultValue(field);
          assertEquals(String.valueOf(expected), String.valueOf(decoded.get(field.pos())),
              field.name() + " in a " + writer.getName() + " record of " + writer.getFields().size() + " fields");
        }
        n++;
      }
      assertEquals(20, n);
    }
  }

  @Test
  void specificRecordRoundTripsThroughSerde() {
    AvroSerde<ActivationFrame> serde = AvroSerde.of(ActivationFrame.class);
    ActivationFrame frame = ActivationFrame.newBuilder().setProbeId("p").setModel("m").setImageId("i")
        .setLayer("layer1.0").setFrameIndex(7L).setImageFrame(7).setValues(List.of(1.5f, -2.25f)).build();
    assertEquals(frame, serde.deserialize("t", serde.serialize("t", frame)));
  }

  @Test
  void doubleArraysKeepFullPrecision() {
    // Avro 1.12.0 read array<double> items back at float precision (AVRO-4108); SNRs and
    // amplitudes on the tag-responses topic must survive the wire bit for bit.
    AvroSerde<FilterResponse> serde = AvroSerde.of(FilterResponse.class);
    List<Double> values = List.of(-0.24399999994784594, Math.PI, 1e-300, 123456789.123456789);
    FilterResponse r = FilterResponse.newBuilder().setFilter(3).setAmplitude(values).setBaseline(values)
        .setSnr(values).setCorrected(values).setSpectrum(List.of(0f, 1.5f)).build();
    FilterResponse back = serde.deserialize("t", serde.serialize("t", r));
    assertEquals(values, back.getAmplitude());
    assertEquals(values, back.getSnr());
  }

  @Test
  void garbageBytesRaiseSerializationExceptionNamingTheTopic() {
    AvroSerde<ProbeSpec> serde = AvroSerde.of(ProbeSpec.class);
    SerializationException e = assertThrows(SerializationException.class,
        () -> serde.deserialize("tagscope.probes", new byte[] {1, 2, 3, 4}));
    assertFalse(e.getMessage().isEmpty());
    assertEquals(true, e.getMessage().contains("tagscope.probes"), e.getMessage());
  }

  /** Avro single-object encoding written by hand from the writer schema: C3 01, fingerprint LE, body. */
  static byte[] singleObject(Schema writer, GenericData.Record datum) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write(0xC3);
    out.write(0x01);
    out.write(ByteBuffer.allocate(8).order(java.nio.ByteOrder.LITTLE_ENDIAN)
        .putLong(SchemaNormalization.parsingFingerprint64(writer)).array());
    BinaryEncoder enc = EncoderFactory.get().binaryEncoder(out, null);
    new GenericDatumWriter<GenericData.Record>(writer).write(datum, enc);
    enc.flush();
    return out.toByteArray();
  }
}
