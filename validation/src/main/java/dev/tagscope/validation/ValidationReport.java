package dev.tagscope.validation;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.awt.BasicStroke;
import java.awt.Color;
import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.commons.csv.CSVFormat;
import org.apache.commons.csv.CSVPrinter;
import org.jfree.chart.ChartFactory;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.DeviationRenderer;
import org.jfree.data.xy.YIntervalSeries;
import org.jfree.data.xy.YIntervalSeriesCollection;

/**
 * Writes a {@link ValidationResult}: {@code validation.json} (fields documented in the README),
 * CSV files ready for plotting ({@code filters.csv}, {@code agreement.csv}, {@code pruning.csv})
 * and PNG charts drawn with JFreeChart ({@code rho-per-layer.png}, {@code pruning-network.png},
 * {@code pruning/<layer>.png}).
 */
public final class ValidationReport {
  /** Version of the JSON report's layout. */
  public static final String VERSION = "1.0.0";

  /** Criteria shown in the rho chart and the summary, in order. */
  public static final List<String> HEADLINE = List.of(Criteria.TAG, Criteria.TAG_FUNDAMENTAL, Criteria.TAG_HARMONIC,
      Criteria.TAG_IM, Criteria.PAPER_SNR, Criteria.TAYLOR, Criteria.MEAN_ACTIVATION, Criteria.WEIGHT_L1, Criteria.CLASS_SELECTIVITY,
      Criteria.RANDOM);

  private ValidationReport() {}

  /**
   * Writes every file into a folder (created if missing).
   *
   * @param r the result
   * @param dir the output folder
   * @return the files written
   * @throws IOException when a file cannot be written
   */
  public static List<Path> write(ValidationResult r, Path dir) throws IOException {
    Files.createDirectories(dir.resolve("pruning"));
    List<Path> out = new ArrayList<>();
    Path json = dir.resolve("validation.json");
    new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(json.toFile(), toJson(r));
    out.add(json);
    out.add(writeFiltersCsv(r, dir.resolve("filters.csv")));
    out.add(writeAgreementCsv(r, dir.resolve("agreement.csv")));
    out.add(writePruningCsv(r, dir.resolve("pruning.csv")));
    out.add(rhoChart(r, dir.resolve("rho-per-layer.png")));
    out.add(pruningChart(r.model() + ": whole network (" + r.layers().stream().mapToInt(ValidationResult.LayerResult::filters).sum()
        + " filters)", r.network(), dir.resolve("pruning-network.png")));
    for (ValidationResult.LayerResult l : r.layers()) {
      out.add(pruningChart(r.model() + " " + l.layer() + " (" + l.filters() + " filters)", l.curves(),
          dir.resolve("pruning").resolve(safeFileName(l.layer()) + ".png")));
    }
    return out;
  }

  /**
   * The mean over layers of each criterion's rho (layers where it is undefined left out).
   *
   * @param r the result
   * @return criterion to mean rho, in the order of the first layer's criteria
   */
  public static Map<String, Double> meanRho(ValidationResult r) {
    Map<String, double[]> sums = new LinkedHashMap<>();
    for (ValidationResult.LayerResult l : r.layers()) {
      l.agreement().forEach((name, a) -> {
        if (!Double.isNaN(a.rho())) {
          double[] s = sums.computeIfAbsent(name, k -> new double[2]);
          s[0] += a.rho();
          s[1]++;
        }
      });
    }
    Map<String, Double> out = new LinkedHashMap<>();
    sums.forEach((k, s) -> out.put(k, s[0] / s[1]));
    return out;
  }

  /**
   * Layers where the tag score's rho is above that of every cheap criterion.
   *
   * @param r the result
   * @return the layer labels
   */
  public static List<String> layersWhereTagBeatsCheap(ValidationResult r) {
    List<String> out = new ArrayList<>();
    for (ValidationResult.LayerResult l : r.layers()) {
      double tag = l.agreement().get(Criteria.TAG).rho();
      boolean beats = !Double.isNaN(tag);
      for (String c : Criteria.CHEAP) {
        Agreement a = l.agreement().get(c);
        if (a != null && !Double.isNaN(a.rho()) && a.rho() >= tag) {
          beats = false;
        }
      }
      if (beats) {
        out.add(l.layer());
      }
    }
    return out;
  }

