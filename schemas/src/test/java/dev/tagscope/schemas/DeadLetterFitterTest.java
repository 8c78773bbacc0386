package dev.tagscope.schemas;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Random;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.record.internal.AbstractRecords;
import org.apache.kafka.common.record.internal.CompressionType;
import org.apache.kafka.common.record.internal.RecordBatch;
import org.junit.jupiter.api.Test;

class DeadLetterFitterTest {
  private static final Function<DeadLetter, byte[]> SERIALIZER =
      l -> Topics.DLQ.valueSerde().serializer().serialize(Topics.DLQ.name(), l);
  private static final Pattern VALUE_NOTE = Pattern.compile("value keeps the first (\\d+) of (\\d+) bytes");
  private static final Pattern KEY_NOTE = Pattern.compile("key keeps the first (\\d+) of (\\d+) bytes");

  private static byte[] random(int n, long seed) {
    byte[] b = new byte[n];
    new Random(seed).nextBytes(b);
    return b;
  }

  private static DeadLetter letter(String reason, byte[] key, byte[] value) {
    return DeadLetters.of("inference-worker", reason, "tagscope.stimuli", 3, 12345L, key, value);
  }

  private static byte[] bytes(ByteBuffer b) {
    byte[] out = new byte[b.remaining()];
    b.duplicate().get(out);
    return out;
  }

  private static String header(Headers h, String name) {
    Header x = h.lastHeader(name);
    return x == null ? null : new String(x.value(), StandardCharsets.UTF_8);
  }

  /** Bytes of one record the way a consumer sees them: key, value and header keys and values. */
  private static int payloadBytes(byte[] key, byte[] value, Headers headers) {
    int n = (key == null ? 0 : key.length) + value.length;
    for (Header h : headers) {
      n += h.key().getBytes(StandardCharsets.UTF_8).length + h.value().length;
    }
    return n;
  }

  @Test
  void sizeBoundIsWhatTheFormatSaysAndNeverBelowKafkasOwnEstimate() {
    // one-record batch: 61 batch header + 21 record header + key, value and header count as 5-byte varints
    assertEquals(61 + 21 + 5 + 5 + 10 + 5, DeadLetterFitter.recordSizeUpperBound(null, new byte[10], null));
    Headers h = new RecordHeaders().add("ab", new byte[3]);
    assertEquals(61 + 21 + (5 + 4) + (5 + 100) + 5 + (5 + 2) + (5 + 3),
        DeadLetterFitter.recordSizeUpperBound(new byte[4], new byte[100], h));
    Random rnd = new Random(7);
    for (int i = 0; i < 200; i++) {
      byte[] key = rnd.nextBoolean() ? null : new byte[rnd.nextInt(300)];
      byte[] value = new byte[rnd.nextInt(1 << (1 + rnd.nextInt(20)))];
      RecordHeaders hs = new RecordHeaders();
      for (int j = rnd.nextInt(4); j > 0; j--) {
        hs.add("h" + "x".repeat(rnd.nextInt(200)), new byte[rnd.nextInt(300)]);
      }
      int kafka = AbstractRecords.estimateSizeInBytesUpperBound(RecordBatch.CURRENT_MAGIC_VALUE, CompressionType.NONE,
          key, value, hs.toArray());
      assertTrue(DeadLetterFitter.recordSizeUpperBound(key, value, hs) >= kafka, "case " + i);
    }
  }

  @Test
  void aLetterThatFitsIsSentAsItIs() {
    byte[] key = "p1".getBytes(StandardCharsets.UTF_8);
    byte[] value = random(500, 1);
    DeadLetter l = letter("null value", key, value);
    DeadLetterFitter.Fitted f = DeadLetterFitter.fit(l, SERIALIZER, 1 << 20);
    assertTrue(f.fits());
    assertFalse(f.truncated());
    assertSame(l, f.letter());
    assertArrayEquals(key, f.key());
    assertArrayEquals(SERIALIZER.apply(l), f.value());
    assertNull(f.headers().lastHeader(DeadLetterFitter.HEADER_TRUNCATED));
    assertEquals("null value", header(f.headers(), DeadLetters.HEADER_ERROR));
  }

