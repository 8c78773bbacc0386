package dev.tagscope.dashboard.internal;

import java.util.List;

/**
 * The JSON documents of the dashboard's HTTP API, as immutable records that Jackson writes
 * field by field. Non-finite doubles (an SNR over a zero baseline, say) are written as
 * {@code null}, never as the invalid JSON tokens {@code NaN} or {@code Infinity}.
 */
public final class ApiModel {
  private ApiModel() {}

  /** One tagged region of a probe: pixel bounds [x0,x1) x [y0,y1), tag frequency in Hz, phase in rad. */
  public record RegionSummary(String name, int x0, int y0, int x1, int y1, Double frequencyHz, Double phaseRad) {}

  /** One signal bin of a probe's plan: label, kind, frequency (Hz), FFT bin index and order |n|+|m|. */
  public record SignalBinSummary(String label, String kind, Double frequencyHz, int bin, int order) {}

  /**
   * A probe as the page shows it.
   *
   * @param fps frames per second of stimulus time
   * @param windowFrames W, frames per FFT window
   * @param hopFrames frames between window starts
   * @param windowSeconds W / fps, in seconds
   * @param binWidthHz fps / W, in Hz
   */
  public record ProbeSummary(
      String id, String model, String layout, List<RegionSummary> regions,
      Double fps, int windowFrames, int hopFrames, int framesPerImage, Double windowSeconds, Double binWidthHz,
      String reduction, List<String> layers, int imageCount, boolean continuous,
      int maxHarmonic, int maxImOrder, int baselineBins, int baselineSkip,
      List<SignalBinSummary> signalBins) {}

  /**
   * One layer with a known importance.
   *
   * @param windowsSeen windows folded into the importance so far
   * @param filters number of filters (channels) in the importance record
   * @param updatedAt stimulus time of the last window folded in, ISO-8601 UTC
   * @param updatedAtMs the same, epoch milliseconds
   * @param lastProbeId probe of the last window folded in
   * @param probes probes with a tag response for this model and layer, sorted
   */
  public record LayerSummary(
      String model, String layer, long windowsSeen, int filters, String updatedAt, long updatedAtMs,
      String lastProbeId, List<String> probes) {}

  /**
   * One ranked filter. The parts add up to {@code score} (sum of baseline-corrected amplitudes,
   * activation units); {@code importance} is score / the layer's top score.
   */
  public record FilterRow(
      int rank, int filter, Double importance, Double score, Double fundamental, Double harmonic,
      Double intermodulation, Double meanSnr, Double paperSnrDb) {}

  /** A layer's filters, best first (rank ascending). */
  public record ImportanceView(
      String model, String layer, long windowsSeen, String updatedAt, long updatedAtMs, String lastProbeId,
      List<FilterRow> filters) {}

  /**
   * One signal bin of one filter's latest window.
   *
   * @param amplitude A(b) at the bin, activation units
   * @param baseline mean amplitude of the neighbouring non-signal bins
   * @param snr amplitude / max(baseline, epsilon)
   * @param corrected baseline-corrected amplitude, amplitude - baseline
   */
  public record SpectrumBin(
      String label, String kind, int bin, Double frequencyHz, int order,
      Double amplitude, Double baseline, Double snr, Double corrected) {}

  /**
   * The latest window of one filter: the amplitude spectrum A(b) for b = 0..W/2 on the frequency
   * axis b * fps / W (Hz), and the signal bins with their measures.
   *
   * @param responsesSeen tag responses of this probe and layer seen since the dashboard started
   *     (replay included)
   */
  public record SpectrumView(
      String probe, String model, String layer, int filter, String imageId, int windowStartFrame,
      int windowFrames, Double fps, Double binWidthHz, long responsesSeen,
      double[] frequencyHz, List<Float> amplitude, List<SpectrumBin> signalBins) {}

  /**
   * The small payload of one server-sent event.
   *
   * @param type {@code probe}, {@code importance} or {@code tag-response}
   * @param windowsSeen for importance: windows folded in; for a tag response: responses seen for
   *     that probe and layer; for a probe: 0
   */
  public record ChangeEvent(String type, String model, String layer, String probe, long windowsSeen) {}

  /** Body of every error response. */
  public record ErrorBody(int status, String error) {}

  /**
   * @return {@code v} when finite, else null (JSON has no NaN or Infinity)
   */
  static Double finite(double v) {
    return Double.isFinite(v) ? v : null;
  }
}