  /**
   * Spearman rho between tag importance and the Taylor criterion over a layer's filters: how far
   * the label-free ranking agrees with the gradient-based one.
   *
   * @param l the layer
   * @return rho, or NaN when the Taylor criterion was not computed (or rho is undefined)
   */
  public static double tagVsTaylor(ValidationResult.LayerResult l) {
    double[] taylor = l.criteria().get(Criteria.TAYLOR);
    return taylor == null ? Double.NaN : Agreement.spearman(l.criteria().get(Criteria.TAG), taylor);
  }

  /**
   * The report as a JSON tree.
   *
   * @param r the result
   * @return the tree
   */
  public static ObjectNode toJson(ValidationResult r) {
    ObjectMapper m = new ObjectMapper();
    ObjectNode root = m.createObjectNode();
    root.put("version", VERSION);
    root.put("generatedAt", Instant.now().toString());
    root.put("model", r.model());
    ObjectNode data = root.putObject("images");
    data.put("source", r.imagesSource());
    data.put("ablation", r.images());
    data.put("curves", r.curveImages());
    data.put("probe", r.probeImages());
    ObjectNode stats = root.putObject("statistics");
    stats.put("damage", "mean cross-entropy increase (nats) when the filter's channel is set to 0");
    stats.put("correlation", "Spearman rho, average ranks for ties");
    stats.put("bootstrapResamples", r.settings().bootstrapResamples());
    stats.put("confidence", r.settings().confidence());
    stats.put("seed", r.settings().seed());
    stats.put("randomSeeds", r.settings().randomSeeds());
    root.put("defaultCriterion", r.defaultCriterion());
    root.put("taylor", r.taylor());
    root.put("baseAccuracy", r.baseAccuracy());
    root.put("baseCrossEntropy", r.baseCrossEntropy());
    root.put("curveBaseAccuracy", r.curveBaseAccuracy());
    ObjectNode summary = root.putObject("summary");
    ObjectNode mean = summary.putObject("meanRho");
    meanRho(r).forEach((k, v) -> putNumber(mean, k, v));
    ArrayNode beats = summary.putArray("layersWhereTagBeatsEveryCheapCriterion");
    layersWhereTagBeatsCheap(r).forEach(beats::add);
    ObjectNode timing = root.putObject("seconds");
    r.seconds().forEach(timing::put);
    root.put("filterEvaluationsPerSecond", r.filterEvaluationsPerSecond());
    ArrayNode layers = root.putArray("layers");
    for (ValidationResult.LayerResult l : r.layers()) {
      ObjectNode ln = layers.addObject();
      ln.put("layer", l.layer());
      ln.put("filters", l.filters());
      ln.put("weightL1Source", l.weightL1Source());
      putNumber(ln, "rhoTagTaylor", tagVsTaylor(l));
      ArrayNode cr = ln.putArray("criteria");
      l.agreement().forEach((name, a) -> {
        ObjectNode c = cr.addObject();
        c.put("criterion", name);
        putNumber(c, "rho", a.rho());
        putNumber(c, "rhoLow", a.low());
        putNumber(c, "rhoHigh", a.high());
        putNumber(c, "rhoAccuracy", l.rhoAccuracy().get(name));
      });
      ln.set("pruning", curvesJson(m, l.curves()));
      ArrayNode fl = ln.putArray("perFilter");
      for (int k = 0; k < l.filters(); k++) {
        ObjectNode f = fl.addObject();
        f.put("filter", k);
        putNumber(f, "crossEntropyIncrease", l.crossEntropyIncrease()[k]);
        putNumber(f, "accuracyDrop", l.accuracyDrop()[k]);
        for (String name : HEADLINE) {
          double[] v = l.criteria().get(name);
          if (v != null) {
            putNumber(f, name, v[k]);
          }
        }
      }
    }
    root.putObject("network").set("pruning", curvesJson(m, r.network()));
    return root;
  }

