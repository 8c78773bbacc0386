package dev.tagscope.schemas.fuzz;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.function.IntUnaryOperator;
import java.util.stream.Collectors;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.Tuple;

/**
 * Byte-level mutations of valid inputs, in the manner of a mutation fuzzer: take a valid seed,
 * apply one to four edits (flip a bit, set a byte to an odd value, insert or overwrite a token of
 * the format's dictionary, insert random bytes, delete, duplicate, truncate). The dictionary
 * carries what a format's decoder trusts most: length prefixes that claim 2<sup>31</sup> items,
 * magic numbers, markers. Positions and lengths shrink towards 0, edits towards fewer.
 */
public final class Mutations {
  private Mutations() {}

  /**
   * A valid input to start from.
   *
   * @param name shown in the input's {@code how}
   * @param bytes the valid encoding
   */
  public record Seed(String name, byte[] bytes) {}

  /** A copy of {@code in} with the byte at {@code pos} (modulo the length) changed by {@code op}. */
  private static byte[] poke(byte[] in, int pos, IntUnaryOperator op) {
    if (in.length == 0) {
      return in;
    }
    byte[] out = in.clone();
    out[pos % in.length] = (byte) op.applyAsInt(out[pos % in.length]);
    return out;
  }

  /** One edit of a byte array; positions are taken modulo the array's length. */
  public sealed interface Edit {
    /** @return the edited copy */
    byte[] apply(byte[] in);
  }

  record Flip(int pos, int bit) implements Edit {
    public byte[] apply(byte[] in) {
      return poke(in, pos, b -> b ^ (1 << bit));
    }

    @Override
    public String toString() {
      return "flip(" + pos + "." + bit + ")";
    }
  }

  record SetByte(int pos, byte value) implements Edit {
    public byte[] apply(byte[] in) {
      return poke(in, pos, b -> value);
    }

    @Override
    public String toString() {
      return "set(" + pos + ", " + String.format("0x%02x", value) + ")";
    }
  }

  /** Inserts {@code token} before {@code pos}, or writes it over the bytes from {@code pos} when {@code overwrite}. */
  record Token(int pos, byte[] token, boolean overwrite) implements Edit {
    public byte[] apply(byte[] in) {
      int at = pos % (in.length + 1);
      if (overwrite) {
        byte[] out = Arrays.copyOf(in, Math.max(in.length, at + token.length));
        System.arraycopy(token, 0, out, at, token.length);
        return out;
      }
      byte[] out = new byte[in.length + token.length];
      System.arraycopy(in, 0, out, 0, at);
      System.arraycopy(token, 0, out, at, token.length);
      System.arraycopy(in, at, out, at + token.length, in.length - at);
      return out;
    }

    @Override
    public String toString() {
      return (overwrite ? "overwrite(" : "insert(") + pos + ", 0x" + HexFormat.of().formatHex(token) + ")";
    }
  }

  record Delete(int pos, int length) implements Edit {
    public byte[] apply(byte[] in) {
      if (in.length == 0) {
        return in;
      }
      int at = pos % in.length;
      int n = Math.min(length, in.length - at);
      byte[] out = new byte[in.length - n];
      System.arraycopy(in, 0, out, 0, at);
      System.arraycopy(in, at + n, out, at, in.length - at - n);
      return out;
    }

    @Override
    public String toString() {
      return "delete(" + pos + ", " + length + ")";
    }
  }

  /** Copies {@code length} bytes from {@code pos} and inserts the copy right after them. */
  record Duplicate(int pos, int length) implements Edit {
    public byte[] apply(byte[] in) {
      if (in.length == 0) {
        return in;
      }
      int at = pos % in.length;
      int n = Math.min(length, in.length - at);
      return new Token(at + n, Arrays.copyOfRange(in, at, at + n), false).apply(in);
    }

    @Override
    public String toString() {
      return "duplicate(" + pos + ", " + length + ")";
    }
  }

  record Truncate(int pos) implements Edit {
    public byte[] apply(byte[] in) {
      return Arrays.copyOf(in, pos % (in.length + 1));
    }

    @Override
    public String toString() {
      return "truncate(" + pos + ")";
    }
  }

