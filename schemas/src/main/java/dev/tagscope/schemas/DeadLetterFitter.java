package dev.tagscope.schemas;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Function;
import java.util.function.IntFunction;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;

/**
 * Cuts a dead letter down so that its record fits a size limit. A dead letter carries the
 * refused record's bytes, so a record that was near the limit becomes, with the reason and the
 * source coordinates added (twice: in the Avro value and in the headers), one the producer
 * ({@code max.request.size}) or the broker ({@code max.message.bytes}) refuses. Such a refusal
 * fails the worker's whole transaction, and the retry builds the same dead letter again, so
 * without a cut the worker would loop on it for ever.
 *
 * <p>What goes first: the value (a prefix is kept), then the key (a prefix, in the
 * {@link DeadLetter} and as the record key), then the end of the reason. The stage and the
 * source topic, partition and offset are always kept, so the full record can still be read from
 * the source topic while its retention lasts. A cut letter says so in its reason, e.g.
 * {@code "... [dead letter truncated to fit 8192 bytes: value keeps the first 7000 of 20000 bytes]"},
 * and in the headers {@value #HEADER_TRUNCATED} (what was cut, e.g. {@code "value"}),
 * {@value #HEADER_ORIGINAL_VALUE_BYTES} and {@value #HEADER_ORIGINAL_KEY_BYTES} (sizes before
 * the cut, decimal). A letter that fits is returned unchanged, without these headers.
 *
 * <p>Sizes are upper bounds of what Kafka's producer checks against {@code max.request.size}
 * (a record batch of this one record, uncompressed: 61 bytes of batch header, 21 of record
 * header, and every length as a 5-byte varint), so a letter that fits here passes the
 * producer's check; the broker's check is on the same batch.
 */
public final class DeadLetterFitter {
  /** Header on a cut dead letter: what was cut, a comma list of {@code value}, {@code key}, {@code error}. */
  public static final String HEADER_TRUNCATED = "tagscope.truncated";
  /** Header on a cut dead letter: the size of the original value, in bytes (decimal text). */
  public static final String HEADER_ORIGINAL_VALUE_BYTES = "tagscope.original.value.bytes";
  /** Header on a dead letter whose key was cut: the size of the original key, in bytes (decimal text). */
  public static final String HEADER_ORIGINAL_KEY_BYTES = "tagscope.original.key.bytes";

  // Kafka's DefaultRecordBatch.RECORD_BATCH_OVERHEAD and DefaultRecord.MAX_RECORD_OVERHEAD (record
  // format v2); those classes are internal to kafka-clients, so the numbers are repeated here.
  private static final int BATCH_OVERHEAD = 61;
  private static final int MAX_RECORD_OVERHEAD = 21;
  private static final int MAX_VARINT = 5;

  private DeadLetterFitter() {}

  /**
   * A dead letter ready to send.
   *
   * @param letter the dead letter as sent (cut or not)
   * @param key the record key (the original key, or its kept prefix); may be null
   * @param value the serialised {@code letter}
   * @param headers the record headers: {@link DeadLetters#headers(DeadLetter)} plus, when cut, the
   *     truncation headers
   * @param sizeUpperBound upper bound of the record's size as the producer counts it, in bytes
   * @param truncated whether anything was cut
   * @param fits whether {@code sizeUpperBound} is within the limit; false only when even the
   *     stage, the coordinates and an empty reason exceed it
   */
  public record Fitted(DeadLetter letter, byte[] key, byte[] value, Headers headers, int sizeUpperBound,
                       boolean truncated, boolean fits) {}

