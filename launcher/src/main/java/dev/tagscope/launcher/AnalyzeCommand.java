package dev.tagscope.launcher;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tagscope.spectral.core.SeriesCsv;
import dev.tagscope.spectral.core.SpectralReport;
import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code tagscope analyze}: the spectral core offline, on recorded series (one CSV column per
 * filter, one row per frame). The report has the same per-filter fields as the demo's.
 */
@Command(name = "analyze", mixinStandardHelpOptions = true,
    description = "Run the spectral core offline on recorded series: a CSV with a header row of filter names and one row per frame.")
final class AnalyzeCommand implements Callable<Integer> {
  @Mixin ReportOptions output;

  @Option(names = "--series", required = true, paramLabel = "FILE.csv", description = "Recorded series, one column per filter.")
  Path series;

  @Option(names = "--fps", required = true, description = "Frames per second of the recording, Hz.")
  double fps;

  @Option(names = "--freqs", required = true, split = ",", paramLabel = "F1,F2", description = "Tag frequencies, Hz.")
  double[] freqs;

  @Option(names = "--window", required = true, paramLabel = "W", description = "Window length, frames (every tag frequency must land on an exact bin).")
  int window;

  @Option(names = "--hop", paramLabel = "H", description = "Frames between window starts (default: the window, no overlap).")
  Integer hop;

  @Option(names = "--harmonics", defaultValue = "4", description = "Highest harmonic n of n*f (default ${DEFAULT-VALUE}).")
  int harmonics;

  @Option(names = "--im-order", defaultValue = "4", description = "Highest intermodulation order |n|+|m| (default ${DEFAULT-VALUE}).")
  int imOrder;

  @Option(names = "--baseline-bins", defaultValue = "10", description = "Baseline bins K on each side (default ${DEFAULT-VALUE}).")
  int baselineBins;

  @Option(names = "--baseline-skip", defaultValue = "1", description = "Bins next to a signal bin left out of its baseline (default ${DEFAULT-VALUE}).")
  int baselineSkip;



  @Override
  public Integer call() throws Exception {
    refuseHeaderlessSeries(series);
    SpectralReport result = SeriesCsv.analyzeSeries(series, fps, freqs, window, hop == null ? window : hop,
        harmonics, imOrder, baselineBins, baselineSkip);
    result.write(output.report);
    JsonNode json = result.toJson();
    Summaries.printTopFilters(System.out, json, output.top);
    System.out.println("report: " + output.report.toAbsolutePath());
    return 0;
  }

  /**
   * SeriesCsv takes the first non-blank row as the filter names, whatever it holds: a file without
   * a header lost its first frame (shifting every window) and reported filters named after its
   * values ("3.000000"). A first row of numbers only, one of them not a plain integer, is data, not
   * names, and is refused (integer names such as {@code 0,1,2}, filter indices, stay allowed).
   *
   * @throws IllegalArgumentException naming the file and line when the first row looks like data
   */
  static void refuseHeaderlessSeries(Path csv) throws IOException {
    try (BufferedReader r = Files.newBufferedReader(csv, StandardCharsets.UTF_8)) {
      String line;
      int lineNo = 0;
      while ((line = r.readLine()) != null) {
        lineNo++;
        if (lineNo == 1 && line.startsWith("\uFEFF")) {
          line = line.substring(1);
        }
        if (line.isBlank()) {
          continue;
        }
        boolean allNumbers = true;
        boolean anyNonInteger = false;
        for (String cell : line.split(",", -1)) {
          String c = cell.trim();
          try {
            Double.parseDouble(c);
          } catch (NumberFormatException e) {
            allNumbers = false;
            break;
          }
          anyNonInteger |= !c.matches("[0-9]+");
        }
        if (allNumbers && anyNonInteger) {
          throw new IllegalArgumentException(csv.getFileName() + " line " + lineNo + ": '" + abbreviate(line)
              + "' is a row of numbers, not a header; the first row must name the filters, e.g. filter_0,filter_1,...");
        }
        return;
      }
    }
  }

  private static String abbreviate(String line) {
    return line.length() <= 60 ? line : line.substring(0, 57) + "...";
  }
}
