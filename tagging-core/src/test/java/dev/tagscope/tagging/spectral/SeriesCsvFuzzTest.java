package dev.tagscope.tagging.spectral;

import com.code_intelligence.jazzer.junit.DictionaryFile;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.tagscope.schemas.fuzz.Fuzz;
import dev.tagscope.schemas.fuzz.FuzzInput;
import dev.tagscope.schemas.fuzz.FuzzReport;
import dev.tagscope.schemas.fuzz.Seeds;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Fuzzes {@link SeriesCsv#read(Path)}, the reader of the CSV series a user hands to
 * {@code tagscope analyze}, with Jazzer: bytes grown from valid series (quoted names, a byte-order
 * mark, CRLF, blank lines, a header of 600 columns) and the reproducers of the bugs fuzzing found,
 * with CSV's own tokens in the dictionary (separators, quotes, line ends, NaN, infinities,
 * numbers too large for a double, digits of other scripts, bytes that are not UTF-8). Each file
 * must parse or be refused, as documented, with {@link IllegalArgumentException} or
 * {@link IOException} naming the file, within {@link Fuzz#LIMIT}.
 *
 * <p>The suite runs the seed corpus; the {@code fuzz} profile fuzzes ({@code maxExecutions}).
 */
@ExtendWith(FuzzReport.class)
class SeriesCsvFuzzTest {
  private static final Path FILE = Fuzz.scratch("tagscope-series-fuzz").resolve("series.csv");

  @Test
  void seedCorpusIsCurrent() {
    Seeds.check(SeriesCsvFuzzTest.class, "seriesFiles", seeds());
    Seeds.dictionary(SeriesCsvFuzzTest.class, dictionary());
  }

  @DictionaryFile(resourcePath = "SeriesCsvFuzzTest.dict")
  @FuzzTest(maxDuration = "", maxExecutions = 150_000)
  void seriesFiles(byte[] data) {
    Fuzz.check(new FuzzInput("series.csv", data), "SeriesCsv.read", () -> {
      Files.write(FILE, data);
      return SeriesCsv.read(FILE);
    }, m -> m.contains("series.csv"), IOException.class, IllegalArgumentException.class);
  }

  static Map<String, byte[]> seeds() {
    Map<String, byte[]> out = new LinkedHashMap<>();
    out.put("three-filters", utf8("a,\"b\",c\n" + rows(3, 12)));
    out.put("bom-and-crlf", utf8("\uFEFFx, y\r\n1,2\r\n3,4.5\r\n\r\n-0.25,1e-3\r\n"));
    out.put("integer-names", utf8("0,1,2,3\n" + rows(4, 6)));
    out.put("one-column", utf8("conv1_0\n0.5\n\n-1.5\n2E+2\n"));
    String header = IntStream.range(0, 600).mapToObj(i -> "f" + i).collect(Collectors.joining(","));
    String row = String.join(",", java.util.Collections.nCopies(600, "0.5"));
    out.put("600-columns", utf8(header + "\n" + row + "\n"));
    // reproducers: a file that is not UTF-8 (the message was only "Input length = 1"), a duplicate name
    out.put("repro-latin1", "x,caf\u00e9\n1,2\n".getBytes(StandardCharsets.ISO_8859_1));
    out.put("repro-duplicate-name", utf8("a,b,a\n1,2,3\n"));
    return out;
  }

  static List<byte[]> dictionary() {
    List<byte[]> tokens = Stream.of(",", "\n", "\r\n", "\r", "\"", "\"\"", "\uFEFF", " ", "\t", "NaN", "Infinity",
            "-Infinity", "1e309", "-1e-400", "0x1p3", "1_000", "99999999999999999999999999999", "+", "-", ".", "e", "\u0000",
            "\u2028", "\uff11", "\u0663", "\u00e9", "a,a")
        .map(SeriesCsvFuzzTest::utf8).collect(Collectors.toCollection(ArrayList::new));
    tokens.addAll(List.of(new byte[] {(byte) 0xC3, 0x28}, new byte[] {(byte) 0xFF}, new byte[] {(byte) 0xED, (byte) 0xA0, (byte) 0x80}));
    return tokens;
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
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
