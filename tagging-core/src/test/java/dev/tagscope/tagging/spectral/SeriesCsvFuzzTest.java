package dev.tagscope.tagging.spectral;

import dev.tagscope.schemas.fuzz.Campaign;
import dev.tagscope.schemas.fuzz.Fuzz;
import dev.tagscope.schemas.fuzz.FuzzInput;
import dev.tagscope.schemas.fuzz.Mutations;
import dev.tagscope.schemas.fuzz.Mutations.Seed;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;

/**
 * Fuzzes {@link SeriesCsv#read(Path)}, the reader of the CSV series a user hands to
 * {@code tagscope analyze}: valid series mutated byte by byte with CSV's own tokens (separators,
 * quotes, line ends, a byte-order mark, NaN, infinities, numbers too large for a double, digits of
 * other scripts, bytes that are not UTF-8), random bytes, and headers of up to 50,000 columns.
 * Each file must parse or be refused, as documented, with {@link IllegalArgumentException} or
 * {@link IOException} naming the file, within {@link Fuzz#LIMIT}.
 *
 * <p>The suite tries a few hundred inputs; {@code -Pfuzz} runs the {@link Campaign} count.
 */
class SeriesCsvFuzzTest {
  private static final Path FILE = Fuzz.scratch("tagscope-series-fuzz").resolve("series.csv");

  @Property(tries = 300)
  @Campaign(tries = 150_000)
  void seriesFiles(@ForAll("series") FuzzInput in) {
    Fuzz.check(in, "SeriesCsv.read", () -> {
      Files.write(FILE, in.bytes());
      return SeriesCsv.read(FILE);
    }, m -> m.contains("series.csv"), IOException.class, IllegalArgumentException.class);
  }

  @Provide
  Arbitrary<FuzzInput> series() {
    List<Seed> seeds = List.of(
        seed("three filters", "a,\"b\",c\n" + rows(3, 12)),
        seed("BOM and CRLF", "\uFEFFx, y\r\n1,2\r\n3,4.5\r\n\r\n-0.25,1e-3\r\n"),
        seed("integer names", "0,1,2,3\n" + rows(4, 6)),
        seed("one column", "conv1_0\n0.5\n\n-1.5\n2E+2\n"));
    List<byte[]> dictionary = Stream.of(",", "\n", "\r\n", "\r", "\"", "\"\"", "\uFEFF", " ", "\t", "NaN", "Infinity",
            "-Infinity", "1e309", "-1e-400", "0x1p3", "1_000", "99999999999999999999999999999", "+", "-", ".", "e", "\u0000",
            "\u2028", "\uff11", "\u0663", "\u00e9", "a,a")
        .map(t -> t.getBytes(StandardCharsets.UTF_8)).collect(Collectors.toList());
    dictionary.addAll(List.of(new byte[] {(byte) 0xC3, 0x28}, new byte[] {(byte) 0xFF}, new byte[] {(byte) 0xED, (byte) 0xA0, (byte) 0x80}));
    Arbitrary<FuzzInput> wide = Arbitraries.integers().between(1, 50_000).map(k -> {
      String header = IntStream.range(0, k).mapToObj(i -> "f" + i).collect(Collectors.joining(","));
      String row = IntStream.range(0, k).mapToObj(i -> "0.5").collect(Collectors.joining(","));
      return new FuzzInput(k + " columns", (header + "\n" + row + "\n" + row + "\n").getBytes(StandardCharsets.UTF_8));
    });
    return Arbitraries.frequencyOf(
        Tuple.of(200, Mutations.of(seeds, dictionary)),
        Tuple.of(40, Mutations.randomAfter("random", new byte[0], 128)),
        Tuple.of(1, wide)); // rare: each is up to 600 kB
  }

  private static Seed seed(String name, String text) {
    return new Seed(name, text.getBytes(StandardCharsets.UTF_8));
  }

  private static String rows(int filters, int frames) {
    StringBuilder sb = new StringBuilder();
    for (int t = 0; t < frames; t++) {
      for (int k = 0; k < filters; k++) {
        sb.append(k == 0 ? "" : ",").append(String.format(Locale.ROOT, "%.17g", Math.sin(0.3 * t + k)));
      }
      sb.append('\n');
    }
    return sb.toString();
  }
}
