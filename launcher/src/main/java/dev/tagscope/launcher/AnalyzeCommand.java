package dev.tagscope.launcher;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tagscope.spectral.core.SeriesCsv;
import dev.tagscope.spectral.core.SpectralReport;
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
    SpectralReport result = SeriesCsv.analyzeSeries(series, fps, freqs, window, hop == null ? window : hop,
        harmonics, imOrder, baselineBins, baselineSkip);
    result.write(output.report);
    JsonNode json = result.toJson();
    Summaries.printTopFilters(System.out, json, output.top);
    System.out.println("report: " + output.report.toAbsolutePath());
    return 0;
  }
}
