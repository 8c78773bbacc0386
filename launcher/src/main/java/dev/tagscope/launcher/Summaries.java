package dev.tagscope.launcher;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;

/**
 * The console summary of a report ({@code SpectralReport} JSON): per layer, the share of the
 * response at harmonics and IM terms, and the top filters with their importance, parts and the
 * SNR at each fundamental and at the strongest IM term.
 */
final class Summaries {
  private Summaries() {}

  /**
   * Prints the top filters of every layer.
   *
   * @param out where to print
   * @param report the report's JSON (see {@code SpectralReport})
   * @param top filters per layer (>= 1)
   */
  static void printTopFilters(PrintStream out, JsonNode report, int top) {
    for (JsonNode layer : report.path("layers")) {
      out.printf("%n%s  (%d filters, %d windows; harmonic share %.0f%%, IM share %.0f%%)%n",
          layer.path("layer").asText(), layer.path("filters").asInt(), layer.path("windows").asLong(),
          100 * layer.path("harmonicShare").asDouble(), 100 * layer.path("imShare").asDouble());
      out.printf("  %4s %-8s %10s %10s %10s %10s  %s%n", "rank", "filter", "importance", "fund", "harm", "IM", "SNR at signal bins");
      int shown = 0;
      for (JsonNode f : layer.path("ranking")) {
        if (shown++ >= top) {
          break;
        }
        String name = f.has("name") ? f.path("name").asText() : Integer.toString(f.path("filter").asInt());
        out.printf("  %4d %-8s %10.3f %10.4g %10.4g %10.4g  %s%n", f.path("rank").asInt(), name,
            f.path("importance").asDouble(), f.path("fundamental").asDouble(), f.path("harmonic").asDouble(),
            f.path("intermodulation").asDouble(), snrSummary(f));
      }
    }
  }

  /** SNR at each fundamental, plus the strongest harmonic and IM term: {@code f1 310 f2 95 2f1 12 f2-f1 40}. */
  private static String snrSummary(JsonNode filter) {
    List<String> parts = new ArrayList<>();
    JsonNode bestHarmonic = null;
    JsonNode bestIm = null;
    for (JsonNode b : filter.path("bins")) {
      switch (b.path("kind").asText()) {
        case "FUNDAMENTAL" -> parts.add(b.path("label").asText() + " " + fmt(b.path("snr").asDouble()));
        case "HARMONIC" -> bestHarmonic = stronger(bestHarmonic, b);
        default -> bestIm = stronger(bestIm, b);
      }
    }
    for (JsonNode b : new JsonNode[] {bestHarmonic, bestIm}) {
      if (b != null) {
        parts.add(b.path("label").asText() + " " + fmt(b.path("snr").asDouble()));
      }
    }
    return String.join("  ", parts);
  }

  private static JsonNode stronger(JsonNode best, JsonNode candidate) {
    return best == null || candidate.path("snr").asDouble() > best.path("snr").asDouble() ? candidate : best;
  }

  private static String fmt(double snr) {
    return snr >= 1e4 ? String.format("%.1e", snr) : String.format("%.1f", snr);
  }
}
