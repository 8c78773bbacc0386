package dev.tagscope.tagging.spectral;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tagscope.schemas.FilterImportance;
import dev.tagscope.schemas.SignalBin;
import dev.tagscope.tagging.AnalysisPlan;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The JSON report shared by {@code tagscope demo} and {@code tagscope analyze}: the plan, and for
 * every layer the per-filter importance ranking with per-signal-bin means.
 *
 * <pre>{@code
 * { "tagscope": "0.1.0", "generatedAt": "2026-11-03T10:15:30Z", "model": {...} | null,
 *   "plan": {"fps","windowFrames","hopFrames","binWidthHz","regions":[{"name","frequencyHz","phaseRad"}],
 *            "maxHarmonic","maxImOrder","baselineBins","baselineSkip",
 *            "signalBins":[{"label","kind","frequencyHz","bin","order"}]},
 *   "layers": [ {"layer","filters","windows","parts":{"fundamental","harmonic","intermodulation"},
 *                "imShare","harmonicShare",
 *                "ranking":[{"filter","name"?,"rank","importance","score","fundamental","harmonic",
 *                            "intermodulation","meanSnr","paperSnrDb",
 *                            "bins":[{"label","kind","frequencyHz","amplitude","baseline","snr","corrected"}],
 *                            "map"?:{"rows","cols","cells":[[...]],"imPairs":[{"cells":[a,b],"amplitude"}]}}]}]}
 * }</pre>
 *
 * <p>{@code parts} are the means over the layer's filters of the score parts;
 * {@code imShare = max(IM, 0) / (sum of the positive parts)}, {@code harmonicShare} likewise
 * (0 when no part is positive). {@code ranking} is sorted by rank (1 = highest score); per-bin
 * values are means over windows. Amplitudes are in activation units, frequencies in Hz, SNR an
 * amplitude ratio, {@code paperSnrDb} in dB.
 *
 * <p>{@code map} (every filter, present when the plan's region names place them on the image:
 * halves, quadrants, {@code grid:RxC}; see {@link SpatialMap}) is where the filter looks:
 * {@code cells[i][j]} the mean baseline-corrected amplitude at the fundamental of the region in
 * row {@code i}, column {@code j} ({@code null} for a cell without a region), and {@code imPairs}
 * the at most {@value SpatialMap#IM_PAIRS} region pairs with the largest summed corrected IM
 * amplitude above {@link SpatialMap#RELATIVE_FLOOR} of the filter's largest, strongest first.
 * It is 16 numbers per filter for {@code grid:4x4}, small beside
 * {@code bins}, so every filter gets one.
 *
 * <p>Usage: {@code SpectralReport.builder(plan).model(Map.of("name", "m")).layer("conv1", acc).build().write(path)}.
 * The report is a snapshot taken at {@link Builder#build()}.
 */
public final class SpectralReport {
  /** Value of the {@code "tagscope"} field. */
  public static final String VERSION = "0.1.0";
  private static final ObjectMapper MAPPER = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  private final ObjectNode root;

  private SpectralReport(ObjectNode root) {
    this.root = root;
  }

  /**
   * Starts a report.
   *
   * @param plan the analysis plan
   * @return a builder
   */
  public static Builder builder(AnalysisPlan plan) {
    return new Builder(plan);
  }

  /** @return the report as a JSON tree (a deep copy) */
  public JsonNode toJson() {
    return root.deepCopy();
  }

  /** @return the report as indented JSON text */
  public String toJsonString() {
    try {
      return MAPPER.writeValueAsString(root);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot render the report as JSON", e);
    }
  }

  /**
   * Writes the report as indented JSON, creating parent folders.
   *
   * @param file target file (overwritten)
   * @throws IOException when the file cannot be written
   */
  public void write(Path file) throws IOException {
    Path parent = file.toAbsolutePath().getParent();
    if (parent != null) {
      Files.createDirectories(parent);
    }
    Files.writeString(file, toJsonString() + System.lineSeparator());
  }

  /** Collects the layers of a report. Not thread-safe. */
  public static final class Builder {
    private final AnalysisPlan plan;
    private Map<String, ?> model;
    private Instant generatedAt;
    private final List<ObjectNode> layers = new ArrayList<>();

    private Builder(AnalysisPlan plan) {
      if (plan == null) {
        throw new IllegalArgumentException("plan: required; use AnalysisPlan.fromProbe(spec) or AnalysisPlan.builder()");
      }
      this.plan = plan;
    }

    /**
     * @param model free-form model facts (e.g. name, path, inputShape); null writes {@code "model": null}
     * @return this
     */
    public Builder model(Map<String, ?> model) {
      this.model = model == null ? null : new LinkedHashMap<>(model);
      return this;
    }

    /**
     * @param at time written as {@code generatedAt}; default: now at {@link #build()}
     * @return this
     */
    public Builder generatedAt(Instant at) {
      this.generatedAt = at;
      return this;
    }

    /**
     * Adds a layer, snapshotting the accumulator now.
     *
     * @param layer layer name
     * @param acc its accumulated windows (its signal bins must be the plan's)
     * @return this
     */
    public Builder layer(String layer, LayerAccumulator acc) {
      return layer(layer, acc, null);
    }

    /**
     * Adds a layer whose filters have names (e.g. CSV header names), snapshotting the accumulator now.
     *
     * @param layer layer name
     * @param acc its accumulated windows
     * @param filterNames one name per filter, or null for none
     * @return this
     * @throws IllegalArgumentException when {@code filterNames} does not have one name per filter
     */
    public Builder layer(String layer, LayerAccumulator acc, List<String> filterNames) {
      int c = acc.filters();
      if (filterNames != null && filterNames.size() != c) {
        throw new IllegalArgumentException("filterNames: " + filterNames.size() + " names for " + c + " filters of layer " + layer);
      }
      ObjectNode node = MAPPER.createObjectNode();
      node.put("layer", layer);
      node.put("filters", c);
      node.put("windows", acc.windows());
      List<FilterImportance> imp = acc.importance();
      double f = 0;
      double h = 0;
      double im = 0;
      for (FilterImportance x : imp) {
        f += x.getFundamental();
        h += x.getHarmonic();
        im += x.getIntermodulation();
      }
      if (c > 0) {
        f /= c;
        h /= c;
        im /= c;
      }
      ObjectNode parts = node.putObject("parts");
      parts.put("fundamental", f);
      parts.put("harmonic", h);
      parts.put("intermodulation", im);
      double positive = Math.max(f, 0) + Math.max(h, 0) + Math.max(im, 0);
      node.put("imShare", positive > 0 ? Math.max(im, 0) / positive : 0);
      node.put("harmonicShare", positive > 0 ? Math.max(h, 0) / positive : 0);
      ArrayNode ranking = node.putArray("ranking");
      List<SignalBin> bins = acc.signalBins();
      double[][] amp = acc.meanAmplitude();
      double[][] base = acc.meanBaseline();
      double[][] snr = acc.meanSnrPerBin();
      double[][] corr = acc.meanCorrected();
      List<SpatialMap> maps = acc.windows() == 0 ? List.of() : SpatialMap.of(plan, corr);
      List<FilterImportance> sorted = new ArrayList<>(imp);
      sorted.sort(Comparator.comparingInt(FilterImportance::getRank));
      for (FilterImportance x : sorted) {
        int k = x.getFilter();
        ObjectNode e = ranking.addObject();
        e.put("filter", k);
        if (filterNames != null) {
          e.put("name", filterNames.get(k));
        }
        e.put("rank", x.getRank());
        e.put("importance", x.getImportance());
        e.put("score", x.getScore());
        e.put("fundamental", x.getFundamental());
        e.put("harmonic", x.getHarmonic());
        e.put("intermodulation", x.getIntermodulation());
        e.put("meanSnr", x.getMeanSnr());
        e.put("paperSnrDb", x.getPaperSnrDb());
        ArrayNode ba = e.putArray("bins");
        for (int s = 0; s < bins.size(); s++) {
          ObjectNode b = ba.addObject();
          b.put("label", bins.get(s).getLabel());
          b.put("kind", bins.get(s).getKind().name());
          b.put("frequencyHz", bins.get(s).getFrequencyHz());
          b.put("amplitude", amp[k][s]);
          b.put("baseline", base[k][s]);
          b.put("snr", snr[k][s]);
          b.put("corrected", corr[k][s]);
        }
        if (!maps.isEmpty()) {
          e.set("map", mapJson(maps.get(k)));
        }
      }
      layers.add(node);
      return this;
    }

    private static ObjectNode mapJson(SpatialMap m) {
      ObjectNode n = MAPPER.createObjectNode();
      n.put("rows", m.rows());
      n.put("cols", m.cols());
      ArrayNode cells = n.putArray("cells");
      for (double[] row : m.cells()) {
        ArrayNode r = cells.addArray();
        for (double v : row) {
          if (Double.isNaN(v)) {
            r.addNull();
          } else {
            r.add(v);
          }
        }
      }
      ArrayNode pairs = n.putArray("imPairs");
      for (SpatialMap.ImPair p : m.imPairs()) {
        ObjectNode pn = pairs.addObject();
        pn.putArray("cells").add(p.first()).add(p.second());
        pn.put("amplitude", p.amplitude());
      }
      return n;
    }

    /** @return the report */
    public SpectralReport build() {
      ObjectNode root = MAPPER.createObjectNode();
      root.put("tagscope", VERSION);
      root.put("generatedAt", (generatedAt == null ? Instant.now() : generatedAt).toString());
      if (model == null) {
        root.putNull("model");
      } else {
        root.set("model", MAPPER.valueToTree(model));
      }
      ObjectNode p = root.putObject("plan");
      p.put("fps", plan.fps());
      p.put("windowFrames", plan.windowFrames());
      p.put("hopFrames", plan.hopFrames());
      p.put("binWidthHz", plan.binWidthHz());
      ArrayNode regions = p.putArray("regions");
      for (AnalysisPlan.RegionInfo r : plan.regions()) {
        ObjectNode rn = regions.addObject();
        rn.put("name", r.name());
        rn.put("frequencyHz", r.frequencyHz());
        rn.put("phaseRad", r.phaseRad());
      }
      p.put("maxHarmonic", plan.maxHarmonic());
      p.put("maxImOrder", plan.maxImOrder());
      p.put("baselineBins", plan.baselineBins());
      p.put("baselineSkip", plan.baselineSkip());
      ArrayNode sb = p.putArray("signalBins");
      for (SignalBin b : plan.signalBins()) {
        ObjectNode bn = sb.addObject();
        bn.put("label", b.getLabel());
        bn.put("kind", b.getKind().name());
        bn.put("frequencyHz", b.getFrequencyHz());
        bn.put("bin", b.getBin());
        bn.put("order", b.getOrder());
      }
      ArrayNode ls = root.putArray("layers");
      for (ObjectNode l : layers) {
        ls.add(l.deepCopy());
      }
      return new SpectralReport(root);
    }
  }
}
