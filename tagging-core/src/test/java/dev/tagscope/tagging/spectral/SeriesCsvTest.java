package dev.tagscope.tagging.spectral;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tagscope.tagging.AnalysisPlan;
import dev.tagscope.tagging.PlanException;
import java.io.StringReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SeriesCsvTest {
  @TempDir
  Path dir;

  @Test
  void analyzesCsvIntoReport() throws Exception {
    double fps = 120;
    StringBuilder sb = new StringBuilder("a,\"b\",c\n");
    for (int i = 0; i < 480; i++) {
      double t = i / fps;
      double a = 2.0 * Math.sin(2 * Math.PI * 6 * t);
      double b = 0.5 * Math.sin(2 * Math.PI * 7.5 * t + 1) + 1.0 * Math.sin(2 * Math.PI * 13.5 * t);
      sb.append(String.format(Locale.ROOT, "%.17g,%.17g,%.17g%n", a, b, 3.0));
    }
    Path csv = dir.resolve("conv1.csv");
    Files.writeString(csv, sb.toString());
    SpectralReport report = SeriesCsv.analyzeSeries(csv, AnalysisPlan.builder().fps(fps).frequencies(6, 7.5).windowFrames(240).hopFrames(120).maxHarmonic(4).maxImOrder(4).baselineBins(10).baselineSkip(1).build());
    Path out = dir.resolve("out/report.json");
    report.write(out);
    JsonNode root = new ObjectMapper().readTree(out.toFile());
    assertEquals("0.1.0", root.get("tagscope").asText());
    assertTrue(root.get("model").isNull());
    assertEquals(0.5, root.get("plan").get("binWidthHz").asDouble(), 0);
    assertEquals(20, root.get("plan").get("signalBins").size());
    JsonNode layer = root.get("layers").get(0);
    assertEquals("conv1", layer.get("layer").asText());
    assertEquals(3, layer.get("filters").asInt());
    assertEquals(3, layer.get("windows").asInt()); // starts 0, 120, 240
    JsonNode first = layer.get("ranking").get(0);
    assertEquals("a", first.get("name").asText());
    assertEquals(1, first.get("rank").asInt());
    assertEquals(1.0, first.get("importance").asDouble(), 0);
    assertEquals(2.0, first.get("fundamental").asDouble(), 1e-9);
    JsonNode second = layer.get("ranking").get(1);
    assertEquals("b", second.get("name").asText());
    assertEquals(1.5 / 2.0, second.get("importance").asDouble(), 1e-9);
    assertEquals(1.0, second.get("intermodulation").asDouble(), 1e-9);
    assertEquals("c", layer.get("ranking").get(2).get("name").asText());
    // layer parts: means over 3 filters; IM share = 1/3 / (2.5/3 + 1/3)
    assertEquals(2.5 / 3, layer.get("parts").get("fundamental").asDouble(), 1e-9);
    assertEquals(1.0 / 3, layer.get("parts").get("intermodulation").asDouble(), 1e-9);
    assertEquals(1.0 / 3.5, layer.get("imShare").asDouble(), 1e-9);
    assertEquals(0.0, layer.get("harmonicShare").asDouble(), 1e-9);
    JsonNode bin0 = first.get("bins").get(0);
    assertEquals("f1", bin0.get("label").asText());
    assertEquals("FUNDAMENTAL", bin0.get("kind").asText());
    assertEquals(2.0, bin0.get("amplitude").asDouble(), 1e-9);
  }

  @Test
  void malformedCsvNamesLineAndColumn() {
    IllegalArgumentException ragged = assertThrows(IllegalArgumentException.class,
        () -> SeriesCsv.parse(new StringReader("x,y\n1,2\n\n3\n"), "s.csv"));
    assertTrue(ragged.getMessage().contains("s.csv line 4"), ragged.getMessage());
    IllegalArgumentException nan = assertThrows(IllegalArgumentException.class,
        () -> SeriesCsv.parse(new StringReader("x,y\n1,NaN\n"), "s.csv"));
    assertTrue(nan.getMessage().contains("line 2, column 2 (y)"), nan.getMessage());
    IllegalArgumentException text = assertThrows(IllegalArgumentException.class,
        () -> SeriesCsv.parse(new StringReader("x,y\n1,2\n1,abc\n"), "s.csv"));
    assertTrue(text.getMessage().contains("line 3, column 2 (y): 'abc' is not a number"), text.getMessage());
    assertThrows(IllegalArgumentException.class, () -> SeriesCsv.parse(new StringReader(""), "s.csv"));
  }

  @Test
  void aFirstRowOfNumbersIsRefusedAsNoHeaderButIntegerNamesStay() throws Exception {
    IllegalArgumentException data = assertThrows(IllegalArgumentException.class,
        () -> SeriesCsv.parse(new StringReader("\n3.0,2\n1,2\n"), "s.csv"));
    assertTrue(data.getMessage().contains("s.csv line 2: '3.0,2' is a row of numbers, not a header"), data.getMessage());
    assertEquals(java.util.List.of("0", "1"), SeriesCsv.parse(new StringReader("0,1\n1.5,2\n"), "s.csv").names());
  }

  @Test
  void twoColumnsOfOneNameAreRefusedNamingBoth() {
    IllegalArgumentException dup = assertThrows(IllegalArgumentException.class,
        () -> SeriesCsv.parse(new StringReader("a,b,\"a\"\n1,2,3\n"), "s.csv"));
    assertTrue(dup.getMessage().contains("s.csv line 1: columns 1 and 3 are both named 'a'"), dup.getMessage());
  }

  @Test
  void parsesFilterMajor() throws Exception {
    SeriesCsv.Series s = SeriesCsv.parse(new StringReader("\uFEFFx, y\r\n1,2\r\n3,4.5\r\n"), "s.csv");
    assertEquals(java.util.List.of("x", "y"), s.names());
    assertEquals(2, s.frames());
    assertEquals(4.5, s.values()[1][1]);
    assertEquals(3.0, s.values()[0][1]);
  }

  @Test
  void tooShortSeriesRefused() throws Exception {
    Path csv = dir.resolve("short.csv");
    Files.writeString(csv, "x\n1\n2\n");
    PlanException e = assertThrows(PlanException.class,
        () -> SeriesCsv.analyzeSeries(csv, AnalysisPlan.builder().fps(120).frequencies(6).windowFrames(240).hopFrames(240).maxHarmonic(1).maxImOrder(0).baselineBins(10).baselineSkip(1).build()));
    assertEquals("windowFrames", e.field());
    assertEquals("hopFrames", assertThrows(PlanException.class,
        () -> SeriesCsv.analyzeSeries(csv, AnalysisPlan.builder().fps(120).frequencies(6).windowFrames(240).hopFrames(0).maxHarmonic(1).maxImOrder(0).baselineBins(10).baselineSkip(1).build())).field());
  }

  @Test
  void aFileThatIsNotUtf8IsRefusedNamingTheFile() throws Exception {
    // found by SeriesCsvFuzzTest: the decoder's own message was only "Input length = 1"
    Path csv = dir.resolve("latin1.csv");
    Files.write(csv, "x,caf\u00e9\n1,2\n".getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
    java.io.IOException e = assertThrows(java.io.IOException.class, () -> SeriesCsv.read(csv));
    assertTrue(e.getMessage().startsWith("latin1.csv: not UTF-8 text"), e.getMessage());
  }

  @Test
  void aHeaderOfOneHundredThousandColumnsIsReadInTime() {
    // found by SeriesCsvFuzzTest: the duplicate-name check was quadratic, minutes for this header
    int k = 100_000;
    String header = java.util.stream.IntStream.range(0, k).mapToObj(i -> "f" + i).collect(java.util.stream.Collectors.joining(","));
    String row = String.join(",", java.util.Collections.nCopies(k, "0.5"));
    SeriesCsv.Series s = org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(java.time.Duration.ofSeconds(10),
        () -> SeriesCsv.parse(new StringReader(header + "\n" + row + "\n"), "wide.csv"));
    assertEquals(k, s.names().size());
  }
}
