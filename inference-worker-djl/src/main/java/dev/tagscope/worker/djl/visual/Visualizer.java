package dev.tagscope.worker.djl.visual;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.tagscope.schemas.Reduction;
import dev.tagscope.worker.Preprocessing;
import dev.tagscope.worker.djl.DjlActivationModel;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.LongConsumer;
import javax.imageio.ImageIO;

/**
 * Feature visualisation of chosen filters, written as the visualisations folder the dashboard reads:
 * {@code index.json}, one PNG per filter in the model's input size and one contact sheet per layer
 * (README, "Feature visualisation"). Usage:
 *
 * <pre>{@code
 * Visualizer.Result r = Visualizer.run(new Visualizer.Request(model, layers, samples, sampleCount,
 *     VisualSettings.DEFAULTS, "offline probe", Path.of("tagscope-visualizations")), filterSteps -> bar.stepBy(filterSteps));
 * }</pre>
 *
 * File names come from layer labels, every character outside {@code [A-Za-z0-9._-]} replaced by
 * {@code _} ({@link #safeName}), flat in the folder (never a sub-folder, so a label such as {@code ..}
 * cannot leave it); readers must take the paths from {@code index.json}.
 */
public final class Visualizer {
  /** The {@code index.json} format this class writes. */
  public static final int FORMAT = 1;
  /** The file every visualisations folder has. */
  public static final String INDEX = "index.json";
  /** Images per inference batch for the sample means. */
  private static final int SAMPLE_BATCH = 64;

  private Visualizer() {}

  /**
   * A filter to visualise, with its tag ranking in its layer.
   *
   * @param filter the filter (channel) index
   * @param rank its tag rank, 1 = most important
   * @param importance its tag importance, score / the layer's top score
   */
  public record Choice(int filter, int rank, double importance) {}

  /**
   * @param layer a tapped layer's label
   * @param filters the filters to visualise, in the order they are drawn
   */
  public record LayerChoice(String layer, List<Choice> filters) {
    /** Copies the list. */
    public LayerChoice {
      filters = List.copyOf(filters);
    }
  }

  /**
   * What to visualise and where.
   *
   * @param model the DJL model, tapping every layer in {@code layers}
   * @param layers the layers and filters
   * @param samples labelled sample images, preprocessed, {@code [sampleCount,C,H,W]} flattened
   * @param sampleCount how many images {@code samples} holds (at least 1)
   * @param settings the optimisation settings
   * @param importanceSource where the ranking came from (a report path, or {@code offline probe})
   * @param out the folder to write, created when missing
   */
  public record Request(DjlActivationModel model, List<LayerChoice> layers, float[] samples, int sampleCount,
                        VisualSettings settings, String importanceSource, Path out) {
    /** Checks the request. */
    public Request {
      Objects.requireNonNull(model, "model");
      Objects.requireNonNull(settings, "settings");
      Objects.requireNonNull(out, "out");
      layers = List.copyOf(layers);
      if (layers.isEmpty() || layers.stream().anyMatch(l -> l.filters().isEmpty())) {
        throw new IllegalArgumentException("layers: give at least one layer, each with at least one filter");
      }
      if (sampleCount < 1) {
        throw new IllegalArgumentException("sampleCount: at least one sample image is needed for the mean activation");
      }
      model.preprocessing().checkBatch(samples, sampleCount);
    }

    /** @return filters times steps: the units of the progress */
    public long totalFilterSteps() {
      return layers.stream().mapToLong(l -> l.filters().size()).sum() * settings.steps();
    }
  }

  /**
   * The {@code index.json} document (shared contract with the dashboard).
   *
   * @param format {@link #FORMAT}
   * @param model the model's name
   * @param modelVersion the model's version
   * @param classes the model's class names
   * @param method how the images were made
   * @param importanceSource a report path, or {@code offline probe}
   * @param layers per layer, its contact sheet and filters
   */
  public record Index(int format, String model, String modelVersion, List<String> classes, Method method,
                      String importanceSource, List<IndexLayer> layers) {}

  /**
   * @param name {@code activation-maximisation}
   * @param regulariser the regularisers in words
   * @param steps gradient steps
   * @param learningRate step length, normalised input units per RMS-normalised gradient
   * @param l2Decay fraction removed per step
   * @param blurSigma Gaussian blur width, pixels
   * @param blurEvery steps between blurs
   * @param jitterPixels largest jitter shift, pixels
   * @param seed random seed
   * @param objective what is maximised
   */
  public record Method(String name, String regulariser, int steps, double learningRate, double l2Decay, double blurSigma,
                       int blurEvery, int jitterPixels, long seed, String objective) {}

  /**
   * @param layer the layer label as in reports
   * @param contactSheet the sheet's path relative to the folder
   * @param filters the filters drawn
   */
  public record IndexLayer(String layer, String contactSheet, List<IndexFilter> filters) {}

  /**
   * @param filter the filter index
   * @param rank its tag rank (1 = most important)
   * @param importance its tag importance
   * @param image its PNG's path relative to the folder
   * @param activation the objective the visualisation reached
   * @param meanSampleActivation the objective's mean over the sample images
   */
  public record IndexFilter(int filter, int rank, double importance, String image, double activation,
                            double meanSampleActivation) {}

