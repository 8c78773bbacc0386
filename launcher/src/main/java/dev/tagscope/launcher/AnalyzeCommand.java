package dev.tagscope.launcher;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tagscope.tagging.spectral.SeriesCsv;
import dev.tagscope.tagging.spectral.SpectralReport;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import dev.tagscope.tagging.AnalysisPlan;
import dev.tagscope.tagging.PlanDefaults;
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

  @Option(names = "--harmonics", defaultValue = "" + PlanDefaults.MAX_HARMONIC,
      description = "Highest harmonic n of n*f (default ${DEFAULT-VALUE}).")
  int harmonics;

  @Option(names = "--im-order", paramLabel = "M", description = "Highest intermodulation order |n|+|m| (default "
      + PlanDefaults.MAX_IM_ORDER_TWO_REGIONS + " for one or two frequencies, " + PlanDefaults.MAX_IM_ORDER_MORE_REGIONS
      + " for more, as for a probe).")
  Integer imOrder;

  @Option(names = "--baseline-bins", defaultValue = "" + PlanDefaults.BASELINE_BINS,
      description = "Baseline bins K on each side (default ${DEFAULT-VALUE}).")
  int baselineBins;

  @Option(names = "--baseline-skip", defaultValue = "" + PlanDefaults.BASELINE_SKIP,
      description = "Bins next to a signal bin left out of its baseline (default ${DEFAULT-VALUE}).")
  int baselineSkip;

  @Override
  public Integer call() throws Exception {
    AnalysisPlan plan = AnalysisPlan.builder().fps(fps).frequencies(freqs).windowFrames(window).hopFrames(hop)
        .maxHarmonic(harmonics).maxImOrder(imOrder).baselineBins(baselineBins).baselineSkip(baselineSkip).build();
    SpectralReport result = SeriesCsv.analyzeSeries(series, plan);
    result.write(output.report);
    JsonNode json = result.toJson();
    Summaries.printTopFilters(System.out, json, output.top);
    System.out.println("report: " + output.report.toAbsolutePath());
    return 0;
  }
}