  /**
   * Mutated seeds.
   *
   * @param seeds valid inputs, at least one
   * @param dictionary tokens of the format (may be empty)
   * @return inputs made of one seed and one to four edits
   */
  public static Arbitrary<FuzzInput> of(List<Seed> seeds, List<byte[]> dictionary) {
    Arbitrary<List<Edit>> edits = edit(dictionary).list().ofMinSize(1).ofMaxSize(4);
    return Combinators.combine(Arbitraries.of(seeds), edits).as((seed, es) -> {
      byte[] b = seed.bytes();
      for (Edit e : es) {
        b = e.apply(b);
      }
      return new FuzzInput(seed.name() + " " + es.stream().map(Edit::toString).collect(Collectors.joining(" ")), b);
    });
  }

  /**
   * Random bytes after a fixed prefix: a valid header with a body no encoder wrote.
   *
   * @param name shown in the input's {@code how}
   * @param prefix bytes every input starts with (may be empty)
   * @param maxBody the longest body
   * @return the inputs
   */
  public static Arbitrary<FuzzInput> randomAfter(String name, byte[] prefix, int maxBody) {
    return Arbitraries.bytes().array(byte[].class).ofMaxSize(maxBody).map(body -> {
      byte[] b = Arrays.copyOf(prefix, prefix.length + body.length);
      System.arraycopy(body, 0, b, prefix.length, body.length);
      return new FuzzInput(name, b);
    });
  }

  /** One edit; the dictionary's tokens are weighted up, they are what finds length bugs. */
  static Arbitrary<Edit> edit(List<byte[]> dictionary) {
    Arbitrary<Integer> pos = Arbitraries.integers().between(0, 1 << 16);
    Arbitrary<Integer> len = Arbitraries.integers().between(1, 64);
    Arbitrary<Byte> odd = Arbitraries.oneOf(Arbitraries.of((byte) 0, (byte) 0xff, (byte) 0x7f, (byte) 0x80, (byte) 1),
        Arbitraries.bytes());
    Arbitrary<byte[]> random = Arbitraries.bytes().array(byte[].class).ofMinSize(1).ofMaxSize(16);
    Arbitrary<byte[]> token = dictionary.isEmpty() ? random : Arbitraries.of(dictionary);
    return Arbitraries.frequencyOf(
        Tuple.of(2, Combinators.combine(pos, Arbitraries.integers().between(0, 7)).as(Flip::new)),
        Tuple.of(2, Combinators.combine(pos, odd).as(SetByte::new)),
        Tuple.of(4, Combinators.combine(pos, token, Arbitraries.of(false, true)).as(Token::new)),
        Tuple.of(1, Combinators.combine(pos, random).as((p, r) -> new Token(p, r, false))),
        Tuple.of(2, Combinators.combine(pos, len).as(Delete::new)),
        Tuple.of(1, Combinators.combine(pos, len).as(Duplicate::new)),
        Tuple.of(1, pos.map(Truncate::new)));
  }

  /**
   * Big-endian 32-bit encodings of sizes a header should never be trusted with.
   *
   * @return tokens of 4 bytes each
   */
  public static List<byte[]> hugeInt32BigEndian() {
    return HUGE.stream().map(v -> ByteBuffer.allocate(4).putInt((int) (long) v).array()).toList();
  }

  /**
   * Avro zig-zag varint encodings of lengths and counts a decoder should never be trusted with.
   *
   * @return tokens of 1 to 10 bytes each
   */
  public static List<byte[]> hugeAvroVarints() {
    return HUGE.stream().map(Mutations::zigZag).toList();
  }

  /** Sizes and counts that are absurd for a few bytes of input, or negative. */
  private static final List<Long> HUGE = List.of(0x7fff_fff7L, 0x7fff_ffffL, 0x8000_0000L, 0xffff_ffffL, 0x4000_0000L,
      1_000_000_000L, 100_000_000L, 65_536L, -1L, -2L, -(1L << 31), Long.MAX_VALUE, Long.MIN_VALUE);

  /**
   * @param v a long
   * @return its Avro zig-zag varint encoding
   */
  public static byte[] zigZag(long v) {
    long z = (v << 1) ^ (v >> 63);
    ByteBuffer out = ByteBuffer.allocate(10);
    while ((z & ~0x7fL) != 0) {
      out.put((byte) ((z & 0x7f) | 0x80));
      z >>>= 7;
    }
    out.put((byte) z);
    return Arrays.copyOf(out.array(), out.position());
  }
}
