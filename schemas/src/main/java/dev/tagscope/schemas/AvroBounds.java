package dev.tagscope.schemas;

import java.io.EOFException;
import java.io.IOException;
import java.util.Map;
import org.apache.avro.Schema;

/**
 * Checks a single-object encoded record against its writer schema before Avro decodes it, so
 * that what Avro allocates is bounded by the bytes that came in. Avro 1.12 allocates a string, a
 * bytes value or an array's backing store at the length its prefix claims (its own limits, the
 * {@code org.apache.avro.limits.*} properties, default to 2<sup>31</sup> - 9) before reading the
 * content: a 15-byte record whose first string claimed 2 GB raised {@link OutOfMemoryError}
 * rather than a decoding error, and a Streams thread died of it.
 *
 * <p>Here every string and bytes length must fit in the bytes left, and every array or map block
 * count must fit at the smallest encoded size of its items (an item that can take no bytes at
 * all counts as one byte; Tagscope's schemas have none). The walk allocates nothing. What Avro
 * checks itself (the header, an unknown fingerprint, overlong varints of ints, enum symbols) is
 * left to it: where this walk and Avro disagree Avro refuses first.
 */
final class AvroBounds {
  private final byte[] data;
  private int pos;

  private AvroBounds(byte[] data, int pos) {
    this.data = data;
    this.pos = pos;
  }

  /**
   * @param writers writer schemas by their CRC-64-AVRO parsing fingerprint
   * @param data a single-object encoded record: {@code C3 01}, the 8-byte little-endian fingerprint, the body
   * @throws IOException naming the byte offset, when a length or count claims more than the bytes left
   */
  static void check(Map<Long, Schema> writers, byte[] data) throws IOException {
    if (data.length < 10 || data[0] != (byte) 0xC3 || data[1] != 0x01) {
      return; // not single-object encoding: Avro says so
    }
    long fingerprint = 0;
    for (int i = 9; i >= 2; i--) {
      fingerprint = (fingerprint << 8) | (data[i] & 0xff);
    }
    Schema writer = writers.get(fingerprint);
    if (writer != null) {
      new AvroBounds(data, 10).walk(writer);
    }
  }

  private void walk(Schema s) throws IOException {
    switch (s.getType()) {
      case NULL -> { }
      case BOOLEAN -> skip(1, "a boolean");
      case INT, LONG, ENUM -> readLong();
      case FLOAT -> skip(4, "a float");
      case DOUBLE -> skip(8, "a double");
      case FIXED -> skip(s.getFixedSize(), "a fixed of " + s.getFixedSize() + " bytes");
      case STRING, BYTES -> {
        int at = pos;
        long len = readLong();
        if (len < 0 || len > data.length - pos) {
          throw new IOException(s.getType().getName() + " length " + len + " at byte " + at + " does not fit in the "
              + (data.length - pos) + " bytes left");
        }
        pos += (int) len;
      }
      case ARRAY -> blocks(s.getElementType(), null);
      case MAP -> blocks(s.getValueType(), Schema.create(Schema.Type.STRING));
      case UNION -> {
        int at = pos;
        long branch = readLong();
        if (branch < 0 || branch >= s.getTypes().size()) {
          throw new IOException("union branch " + branch + " at byte " + at + " is not one of the " + s.getTypes().size());
        }
        walk(s.getTypes().get((int) branch));
      }
      case RECORD -> {
        for (Schema.Field f : s.getFields()) {
          walk(f.schema());
        }
      }
    }
  }

  /** Array or map blocks: a count, a byte size when the count is negative, the items; a count of 0 ends them. */
  private void blocks(Schema item, Schema key) throws IOException {
    long min = Math.max(1, minSize(item, 0) + (key == null ? 0 : 1));
    while (true) {
      int at = pos;
      long count = readLong();
      if (count == 0) {
        return;
      }
      if (count < 0) {
        if (count == Long.MIN_VALUE) {
          throw new IOException("block count " + count + " at byte " + at + " is out of range");
        }
        count = -count;
        long size = readLong();
        if (size < 0 || size > data.length - pos) {
          throw new IOException("block size " + size + " at byte " + at + " does not fit in the " + (data.length - pos) + " bytes left");
        }
      }
      if (count > (data.length - pos) / min) {
        throw new IOException("block of " + count + " items at byte " + at + " needs at least " + min + " bytes per item, "
            + (data.length - pos) + " bytes are left");
      }
      if (key == null && (item.getType() == Schema.Type.FLOAT || item.getType() == Schema.Type.DOUBLE)) {
        pos += (int) (count * min); // fits: checked just above
        continue;
      }
      for (long i = 0; i < count; i++) {
        if (key != null) {
          walk(key);
        }
        walk(item);
      }
    }
  }

  /** The fewest bytes a value of {@code s} can be encoded in. */
  private static long minSize(Schema s, int depth) {
    if (depth > 32) {
      return 0; // a recursive schema: no bound from here down
    }
    return switch (s.getType()) {
      case NULL -> 0;
      case BOOLEAN, INT, LONG, ENUM, STRING, BYTES, ARRAY, MAP -> 1;
      case FLOAT -> 4;
      case DOUBLE -> 8;
      case FIXED -> s.getFixedSize();
      case UNION -> 1 + s.getTypes().stream().mapToLong(t -> minSize(t, depth + 1)).min().orElse(0);
      case RECORD -> s.getFields().stream().mapToLong(f -> minSize(f.schema(), depth + 1)).sum();
    };
  }

  private void skip(int n, String what) throws IOException {
    if (n > data.length - pos) {
      throw new EOFException(what + " at byte " + pos + " is cut short: " + (data.length - pos) + " bytes left");
    }
    pos += n;
  }

  /** Avro's zig-zag varint, at most 10 bytes. */
  private long readLong() throws IOException {
    int at = pos;
    long raw = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos >= data.length) {
        throw new EOFException("a number at byte " + at + " is cut short by the end of the record");
      }
      int b = data[pos++] & 0xff;
      raw |= (long) (b & 0x7f) << shift;
      if ((b & 0x80) == 0) {
        return (raw >>> 1) ^ -(raw & 1);
      }
    }
    throw new IOException("a number at byte " + at + " has more than 10 varint bytes");
  }
}