  /**
   * Returns the dead letter as it is when its record fits {@code maxBytes}, else a cut copy that
   * keeps as much of the value, then of the key, then of the reason as fits.
   *
   * @param letter the dead letter, as built by {@link DeadLetters#of}
   * @param serializer turns a dead letter into the record value (the {@code tagscope.dlq} value serde)
   * @param maxBytes the largest record allowed, in bytes (upper bound as in {@link #recordSizeUpperBound})
   * @return the record parts; {@link Fitted#fits()} is false when nothing can be cut far enough
   *     (the caller may still send it and let Kafka refuse it)
   * @throws IllegalArgumentException when {@code maxBytes} is not positive
   * @throws NullPointerException when {@code letter} or {@code serializer} is null
   */
  public static Fitted fit(DeadLetter letter, Function<DeadLetter, byte[]> serializer, int maxBytes) {
    Objects.requireNonNull(letter, "letter");
    Objects.requireNonNull(serializer, "serializer");
    if (maxBytes <= 0) {
      throw new IllegalArgumentException("maxBytes must be positive, got " + maxBytes);
    }
    Cutter c = new Cutter(letter, serializer, maxBytes);
    Fitted whole = c.build(c.keyLength, c.valueLength, c.error.length());
    if (whole.fits()) {
      return whole;
    }
    int errorLength = c.error.length();
    // The size grows with each kept length (the note's digits included), so each cut is a binary search.
    int value = largestFitting(c.valueLength, v -> c.build(c.keyLength, v, errorLength));
    if (value >= 0) {
      return c.build(c.keyLength, value, errorLength);
    }
    int key = largestFitting(c.keyLength, k -> c.build(k, 0, errorLength));
    if (key >= 0) {
      return c.build(key, 0, errorLength);
    }
    int error = largestFitting(errorLength, e -> c.build(0, 0, e));
    return c.build(0, 0, Math.max(error, 0));
  }

  /**
   * Upper bound of the bytes Kafka's producer counts for a record against
   * {@code max.request.size}: a one-record batch, record format v2, no compression.
   *
   * @param key record key (may be null)
   * @param value record value (may be null)
   * @param headers record headers (may be null)
   * @return bytes
   */
  public static int recordSizeUpperBound(byte[] key, byte[] value, Headers headers) {
    long size = BATCH_OVERHEAD + MAX_RECORD_OVERHEAD;
    size += MAX_VARINT + (key == null ? 0 : key.length);
    size += MAX_VARINT + (value == null ? 0 : value.length);
    size += MAX_VARINT;
    if (headers != null) {
      for (Header h : headers) {
        size += MAX_VARINT + h.key().getBytes(StandardCharsets.UTF_8).length;
        size += MAX_VARINT + (h.value() == null ? 0 : h.value().length);
      }
    }
    return (int) Math.min(Integer.MAX_VALUE, size);
  }

  /**
   * The largest record a producer with these settings accepts, in bytes: {@code max.request.size}
   * (Kafka's default 1 MiB where unset), and never more than {@code buffer.memory} (KafkaProducer
   * refuses a record above either before sending it). Compare with {@link #recordSizeUpperBound}.
   *
   * @param producerProps the producer's settings (values as text or typed, as Kafka takes them)
   * @return the limit, at least 1
   * @throws org.apache.kafka.common.config.ConfigException when either setting is not a number
   */
  public static int producerRecordLimit(Map<String, ?> producerProps) {
    Map<String, Object> defaults = ProducerConfig.configDef().defaultValues();
    Object request = producerProps.get(ProducerConfig.MAX_REQUEST_SIZE_CONFIG);
    Object buffer = producerProps.get(ProducerConfig.BUFFER_MEMORY_CONFIG);
    int maxRequest = (Integer) ConfigDef.parseType(ProducerConfig.MAX_REQUEST_SIZE_CONFIG,
        request != null ? request : defaults.get(ProducerConfig.MAX_REQUEST_SIZE_CONFIG), ConfigDef.Type.INT);
    long bufferMemory = (Long) ConfigDef.parseType(ProducerConfig.BUFFER_MEMORY_CONFIG,
        buffer != null ? buffer : defaults.get(ProducerConfig.BUFFER_MEMORY_CONFIG), ConfigDef.Type.LONG);
    return (int) Math.max(1, Math.min(maxRequest, bufferMemory));
  }

