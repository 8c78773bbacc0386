package dev.tagscope.schemas;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tagscope.schemas.fuzz.Seeds;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.Arrays;
import java.util.List;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.specific.SpecificDatumWriter;
import org.apache.kafka.common.errors.SerializationException;
import org.junit.jupiter.api.Test;

/**
 * Regression tests of {@link AvroBounds}: before it, a record of a few bytes whose length prefix
 * claimed 2<sup>31</sup> bytes or items made Avro allocate them up front, and the decoder raised
 * {@link OutOfMemoryError} (found by {@link AvroFuzzTest}) where it must raise
 * {@link SerializationException}.
 */
class AvroBoundsTest {
  private final AvroSerde<ActivationFrame> serde = AvroSerde.of(ActivationFrame.class);
  private final byte[] valid = validFrame();
  private final ActivationFrame frame = serde.deserialize("t", valid);

  /** A small valid activation record, two filter values, as the reproducers here and {@link AvroFuzzTest}'s seeds cut it. */
  static byte[] validFrame() {
    return AvroSerde.of(ActivationFrame.class).serialize("t", ActivationFrame.newBuilder().setProbeId("p").setModel("m")
        .setImageId("i").setLayer("l").setFrameIndex(1).setImageFrame(0).setValues(List.of(1f, 2f)).build());
  }

  /**
   * Where the values array of {@link #validFrame()} starts: count 2, 8 bytes of floats, end 0, then
   * frames (1 byte) and an empty modelVersion (1 byte).
   */
  static int valuesAt(byte[] valid) {
    return valid.length - 12;
  }

  /** The first {@code keep} bytes of the valid record, then {@code tail}. */
  private byte[] cut(int keep, byte[]... tail) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write(valid, 0, keep);
    for (byte[] t : tail) {
      out.write(t, 0, t.length);
    }
    return out.toByteArray();
  }

  private SerializationException refused(byte[] data) {
    try {
      ActivationFrame f = serde.deserialize("tagscope.activations", data);
      throw new AssertionError("decoded " + f);
    } catch (SerializationException e) {
      assertTrue(e.getMessage().contains("tagscope.activations"), e.getMessage());
      return e;
    } catch (OutOfMemoryError e) {
      // not assertThrows: JUnit rethrows an OutOfMemoryError as fatal, and the run would end unexplained
      throw new AssertionError("the decoder allocated what a length prefix claimed: " + e, e);
    }
  }

  @Test
  void aStringLengthOfTwoGigabytesInFifteenBytesIsRefused() {
    // header, then probeId claiming 2^31 - 649 bytes
    byte[] data = cut(10, Seeds.zigZag(2_147_483_000L));
    assertEquals(15, data.length);
    assertTrue(refused(data).getMessage().contains("string length 2147483000 at byte 10 does not fit in the 0 bytes left"));
  }

  @Test
  void anArrayCountOfTwoBillionFloatsIsRefused() {
    // header and the fields before values, then a block count of 2^31 - 649 floats
    int valuesAt = valuesAt(valid);
    byte[] data = cut(valuesAt, Seeds.zigZag(2_147_483_000L));
    assertTrue(refused(data).getMessage().contains("block of 2147483000 items at byte " + valuesAt + " needs at least 4 bytes per item"));
  }

  @Test
  void aNegativeBlockCountWithASmallByteSizeIsRefused() {
    // Avro reads a negative count as -count items plus a byte size, and sizes the array by the count.
    int valuesAt = valuesAt(valid);
    byte[] data = cut(valuesAt, Seeds.zigZag(-1_000_000_000L), Seeds.zigZag(8), new byte[8], new byte[] {0});
    assertTrue(refused(data).getMessage().contains("block of 1000000000 items"));
    refused(cut(valuesAt, Seeds.zigZag(Long.MIN_VALUE)));
  }

  @Test
  void recordsWrittenInBlocksWithByteSizesStillDecode() throws IOException {
    // The blocking encoder writes arrays as negative counts followed by byte sizes: valid, and kept.
    ByteArrayOutputStream body = new ByteArrayOutputStream();
    BinaryEncoder enc = EncoderFactory.get().blockingBinaryEncoder(body, null);
    new SpecificDatumWriter<>(ActivationFrame.class).write(frame, enc);
    enc.flush();
    byte[] blocked = cut(10, body.toByteArray());
    assertTrue(!Arrays.equals(blocked, valid), "the blocking encoder wrote the same bytes; the test proves nothing");
    assertEquals(frame, serde.deserialize("t", blocked));
  }

  @Test
  void anUnknownUnionBranchIsRefused() {
    AvroSerde<DeadLetter> dlq = AvroSerde.of(DeadLetter.class);
    byte[] letter = dlq.serialize("t", DeadLetters.of("s", "e", "t", 0, 0, null, null));
    // the last byte is the value union's branch 0 (null): make it branch 7
    letter[letter.length - 1] = Seeds.zigZag(7)[0];
    SerializationException e = assertThrows(SerializationException.class, () -> dlq.deserialize("tagscope.dlq", letter));
    assertTrue(e.getMessage().contains("union branch 7"), e.getMessage());
  }
}
