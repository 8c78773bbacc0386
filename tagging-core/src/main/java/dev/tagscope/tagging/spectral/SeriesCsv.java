package dev.tagscope.tagging.spectral;

import dev.tagscope.tagging.AnalysisPlan;
import dev.tagscope.tagging.PlanException;
import dev.tagscope.tagging.WindowGeometry;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.Reader;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Offline input of {@code tagscope analyze}: a CSV of per-filter time series, one column per
 * filter (the header row names them), one row per frame, plain decimal numbers separated by
 * commas. Blank lines are ignored; surrounding double quotes of header names are removed.
 *
 * <pre>
 * conv1_0,conv1_1,conv1_2
 * 0.125,1.5,-0.25
 * 0.131,1.49,-0.24
 * </pre>
 *
 * <p>{@link #analyzeSeries} cuts the series into windows of {@code W} frames starting at frames
 * {@code 0, H, 2H, ...} while {@code start + W <= frames}, analyses each (see
 * {@link WindowAnalyzer}), and reports one layer named after the file.
 */
public final class SeriesCsv {
  private SeriesCsv() {}

  /**
   * A parsed series.
   *
   * @param names filter names from the header, {@code [C]}
   * @param values {@code [C][T]} values, filter-major
   */
  public record Series(List<String> names, double[][] values) {
    /** @return {@code T}, frames in the series */
    public int frames() {
      return values.length == 0 ? 0 : values[0].length;
    }
  }

  /**
   * Reads a series file (UTF-8).
   *
   * @param csv the file
   * @return the series
   * @throws IOException when the file cannot be read, or is not UTF-8 text (the message names the file)
   * @throws IllegalArgumentException when the content is malformed: no header (a first row of numbers), two columns of one name, a row with a
   *     different number of values than the header (ragged), a value that is not a number, NaN or
   *     infinite; the message gives the file name, line number and column (filter name)
   */
  public static Series read(Path csv) throws IOException {
    String name = csv.getFileName().toString();
    try (Reader r = Files.newBufferedReader(csv, StandardCharsets.UTF_8)) {
      return parse(r, name);
    } catch (CharacterCodingException e) {
      // the decoder's own message is only "Input length = 1"
      throw new IOException(name + ": not UTF-8 text (" + e + "); save the series as UTF-8", e);
    }
  }

  /**
   * Parses a series from text.
   *
   * @param in the CSV text
   * @param source name used in error messages, e.g. the file name
   * @return the series
   * @throws IOException when reading fails
   * @throws IllegalArgumentException as for {@link #read(Path)}
   */
  public static Series parse(Reader in, String source) throws IOException {
    BufferedReader r = in instanceof BufferedReader b ? b : new BufferedReader(in);
    List<String> names = null;
    List<double[]> rows = new ArrayList<>();
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
      String[] cells = line.split(",", -1);
      if (names == null) {
        if (looksLikeData(cells)) {
          // A file without a header would lose its first frame (shifting every window) and name
          // its filters after the values ("3.000000").
          throw new IllegalArgumentException(source + " line " + lineNo + ": '" + abbreviate(line)
              + "' is a row of numbers, not a header; the first row must name the filters, e.g. filter_0,filter_1,...");
        }
        names = new ArrayList<>(cells.length);
        Map<String, Integer> columnOf = new HashMap<>(); // not names.indexOf: quadratic, minutes for 100,000 columns
        for (int i = 0; i < cells.length; i++) {
          String n = cells[i].trim();
          if (n.length() >= 2 && n.startsWith("\"") && n.endsWith("\"")) {
            n = n.substring(1, n.length() - 1);
          }
          if (n.isEmpty()) {
            throw new IllegalArgumentException(source + " line " + lineNo + ": column " + (i + 1)
                + " has no filter name; the first row must name every column");
          }
          Integer first = columnOf.putIfAbsent(n, i);
          if (first != null) {
            // the report keys filters by name, so two columns of one name would be merged or lost
            throw new IllegalArgumentException(source + " line " + lineNo + ": columns " + (first + 1) + " and " + (i + 1)
                + " are both named '" + n + "'; give every filter column its own name");
          }
          names.add(n);
        }
        continue;
      }
      if (cells.length != names.size()) {
        throw new IllegalArgumentException(source + " line " + lineNo + ": " + cells.length + " values, but the header names "
            + names.size() + " filters (ragged row)");
      }
      double[] row = new double[cells.length];
      for (int i = 0; i < cells.length; i++) {
        String cell = cells[i].trim();
        double v;
        try {
          v = Double.parseDouble(cell);
        } catch (NumberFormatException e) {
          throw new IllegalArgumentException(source + " line " + lineNo + ", column " + (i + 1) + " (" + names.get(i) + "): '"
              + cell + "' is not a number");
        }
        if (!Double.isFinite(v)) {
          throw new IllegalArgumentException(source + " line " + lineNo + ", column " + (i + 1) + " (" + names.get(i) + "): "
              + cell + " is not allowed; every value must be a finite number");
        }
        row[i] = v;
      }
      rows.add(row);
    }
    if (names == null) {
      throw new IllegalArgumentException(source + ": empty; expected a header row of filter names and one row per frame");
    }
    double[][] values = new double[names.size()][rows.size()];
    for (int t = 0; t < rows.size(); t++) {
      double[] row = rows.get(t);
      for (int c = 0; c < row.length; c++) {
        values[c][t] = row[c];
      }
    }
    return new Series(List.copyOf(names), values);
  }

  /**
   * Reads a CSV series and analyses it into a report with one layer named after the file
   * (without its {@code .csv} extension); filters keep their header names.
   *
   * @param csv the series file
   * @param plan the analysis plan (fps, window, hop, tag frequencies, catalogue, baseline)
   * @return the report (not yet written)
   * @throws IOException when the file cannot be read
   * @throws PlanException when the series is shorter than one window
   * @throws IllegalArgumentException when the CSV is malformed
   */
  public static SpectralReport analyzeSeries(Path csv, AnalysisPlan plan) throws IOException {
    Series s = read(csv);
    String name = csv.getFileName().toString();
    if (name.toLowerCase(java.util.Locale.ROOT).endsWith(".csv")) {
      name = name.substring(0, name.length() - 4);
    }
    return analyze(s, name, plan, null);
  }

  /**
   * Analyses a parsed series into a report with one layer.
   *
   * @param series the series
   * @param layer the layer name to report
   * @param plan the plan
   * @param model free-form model facts, or null
   * @return the report
   * @throws PlanException ("windowFrames") when the series is shorter than one window
   */
  public static SpectralReport analyze(Series series, String layer, AnalysisPlan plan, Map<String, ?> model) {
    WindowGeometry geometry = plan.window().overSeries(series.frames());
    int w = geometry.windowFrames();
    WindowAnalyzer an = new WindowAnalyzer(plan);
    LayerAccumulator acc = new LayerAccumulator(plan.signalBins());
    int c = series.names().size();
    double[][] window = new double[c][w];
    for (int k0 = 0; k0 <= geometry.lastWindow(); k0++) {
      int start = geometry.windowStart(k0);
      for (int k = 0; k < c; k++) {
        System.arraycopy(series.values()[k], start, window[k], 0, w);
      }
      acc.add(an.analyze(window));
    }
    return SpectralReport.builder(plan).model(model).layer(layer, acc, series.names()).build();
  }

  /**
   * @return whether a first row is data rather than names: numbers only, one of them not a plain
   *     integer (integer names such as {@code 0,1,2}, filter indices, stay allowed)
   */
  private static boolean looksLikeData(String[] cells) {
    boolean anyNonInteger = false;
    for (String cell : cells) {
      String c = cell.trim();
      try {
        Double.parseDouble(c);
      } catch (NumberFormatException e) {
        return false;
      }
      anyNonInteger |= !c.matches("[0-9]+");
    }
    return anyNonInteger;
  }

  private static String abbreviate(String line) {
    return line.length() <= 60 ? line : line.substring(0, 57) + "...";
  }
}