  @Test
  void anOversizedValueKeepsTheLongestPrefixThatFitsAndSaysSo() {
    byte[] key = "probe-7".getBytes(StandardCharsets.UTF_8);
    byte[] value = random(20_000, 2);
    String reason = "cannot decode StimulusFrame from topic tagscope.stimuli (20000 bytes)";
    int limit = 8192;
    DeadLetterFitter.Fitted f = DeadLetterFitter.fit(letter(reason, key, value), SERIALIZER, limit);

    assertTrue(f.fits());
    assertTrue(f.truncated());
    assertTrue(f.sizeUpperBound() <= limit, f.sizeUpperBound() + " > " + limit);
    assertTrue(payloadBytes(f.key(), f.value(), f.headers()) <= limit);
    DeadLetter sent = Topics.DLQ.valueSerde().deserializer().deserialize(Topics.DLQ.name(), f.value());
    byte[] kept = bytes(sent.getValue());
    assertArrayEquals(Arrays.copyOf(value, kept.length), kept, "a prefix of the original value");
    assertTrue(kept.length > limit / 2, "most of the room goes to the value: " + kept.length);
    // the longest prefix that fits: one more byte (and maybe one more digit in the note) would overflow
    assertTrue(limit - f.sizeUpperBound() <= 2, "slack " + (limit - f.sizeUpperBound()));

    assertTrue(sent.getError().startsWith(reason), sent.getError());
    Matcher m = VALUE_NOTE.matcher(sent.getError());
    assertTrue(m.find(), sent.getError());
    assertEquals(kept.length, Integer.parseInt(m.group(1)));
    assertEquals(20_000, Integer.parseInt(m.group(2)));
    assertTrue(sent.getError().contains("truncated to fit 8192 bytes"), sent.getError());
    assertArrayEquals(key, f.key(), "the key is small and kept");
    assertArrayEquals(key, bytes(sent.getKey()));
    assertEquals("inference-worker", sent.getStage());
    assertEquals("tagscope.stimuli", sent.getSourceTopic());
    assertEquals(3, sent.getSourcePartition());
    assertEquals(12345L, sent.getSourceOffset());
    assertEquals(sent.getError(), header(f.headers(), DeadLetters.HEADER_ERROR));
    assertEquals("12345", header(f.headers(), DeadLetters.HEADER_OFFSET));
    assertEquals("value", header(f.headers(), DeadLetterFitter.HEADER_TRUNCATED));
    assertEquals("20000", header(f.headers(), DeadLetterFitter.HEADER_ORIGINAL_VALUE_BYTES));
    assertNull(f.headers().lastHeader(DeadLetterFitter.HEADER_ORIGINAL_KEY_BYTES));
  }

  @Test
  void whenTheValueIsNotEnoughTheKeyAndThenTheReasonAreCut() {
    byte[] key = random(3000, 3);
    byte[] value = random(5000, 4);
    DeadLetterFitter.Fitted f = DeadLetterFitter.fit(letter("bad frame", key, value), SERIALIZER, 1024);
    assertTrue(f.fits());
    assertTrue(f.sizeUpperBound() <= 1024);
    DeadLetter sent = Topics.DLQ.valueSerde().deserializer().deserialize(Topics.DLQ.name(), f.value());
    assertEquals(0, sent.getValue().remaining());
    byte[] keptKey = bytes(sent.getKey());
    assertTrue(keptKey.length > 0 && keptKey.length < 3000, "key prefix " + keptKey.length);
    assertArrayEquals(Arrays.copyOf(key, keptKey.length), keptKey);
    assertArrayEquals(keptKey, f.key(), "record key and letter key are the same prefix");
    Matcher m = KEY_NOTE.matcher(sent.getError());
    assertTrue(m.find(), sent.getError());
    assertEquals(keptKey.length, Integer.parseInt(m.group(1)));
    assertEquals("value,key", header(f.headers(), DeadLetterFitter.HEADER_TRUNCATED));
    assertEquals("3000", header(f.headers(), DeadLetterFitter.HEADER_ORIGINAL_KEY_BYTES));
    assertEquals("5000", header(f.headers(), DeadLetterFitter.HEADER_ORIGINAL_VALUE_BYTES));

    String longReason = "why ".repeat(2000);
    DeadLetterFitter.Fitted r = DeadLetterFitter.fit(letter(longReason, null, value), SERIALIZER, 1500);
    assertTrue(r.fits());
    assertTrue(r.sizeUpperBound() <= 1500);
    assertNull(r.key());
    DeadLetter rs = Topics.DLQ.valueSerde().deserializer().deserialize(Topics.DLQ.name(), r.value());
    assertTrue(rs.getError().startsWith("why why"), rs.getError());
    assertTrue(rs.getError().contains("reason keeps the first"), rs.getError());
    assertTrue(rs.getError().contains("of 8000 characters"), rs.getError());
    assertEquals("value,error", header(r.headers(), DeadLetterFitter.HEADER_TRUNCATED));
  }

  @Test
  void aLimitBelowTheBareMetadataIsReportedNotHidden() {
    DeadLetterFitter.Fitted f = DeadLetterFitter.fit(letter("x", null, new byte[100]), SERIALIZER, 50);
    assertFalse(f.fits());
    assertTrue(f.sizeUpperBound() > 50);
    assertThrows(IllegalArgumentException.class, () -> DeadLetterFitter.fit(letter("x", null, null), SERIALIZER, 0));
  }
}
