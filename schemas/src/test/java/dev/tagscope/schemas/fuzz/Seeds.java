package dev.tagscope.schemas.fuzz;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * The seed corpora and dictionaries of the Jazzer fuzz tests, made by code and committed under
 * {@code src/test/resources}. Jazzer runs a fuzz test over the files of
 * {@code <package>/<TestClass>Inputs/<method>/} (its regression mode, in the suite) and starts
 * fuzzing from them; a {@code @DictionaryFile} gives it the format's tokens.
 *
 * <p>Each fuzz test has a plain test that calls {@link #check} and {@link #dictionary}: it fails
 * when the committed files differ from what the code makes. {@code -Dtagscope.fuzz.seeds.write=true}
 * (re)writes them instead, into the module's source tree:
 * {@code ./mvnw -o -pl stimulus-producer -am test -Dtest='*FuzzTest#seed*' -Dsurefire.failIfNoSpecifiedTests=false
 * -Dtagscope.fuzz.seeds.write=true}.
 *
 * <p>A fuzz test that takes a {@code FuzzedDataProvider} reads its choices from the end of the
 * input and its bytes from the start; {@link #withChoices} lays a seed out that way.
 */
public final class Seeds {
  private static final boolean WRITE = Boolean.getBoolean("tagscope.fuzz.seeds.write");

  /** A seed corpus file should stay a few KB: Jazzer reads the whole corpus at start-up. */
  private static final int MAX_SEED = 8192;

  private Seeds() {}

  /**
   * Checks, or writes, the seed corpus of one fuzz test.
   *
   * @param test the fuzz test class
   * @param method the {@code @FuzzTest} method's name
   * @param seeds file name to content
   */
  public static void check(Class<?> test, String method, Map<String, byte[]> seeds) {
    check(test, method, seeds, true);
  }

  /**
   * Checks, or writes, the seed corpus of one fuzz test.
   *
   * @param test the fuzz test class
   * @param method the {@code @FuzzTest} method's name
   * @param seeds file name to content
   * @param exact whether the committed files must hold what the code makes now, or only be there
   *     (for seeds made by the JDK's image writers and zlib, which may differ by a byte between machines)
   */
  public static void check(Class<?> test, String method, Map<String, byte[]> seeds, boolean exact) {
    seeds.forEach((name, bytes) -> {
      if (bytes.length > MAX_SEED) {
        throw new IllegalArgumentException("seed " + name + " of " + bytes.length + " bytes; keep seeds under " + MAX_SEED);
      }
    });
    String dir = test.getSimpleName() + "Inputs/" + method;
    if (WRITE) {
      Path p = sourceDir(test).resolve(dir);
      try {
        if (Files.isDirectory(p)) {
          try (var old = Files.list(p)) {
            for (Path f : old.toList()) {
              Files.delete(f);
            }
          }
        }
        Files.createDirectories(p);
        for (Map.Entry<String, byte[]> e : seeds.entrySet()) {
          Files.write(p.resolve(e.getKey()), e.getValue());
        }
      } catch (IOException e) {
        throw new UncheckedIOException("cannot write the seed corpus " + p, e);
      }
      return;
    }
    for (Map.Entry<String, byte[]> e : seeds.entrySet()) {
      byte[] committed = resource(test, dir + "/" + e.getKey());
      if (exact) {
        assertArrayEquals(e.getValue(), committed,
            "the committed seed " + dir + "/" + e.getKey() + " is stale; rewrite with -Dtagscope.fuzz.seeds.write=true");
      }
    }
  }

  /**
   * Checks, or writes, the dictionary {@code <TestClass>.dict} beside the class's seed corpora.
   *
   * @param test the fuzz test class
   * @param tokens the format's tokens
   */
  public static void dictionary(Class<?> test, List<byte[]> tokens) {
    String text = tokens.stream().map(Seeds::dictEntry).collect(Collectors.joining("\n", "", "\n"));
    byte[] bytes = text.getBytes(StandardCharsets.US_ASCII);
    String name = test.getSimpleName() + ".dict";
    if (WRITE) {
      try {
        Files.createDirectories(sourceDir(test));
        Files.write(sourceDir(test).resolve(name), bytes);
      } catch (IOException e) {
        throw new UncheckedIOException("cannot write the dictionary " + name, e);
      }
      return;
    }
    assertEquals(text, new String(resource(test, name), StandardCharsets.US_ASCII),
        "the committed dictionary " + name + " is stale; rewrite with -Dtagscope.fuzz.seeds.write=true");
  }

  /** One libFuzzer dictionary line: the token in quotes, all but plain printable ASCII as \xNN. */
  private static String dictEntry(byte[] token) {
    StringBuilder sb = new StringBuilder("\"");
    for (byte b : token) {
      int c = b & 0xff;
      if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
        sb.append((char) c);
      } else {
        sb.append(String.format("\\x%02X", c));
      }
    }
    return sb.append('"').toString();
  }

  private static byte[] resource(Class<?> test, String name) {
    try (InputStream in = test.getResourceAsStream(name)) {
      assertNotNull(in, "no committed " + name + " beside " + test.getName() + "; write it with -Dtagscope.fuzz.seeds.write=true");
      return in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The package's folder under the module's {@code src/test/resources} (tests run in the module's folder). */
  private static Path sourceDir(Class<?> test) {
    return Path.of("src", "test", "resources").resolve(test.getPackageName().replace('.', '/'));
  }

  /**
   * A seed for a fuzz test that first consumes choices from the end of its input, each with
   * {@code consumeInt(0, max)} for a {@code max} below 256 (one byte), then takes the rest as bytes.
   *
   * @param bytes what {@code consumeRemainingAsBytes()} returns
   * @param choices the choices in the order the test consumes them
   * @return the input
   */
  public static byte[] withChoices(byte[] bytes, int... choices) {
    byte[] out = Arrays.copyOf(bytes, bytes.length + choices.length);
    for (int i = 0; i < choices.length; i++) {
      if (choices[i] < 0 || choices[i] > 255) {
        throw new IllegalArgumentException("a one-byte choice is 0 to 255: " + choices[i]);
      }
      out[out.length - 1 - i] = (byte) choices[i];
    }
    return out;
  }

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

  /** Sizes and counts that are absurd for a few bytes of input, or negative. */
  private static final List<Long> HUGE = List.of(0x7fff_fff7L, 0x7fff_ffffL, 0x8000_0000L, 0xffff_ffffL, 0x4000_0000L,
      1_000_000_000L, 100_000_000L, 65_536L, -1L, -2L, -(1L << 31), Long.MAX_VALUE, Long.MIN_VALUE);

  /**
   * Avro zig-zag varint encodings of lengths and counts a decoder should never be trusted with.
   *
   * @return tokens of 1 to 10 bytes each
   */
  public static List<byte[]> hugeAvroVarints() {
    return HUGE.stream().map(Seeds::zigZag).toList();
  }

  /**
   * 32-bit encodings of sizes a header should never be trusted with.
   *
   * @param order big-endian (IDX, PNG, JPEG) or little-endian (BMP, GIF)
   * @return tokens of 4 bytes each
   */
  public static List<byte[]> hugeInt32(ByteOrder order) {
    return HUGE.stream().map(v -> ByteBuffer.allocate(4).order(order).putInt((int) (long) v).array()).toList();
  }
}