  private static ArrayNode curvesJson(ObjectMapper m, List<PruningCurve> curves) {
    ArrayNode a = m.createArrayNode();
    for (PruningCurve c : curves) {
      ObjectNode n = a.addObject();
      n.put("criterion", c.criterion());
      ArrayNode f = n.putArray("fractions");
      ArrayNode acc = n.putArray("accuracy");
      ArrayNode sd = n.putArray("spread");
      for (int i = 0; i < c.fractions().length; i++) {
        f.add(c.fractions()[i]);
        acc.add(c.accuracy()[i]);
      }
      for (double s : c.spread()) {
        sd.add(s);
      }
      putNumber(n, "auc", c.auc());
    }
    return a;
  }

  /** NaN and infinities are not JSON numbers: they become null. */
  private static void putNumber(ObjectNode n, String field, Double v) {
    if (v == null || v.isNaN() || v.isInfinite()) {
      n.putNull(field);
    } else {
      n.put(field, v);
    }
  }

  private static Path writeFiltersCsv(ValidationResult r, Path file) throws IOException {
    List<String> names = new ArrayList<>();
    r.layers().forEach(l -> l.criteria().keySet().forEach(k -> {
      if (!names.contains(k)) {
        names.add(k);
      }
    }));
    List<String> header = new ArrayList<>(List.of("model", "layer", "filter", "cross_entropy_increase", "accuracy_drop"));
    header.addAll(names);
    try (Writer w = Files.newBufferedWriter(file, StandardCharsets.UTF_8);
         CSVPrinter p = new CSVPrinter(w, CSVFormat.DEFAULT.builder().setHeader(header.toArray(new String[0])).build())) {
      for (ValidationResult.LayerResult l : r.layers()) {
        for (int k = 0; k < l.filters(); k++) {
          List<Object> row = new ArrayList<>(List.of(r.model(), l.layer(), k, num(l.crossEntropyIncrease()[k]), num(l.accuracyDrop()[k])));
          for (String n : names) {
            double[] v = l.criteria().get(n);
            row.add(v == null ? "" : num(v[k]));
          }
          p.printRecord(row);
        }
      }
    }
    return file;
  }

  private static Path writeAgreementCsv(ValidationResult r, Path file) throws IOException {
    try (Writer w = Files.newBufferedWriter(file, StandardCharsets.UTF_8);
         CSVPrinter p = new CSVPrinter(w, CSVFormat.DEFAULT.builder()
             .setHeader("model", "layer", "criterion", "rho", "rho_low", "rho_high", "rho_accuracy").build())) {
      for (ValidationResult.LayerResult l : r.layers()) {
        for (Map.Entry<String, Agreement> e : l.agreement().entrySet()) {
          Agreement a = e.getValue();
          p.printRecord(r.model(), l.layer(), e.getKey(), num(a.rho()), num(a.low()), num(a.high()), num(l.rhoAccuracy().get(e.getKey())));
        }
      }
    }
    return file;
  }

  private static Path writePruningCsv(ValidationResult r, Path file) throws IOException {
    try (Writer w = Files.newBufferedWriter(file, StandardCharsets.UTF_8);
         CSVPrinter p = new CSVPrinter(w, CSVFormat.DEFAULT.builder()
             .setHeader("model", "scope", "criterion", "fraction", "accuracy", "spread", "auc").build())) {
      List<Map.Entry<String, List<PruningCurve>>> scopes = new ArrayList<>();
      r.layers().forEach(l -> scopes.add(Map.entry(l.layer(), l.curves())));
      scopes.add(Map.entry("*", r.network()));
      for (Map.Entry<String, List<PruningCurve>> s : scopes) {
        for (PruningCurve c : s.getValue()) {
          for (int i = 0; i < c.fractions().length; i++) {
            p.printRecord(r.model(), s.getKey(), c.criterion(), num(c.fractions()[i]), num(c.accuracy()[i]),
                c.spread().length > i ? num(c.spread()[i]) : "", num(c.auc()));
          }
        }
      }
    }
    return file;
  }

  private static String num(Double v) {
    return v == null || v.isNaN() ? "" : String.format(Locale.ROOT, "%.6g", v);
  }