  /**
   * @param index what {@code index.json} says
   * @param files every file written, {@code index.json} last
   * @param secondsPerLayer wall time of each layer's optimisation, seconds, in layer order
   */
  public record Result(Index index, List<Path> files, Map<String, Double> secondsPerLayer) {}

  /**
   * Optimises every chosen filter, measures the objective of each result and the sample mean, and
   * writes the folder.
   *
   * @param r what to visualise
   * @param progress called with filter-steps done ({@link Request#totalFilterSteps()} in all)
   * @return what was written
   * @throws IOException when the folder or a file cannot be written
   * @throws IllegalArgumentException when a layer is not tapped or a filter is outside its layer
   */
  public static Result run(Request r, LongConsumer progress) throws IOException {
    Preprocessing pre = r.model().preprocessing();
    Map<String, double[]> sampleMeans = sampleMeans(r.model(), r.samples(), r.sampleCount());
    Files.createDirectories(r.out());
    List<Path> files = new ArrayList<>();
    List<IndexLayer> layers = new ArrayList<>();
    Map<String, Double> seconds = new LinkedHashMap<>();
    Set<String> usedNames = new HashSet<>();
    for (LayerChoice lc : r.layers()) {
      ActivationMaximiser max = new ActivationMaximiser(r.model(), lc.layer());
      int[] filters = lc.filters().stream().mapToInt(Choice::filter).toArray();
      long t0 = System.nanoTime();
      float[] images = max.maximise(filters, r.settings(), progress);
      seconds.put(lc.layer(), (System.nanoTime() - t0) / 1e9);
      float[][] reached = r.model().run(images, filters.length, Reduction.MEAN).get(lc.layer());
      String base = uniqueName(safeName(lc.layer()), usedNames);
      List<IndexFilter> entries = new ArrayList<>();
      List<BufferedImage> pictures = new ArrayList<>();
      List<String> captions = new ArrayList<>();
      for (int b = 0; b < filters.length; b++) {
        Choice ch = lc.filters().get(b);
        BufferedImage img = FeatureImages.toImage(images, b, pre);
        String name = base + "_filter-" + ch.filter() + ".png";
        files.add(writePng(img, r.out().resolve(name)));
        pictures.add(img);
        captions.add("f" + ch.filter() + " #" + ch.rank());
        entries.add(new IndexFilter(ch.filter(), ch.rank(), ch.importance(), name, reached[b][ch.filter()],
            sampleMeans.get(lc.layer())[ch.filter()]));
      }
      String sheet = base + "_sheet.png";
      files.add(writePng(FeatureImages.contactSheet(pictures, captions), r.out().resolve(sheet)));
      layers.add(new IndexLayer(lc.layer(), sheet, entries));
    }
    VisualSettings s = r.settings();
    Index index = new Index(FORMAT, r.model().name(), r.model().version(), r.model().classes(),
        new Method("activation-maximisation", s.regulariser(), s.steps(), s.learningRate(), s.l2Decay(), s.blurSigma(),
            s.blurEvery(), s.jitterPixels(), s.seed(), "spatial mean of the filter's map"),
        r.importanceSource(), layers);
    Path indexFile = r.out().resolve(INDEX);
    new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(indexFile.toFile(), index);
    files.add(indexFile);
    return new Result(index, files, seconds);
  }

  /**
   * Per tapped layer, each filter's objective (spatial mean of its map) averaged over the samples.
   *
   * @param model the model
   * @param samples preprocessed images, {@code [n,C,H,W]} flattened
   * @param n image count
   * @return layer label to per-filter mean, in activation units
   */
  public static Map<String, double[]> sampleMeans(DjlActivationModel model, float[] samples, int n) {
    int len = model.preprocessing().inputLength();
    Map<String, double[]> sums = new LinkedHashMap<>();
    for (int start = 0; start < n; start += SAMPLE_BATCH) {
      int m = Math.min(SAMPLE_BATCH, n - start);
      float[] batch = java.util.Arrays.copyOfRange(samples, start * len, (start + m) * len);
      for (Map.Entry<String, float[][]> e : model.run(batch, m, Reduction.MEAN).entrySet()) {
        double[] s = sums.computeIfAbsent(e.getKey(), k -> new double[e.getValue()[0].length]);
        for (float[] row : e.getValue()) {
          for (int c = 0; c < row.length; c++) {
            s[c] += row[c];
          }
        }
      }
    }
    sums.values().forEach(s -> {
      for (int c = 0; c < s.length; c++) {
        s[c] /= n;
      }
    });
    return sums;
  }

  /**
   * A layer label as a file-name stem: every character outside {@code [A-Za-z0-9._-]} becomes {@code _}.
   *
   * @param layer the label
   * @return the stem, e.g. {@code layer1.0} for {@code layer1.0}, {@code a_b} for {@code a/b}
   */
  public static String safeName(String layer) {
    return layer.replaceAll("[^A-Za-z0-9._-]", "_");
  }

  /** Two labels that map to one stem (a/b, a_b) get {@code -2}, {@code -3} ... on the later one. */
  private static String uniqueName(String stem, Set<String> used) {
    String name = stem;
    for (int k = 2; !used.add(name); k++) {
      name = stem + "-" + k;
    }
    return name;
  }

  private static Path writePng(BufferedImage img, Path file) throws IOException {
    if (!ImageIO.write(img, "png", file.toFile())) {
      throw new IOException("no PNG writer in this JVM for " + file);
    }
    return file;
  }
}