  /** The largest n in [0, max] whose build fits, or -1 when even 0 does not. */
  private static int largestFitting(int max, IntFunction<Fitted> build) {
    if (!build.apply(0).fits()) {
      return -1;
    }
    int lo = 0;
    int hi = max;
    while (lo < hi) {
      int mid = lo + (hi - lo + 1) / 2;
      if (build.apply(mid).fits()) {
        lo = mid;
      } else {
        hi = mid - 1;
      }
    }
    return lo;
  }

  /** Builds copies of one letter with given kept lengths. */
  private static final class Cutter {
    final DeadLetter letter;
    final Function<DeadLetter, byte[]> serializer;
    final int maxBytes;
    final byte[] key;
    final byte[] value;
    final int keyLength;
    final int valueLength;
    final String error;

    Cutter(DeadLetter letter, Function<DeadLetter, byte[]> serializer, int maxBytes) {
      this.letter = letter;
      this.serializer = serializer;
      this.maxBytes = maxBytes;
      this.key = bytes(letter.getKey());
      this.value = bytes(letter.getValue());
      this.keyLength = key == null ? 0 : key.length;
      this.valueLength = value == null ? 0 : value.length;
      this.error = letter.getError();
    }

    Fitted build(int keepKey, int keepValue, int keepError) {
      boolean cutKey = keepKey < keyLength;
      boolean cutValue = keepValue < valueLength;
      boolean cutError = keepError < error.length();
      if (!cutKey && !cutValue && !cutError) {
        byte[] serialized = serializer.apply(letter);
        Headers headers = DeadLetters.headers(letter);
        int size = recordSizeUpperBound(key, serialized, headers);
        return new Fitted(letter, key, serialized, headers, size, false, size <= maxBytes);
      }
      if (cutError && keepError > 0 && Character.isHighSurrogate(error.charAt(keepError - 1))) {
        keepError--; // never split a surrogate pair: the reason must stay valid UTF-16 and UTF-8
      }
      List<String> cut = new ArrayList<>();
      StringBuilder reason = new StringBuilder(keepError + 120);
      reason.append(error, 0, keepError);
      if (cutError) {
        reason.append("...");
      }
      reason.append(" [dead letter truncated to fit ").append(maxBytes).append(" bytes:");
      String sep = " ";
      if (cutValue) {
        cut.add("value");
        reason.append(sep).append("value keeps the first ").append(keepValue).append(" of ").append(valueLength)
            .append(" bytes");
        sep = "; ";
      }
      if (cutKey) {
        cut.add("key");
        reason.append(sep).append("key keeps the first ").append(keepKey).append(" of ").append(keyLength)
            .append(" bytes");
        sep = "; ";
      }
      if (cutError) {
        cut.add("error");
        reason.append(sep).append("reason keeps the first ").append(keepError).append(" of ").append(error.length())
            .append(" characters");
      }
      reason.append(']');
      byte[] recordKey = key == null ? null : cutKey ? Arrays.copyOf(key, keepKey) : key;
      DeadLetter cutLetter = DeadLetter.newBuilder(letter)
          .setError(reason.toString())
          .setKey(recordKey == null ? null : ByteBuffer.wrap(recordKey))
          .setValue(value == null ? null : ByteBuffer.wrap(value, 0, keepValue).slice())
          .build();
      byte[] serialized = serializer.apply(cutLetter);
      Headers headers = DeadLetters.headers(cutLetter);
      headers.add(HEADER_TRUNCATED, String.join(",", cut).getBytes(StandardCharsets.UTF_8));
      if (value != null) {
        headers.add(HEADER_ORIGINAL_VALUE_BYTES, Integer.toString(valueLength).getBytes(StandardCharsets.UTF_8));
      }
      if (cutKey) {
        headers.add(HEADER_ORIGINAL_KEY_BYTES, Integer.toString(keyLength).getBytes(StandardCharsets.UTF_8));
      }
      int size = recordSizeUpperBound(recordKey, serialized, headers);
      return new Fitted(cutLetter, recordKey, serialized, headers, size, true, size <= maxBytes);
    }

    private static byte[] bytes(ByteBuffer b) {
      if (b == null) {
        return null;
      }
      byte[] out = new byte[b.remaining()];
      b.duplicate().get(out);
      return out;
    }
  }
}