  private static Path rhoChart(ValidationResult r, Path file) throws IOException {
    YIntervalSeriesCollection data = new YIntervalSeriesCollection();
    for (String name : List.of(Criteria.TAG, Criteria.TAYLOR, Criteria.MEAN_ACTIVATION, Criteria.WEIGHT_L1,
        Criteria.CLASS_SELECTIVITY, Criteria.RANDOM)) {
      if (r.layers().stream().noneMatch(l -> l.agreement().containsKey(name))) {
        continue; // taylor when skipped
      }
      YIntervalSeries s = new YIntervalSeries(name);
      for (int i = 0; i < r.layers().size(); i++) {
        Agreement a = r.layers().get(i).agreement().get(name);
        if (a != null && !Double.isNaN(a.rho())) {
          s.add(i, a.rho(), Double.isNaN(a.low()) ? a.rho() : a.low(), Double.isNaN(a.high()) ? a.rho() : a.high());
        }
      }
      data.addSeries(s);
    }
    JFreeChart chart = ChartFactory.createXYLineChart(r.model() + ": Spearman rho with ablation damage per layer (95 % interval)",
        "layer index (" + r.layers().get(0).layer() + " = 0 ... " + r.layers().get(r.layers().size() - 1).layer() + ")",
        "rho vs cross-entropy increase", data, PlotOrientation.VERTICAL, true, false, false);
    style(chart, data.getSeriesCount());
    ((XYPlot) chart.getPlot()).getRangeAxis().setRange(-1, 1);
    ChartUtils.saveChartAsPNG(file.toFile(), chart, 1100, 600);
    return file;
  }

  private static Path pruningChart(String title, List<PruningCurve> curves, Path file) throws IOException {
    YIntervalSeriesCollection data = new YIntervalSeriesCollection();
    for (PruningCurve c : curves) {
      YIntervalSeries s = new YIntervalSeries(c.criterion() + String.format(Locale.ROOT, " (AUC %.3f)", c.auc()));
      for (int i = 0; i < c.fractions().length; i++) {
        double sd = c.spread().length > i ? c.spread()[i] : 0;
        s.add(100 * c.fractions()[i], c.accuracy()[i], c.accuracy()[i] - sd, c.accuracy()[i] + sd);
      }
      data.addSeries(s);
    }
    JFreeChart chart = ChartFactory.createXYLineChart(title + ": accuracy as filters are zeroed, least important first",
        "filters zeroed (%)", "accuracy", data, PlotOrientation.VERTICAL, true, false, false);
    style(chart, data.getSeriesCount());
    ((XYPlot) chart.getPlot()).getRangeAxis().setRange(0, 1);
    ChartUtils.saveChartAsPNG(file.toFile(), chart, 900, 560);
    return file;
  }

  private static final Color[] PALETTE = {new Color(0xd62728), new Color(0x1f77b4), new Color(0x2ca02c),
      new Color(0x9467bd), new Color(0x7f7f7f), new Color(0xff7f0e), new Color(0x8c564b), new Color(0x17becf)};

  private static void style(JFreeChart chart, int series) {
    XYPlot plot = (XYPlot) chart.getPlot();
    plot.setBackgroundPaint(Color.WHITE);
    plot.setRangeGridlinePaint(Color.LIGHT_GRAY);
    plot.setDomainGridlinePaint(Color.LIGHT_GRAY);
    DeviationRenderer dr = new DeviationRenderer(true, true);
    for (int i = 0; i < series; i++) {
      Color c = PALETTE[i % PALETTE.length];
      dr.setSeriesPaint(i, c);
      dr.setSeriesFillPaint(i, c);
      dr.setSeriesStroke(i, new BasicStroke(i == 0 ? 3f : 1.8f));
    }
    dr.setAlpha(0.15f);
    plot.setRenderer(dr);
  }

  /** A layer label as a file name: anything but letters, digits, dot, dash and underscore becomes '_'. */
  static String safeFileName(String layer) {
    String s = layer.replaceAll("[^A-Za-z0-9._-]", "_");
    return s.isEmpty() || s.startsWith(".") ? "_" + s : s;
  }
}
