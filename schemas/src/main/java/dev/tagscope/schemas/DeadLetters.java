package dev.tagscope.schemas;

import java.nio.charset.StandardCharsets;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;

/**
 * Builds dead letters (DESIGN.md section 2): the original key and value bytes, untouched,
 * with the stage, the reason and the source coordinates both in the {@link DeadLetter}
 * value and in record headers, so {@code kcat -J} shows why without decoding Avro.
 */
public final class DeadLetters {
  private DeadLetters() {}

  /**
   * Counter of records sent to {@code tagscope.dlq}, tagged {@code stage} (the service that refused
   * them); registered by each stage that dead-letters (the inference worker, the Streams application).
   */
  public static final String RECORDS_METER = "tagscope.dlq.records";

  /** Header names on {@code tagscope.dlq} records. */
  public static final String HEADER_STAGE = "tagscope.stage";
  public static final String HEADER_ERROR = "tagscope.error";
  public static final String HEADER_TOPIC = "tagscope.source.topic";
  public static final String HEADER_PARTITION = "tagscope.source.partition";
  public static final String HEADER_OFFSET = "tagscope.source.offset";

  /**
   * The dead-letter value for a refused record.
   *
   * @param stage the refusing stage, e.g. {@code "spectral-stream"}
   * @param error why, in words a user can act on; control characters (a newline in a layer or
   *     probe name quoted from the record, say) are written as escapes, so a reason cannot forge
   *     lines in a log or a header reader's output
   * @param topic source topic
   * @param partition source partition
   * @param offset source offset
   * @param key original key bytes (may be null)
   * @param value original value bytes (may be null)
   * @return the value to send to {@link Topics#DLQ}
   */
  public static DeadLetter of(String stage, String error, String topic, int partition, long offset, byte[] key, byte[] value) {
    return DeadLetter.newBuilder()
        .setStage(stage)
        .setError(error == null ? "unknown error" : printable(error))
        .setSourceTopic(topic)
        .setSourcePartition(partition)
        .setSourceOffset(offset)
        .setTimestampMs(System.currentTimeMillis())
        .setKey(key == null ? null : java.nio.ByteBuffer.wrap(key))
        .setValue(value == null ? null : java.nio.ByteBuffer.wrap(value))
        .build();
  }

  /**
   * A reason as one printable line: every ISO control character becomes an escape ({@code \n},
   * {@code \r}, {@code \t}, else a backslash, u and four hex digits).
   *
   * @param text any text
   * @return the text with its control characters escaped
   */
  public static String printable(String text) {
    StringBuilder b = null;
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (!Character.isISOControl(c)) {
        if (b != null) {
          b.append(c);
        }
        continue;
      }
      if (b == null) {
        b = new StringBuilder(text.length() + 8).append(text, 0, i);
      }
      switch (c) {
        case '\n' -> b.append("\\n");
        case '\r' -> b.append("\\r");
        case '\t' -> b.append("\\t");
        default -> b.append(String.format("\\u%04x", (int) c));
      }
    }
    return b == null ? text : b.toString();
  }

  /**
   * Headers that repeat the dead letter's reason and source in plain UTF-8 text.
   *
   * @param letter the dead letter
   * @return new headers
   */
  public static Headers headers(DeadLetter letter) {
    RecordHeaders h = new RecordHeaders();
    h.add(HEADER_STAGE, utf8(letter.getStage()));
    h.add(HEADER_ERROR, utf8(letter.getError()));
    h.add(HEADER_TOPIC, utf8(letter.getSourceTopic()));
    h.add(HEADER_PARTITION, utf8(Integer.toString(letter.getSourcePartition())));
    h.add(HEADER_OFFSET, utf8(Long.toString(letter.getSourceOffset())));
    return h;
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
