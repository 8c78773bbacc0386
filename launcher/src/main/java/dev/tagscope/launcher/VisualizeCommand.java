package dev.tagscope.launcher;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tagscope.producer.Image;
import dev.tagscope.producer.ImageLoader;
import dev.tagscope.schemas.FilterImportance;
import dev.tagscope.tagging.ProbePlan;
import dev.tagscope.tagging.spectral.LayerAccumulator;
import dev.tagscope.validation.TagProbe;
import dev.tagscope.worker.ActivationModel;
import dev.tagscope.worker.ModelConfig;
import dev.tagscope.worker.Preprocessor;
import dev.tagscope.worker.TappedLayer;
import dev.tagscope.worker.djl.DjlActivationModel;
import dev.tagscope.worker.djl.visual.VisualSettings;
import dev.tagscope.worker.djl.visual.Visualizer;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code tagscope visualize}: feature visualisation of the important filters by activation
 * maximisation through DJL's autograd ({@link Visualizer}); which filters, from a report's ranking
 * or from an offline tag probe ({@link TagProbe}, as {@code validate} runs it). Writes the
 * visualisations folder (README, "Feature visualisation").
 */
@Command(name = "visualize", mixinStandardHelpOptions = true,
    description = "Feature visualisation of each layer's most important filters (activation maximisation, DJL autograd):"
        + " a PNG per filter, a contact sheet per layer, index.json.")
final class VisualizeCommand implements Callable<Integer> {
  /** The TorchScript twin of the bundled model: gradients need the DJL engine. */
  static final String DEFAULT_TORCHSCRIPT = "models/fmnist-resnet32.pt";

  @Spec CommandSpec spec;
  @Mixin ModelOptions model;
  @Mixin PlanOptions plan;

  @Option(names = "--filters", defaultValue = "top:8", paramLabel = "top:K|all|I,J,...",
      description = "Filters per layer: top:K by tag importance, all, or filter indices (default ${DEFAULT-VALUE}).")
  String filters;

  @Option(names = "--report", paramLabel = "FILE",
      description = "Take the ranking from this JSON report (tagscope demo/analyze); default: an offline tag probe of --probe-count images.")
  Path report;

  @Option(names = "--images", paramLabel = "PATH",
      description = "Labelled sample images (for the mean activation, and the probe): IDX file or folder (default: the"
          + " Fashion-MNIST test set when the Debian package is installed, else the bundled models/samples).")
  Path images;

  @Option(names = "--sample-count", defaultValue = "512", description = "Sample images for each filter's mean activation (default ${DEFAULT-VALUE}).")
  int sampleCount;

  @Option(names = "--probe-count", defaultValue = "16", description = "Images of the offline tag probe (default ${DEFAULT-VALUE}, as the demo).")
  int probeCount;

  @Option(names = "--steps", description = "Gradient steps per filter (default 256).")
  Integer steps;

  @Option(names = "--learning-rate", description = "Step length, normalised input units per RMS-normalised gradient (default 0.05).")
  Double learningRate;

  @Option(names = "--l2-decay", description = "Fraction of the image removed after each step (default 0.002).")
  Double l2Decay;

  @Option(names = "--blur-sigma", description = "Gaussian blur width, pixels; 0 for none (default 0.5).")
  Double blurSigma;

  @Option(names = "--blur-every", description = "Steps between blurs (default 4).")
  Integer blurEvery;

  @Option(names = "--jitter", description = "Largest random shift per step, pixels (default 2).")
  Integer jitter;

  @Option(names = "--seed", description = "Random seed of the start image and the jitter (default 0).")
  Long seed;

  @Option(names = "--out", defaultValue = "tagscope-visualizations", description = "Output folder (default ${DEFAULT-VALUE}).")
  Path out;

  @Override
  public Integer call() throws Exception {
    Path home = ModelOptions.home();
    VisualSettings settings = settings();
    FilterSpec spec = FilterSpec.parse(filters, this.spec);
    if (sampleCount < 1) {
      throw new ParameterException(this.spec.commandLine(), "--sample-count: must be at least 1, got " + sampleCount);
    }
    if (probeCount < 1) {
      throw new ParameterException(this.spec.commandLine(), "--probe-count: must be at least 1, got " + probeCount);
    }
    if (report != null && !Files.isRegularFile(report)) {
      throw new ParameterException(this.spec.commandLine(), "--report: no such file " + report.toAbsolutePath()
          + "; pass the JSON report that tagscope demo or analyze wrote, or leave it out to probe offline");
    }
    ModelConfig config = model.settings(home, Map.of()).modelConfig().withModelPath(torchScript(home));
    PrintStream o = System.out;
    try (ActivationModel loaded = ActivationModel.load(config.withEngine(ModelConfig.DJL))) {
      DjlActivationModel m = (DjlActivationModel) loaded;
      for (TappedLayer t : m.tappedLayers()) {
        spec.check(t, this.spec); // before the probe: a bad index fails at once
      }
      Path source = ProbeOptions.imageSource(images, home);
      List<Image> set = ImageLoader.builder().limit(Math.max(sampleCount, probeCount)).build().load(source);
      Map<String, List<FilterImportance>> ranking = report != null ? fromReport(report, m) : probe(m, set);
      List<Visualizer.LayerChoice> layers = new ArrayList<>();
      for (TappedLayer t : m.tappedLayers()) {
        layers.add(new Visualizer.LayerChoice(t.name(), spec.choose(ranking.get(t.name()), t, this.spec)));
      }
      int n = Math.min(sampleCount, set.size());
      Preprocessor pre = new Preprocessor(m.preprocessing());
      float[] samples = new float[n * pre.inputLength()];
      for (int i = 0; i < n; i++) {
        Image im = set.get(i);
        pre.apply(im.pixels(), im.channels(), im.height(), im.width(), samples, i * pre.inputLength());
      }
      String importanceSource = report != null ? report.toString() : "offline probe";
      Visualizer.Request request = new Visualizer.Request(m, layers, samples, n, settings, importanceSource, out);
      o.printf("visualizing %d filters in %d layers of %s (%d steps each; ranking from %s)%n",
          layers.stream().mapToInt(l -> l.filters().size()).sum(), layers.size(), m.name(), settings.steps(), importanceSource);
      long t0 = System.nanoTime();
      Visualizer.Result r;
      try (ProgressBar bar = bar("visualize", request.totalFilterSteps(), "filter-steps")) {
        r = Visualizer.run(request, bar::stepBy);
      }
      for (Visualizer.IndexLayer l : r.index().layers()) {
        double reached = l.filters().stream().mapToDouble(Visualizer.IndexFilter::activation).average().orElse(Double.NaN);
        double mean = l.filters().stream().mapToDouble(Visualizer.IndexFilter::meanSampleActivation).average().orElse(Double.NaN);
        o.printf(Locale.ROOT, "%-10s %2d filters %-22s reached %.3f (samples' mean %.3f) in %.1f s -> %s%n", l.layer(),
            l.filters().size(), l.filters().stream().map(f -> "f" + f.filter()).reduce((a, b) -> a + "," + b).orElse(""),
            reached, mean, r.secondsPerLayer().get(l.layer()), l.contactSheet());
      }
      o.printf(Locale.ROOT, "wrote %d files to %s in %.1f s%n", r.files().size(), out.toAbsolutePath(),
          (System.nanoTime() - t0) / 1e9);
    }
    return 0;
  }

  /** A console progress bar with rate and ETA (me.tongfei progressbar), as validate's. */
  private static ProgressBar bar(String task, long total, String unit) {
    return new ProgressBarBuilder().setTaskName(task).setInitialMax(total).setUnit(" " + unit, 1)
        .setStyle(ProgressBarStyle.ASCII).setUpdateIntervalMillis(500).showSpeed().build();
  }

  /** The TorchScript file: {@code --model} when it is one, the {@code .pt} beside an {@code .onnx}, else refused. */
  private Path torchScript(Path home) {
    if (model.engine() != null && !model.engine().equals(ModelConfig.DJL)) {
      throw new ParameterException(spec.commandLine(), "--engine: visualize needs gradients, which only the djl engine"
          + " gives; leave --engine out or pass --engine djl with a .pt model");
    }
    if (model.model == null) {
      return home.resolve(DEFAULT_TORCHSCRIPT);
    }
    Path twin = ModelConfig.torchScriptTwin(model.model);
    if (Files.isRegularFile(twin)) {
      return twin;
    }
    throw new ParameterException(spec.commandLine(), "--model: visualize needs the TorchScript export (.pt) of " + model.model
        + " for DJL's autograd; write it with tools/torchscript_export.py and pass it (or put it beside the .onnx)");
  }

  private VisualSettings settings() {
    VisualSettings d = VisualSettings.DEFAULTS;
    try {
      return new VisualSettings(steps != null ? steps : d.steps(), learningRate != null ? learningRate : d.learningRate(),
          l2Decay != null ? l2Decay : d.l2Decay(), blurSigma != null ? blurSigma : d.blurSigma(),
          blurEvery != null ? blurEvery : d.blurEvery(), jitter != null ? jitter : d.jitterPixels(), seed != null ? seed : d.seed());
    } catch (IllegalArgumentException e) {
      // The settings name their fields; say which option sets each.
      String msg = e.getMessage().replaceFirst("^steps:", "--steps:").replaceFirst("^learningRate:", "--learning-rate:")
          .replaceFirst("^l2Decay:", "--l2-decay:").replaceFirst("^blurSigma:", "--blur-sigma:")
          .replaceFirst("^blurEvery:", "--blur-every:").replaceFirst("^jitterPixels:", "--jitter:");
      throw new ParameterException(spec.commandLine(), msg);
    }
  }

  /** Per layer, every filter's tag importance from the offline probe of the first {@code --probe-count} images. */
  private Map<String, List<FilterImportance>> probe(DjlActivationModel m, List<Image> set) {
    List<Image> probeImages = set.subList(0, Math.min(probeCount, set.size()));
    Image first = probeImages.get(0);
    ProbePlan p = plan.planBuilder().model(m.name()).layers(m.tappedLayers().stream().map(TappedLayer::name).toList())
        .imageShape(first.channels(), first.height(), first.width()).imageCount(probeImages.size()).build();
    Map<String, List<FilterImportance>> out = new LinkedHashMap<>();
    try (ProgressBar bar = bar("tag probe", (long) probeImages.size() * p.framesPerImage(), "frames")) {
      Map<String, LayerAccumulator> acc = new TagProbe(m, p, List.of(p.spec().getReduction()))
          .run(probeImages, List.of(), bar::stepTo).get(probeImages.size()).get(p.spec().getReduction());
      acc.forEach((layer, a) -> out.put(layer, a.importance()));
    }
    return out;
  }

  /**
   * Per layer, every filter's rank and importance from a report's {@code layers[].ranking[]}.
   *
   * @throws ParameterException naming {@code --report} when the file is not such a report or lacks a tapped layer
   */
  private Map<String, List<FilterImportance>> fromReport(Path file, DjlActivationModel m) {
    JsonNode root;
    try {
      root = new ObjectMapper().readTree(file.toFile());
    } catch (IOException e) {
      throw new ParameterException(spec.commandLine(), "--report: " + file + " is not JSON (" + e.getMessage() + ")");
    }
    Map<String, List<FilterImportance>> out = new LinkedHashMap<>();
    for (JsonNode l : root.path("layers")) {
      List<FilterImportance> filters = new ArrayList<>();
      for (JsonNode f : l.path("ranking")) {
        if (!f.path("filter").isInt() || !f.path("rank").isInt() || !f.path("importance").isNumber()) {
          throw new ParameterException(spec.commandLine(), "--report: " + file + ": layer " + l.path("layer").asText()
              + " has a ranking entry without integer filter and rank and numeric importance; pass a report of tagscope demo");
        }
        filters.add(FilterImportance.newBuilder().setFilter(f.get("filter").asInt()).setRank(f.get("rank").asInt())
            .setImportance(f.get("importance").asDouble()).setScore(0).setFundamental(0).setHarmonic(0).setIntermodulation(0)
            .setMeanSnr(0).setPaperSnrDb(0).build());
      }
      out.put(l.path("layer").asText(), filters);
    }
    for (TappedLayer t : m.tappedLayers()) {
      if (!out.containsKey(t.name()) || out.get(t.name()).isEmpty()) {
        throw new ParameterException(spec.commandLine(), "--report: " + file + " has no ranking for layer " + t.name()
            + "; choose layers the report has with --layers, or leave --report out to probe offline");
      }
    }
    return out;
  }

  /** {@code --filters}: top:K, all, or explicit indices. */
  record FilterSpec(int top, List<Integer> indices) {
    static FilterSpec parse(String s, CommandSpec spec) {
      String v = s.trim().toLowerCase(Locale.ROOT);
      try {
        if (v.equals("all")) {
          return new FilterSpec(Integer.MAX_VALUE, null);
        }
        if (v.startsWith("top:")) {
          int k = Integer.parseInt(v.substring(4));
          if (k < 1) {
            throw new NumberFormatException();
          }
          return new FilterSpec(k, null);
        }
        List<Integer> idx = new ArrayList<>();
        for (String p : v.split(",")) {
          int i = Integer.parseInt(p.trim());
          if (i < 0 || idx.contains(i)) {
            throw new NumberFormatException();
          }
          idx.add(i);
        }
        return new FilterSpec(0, idx);
      } catch (NumberFormatException e) {
        throw new ParameterException(spec.commandLine(), "--filters: expected top:K (K >= 1), all, or distinct filter"
            + " indices >= 0 such as 0,5,7; got '" + s + "'");
      }
    }

    void check(TappedLayer layer, CommandSpec spec) {
      for (int i : indices == null ? List.<Integer>of() : indices) {
        if (i >= layer.channels()) {
          throw new ParameterException(spec.commandLine(), "--filters: filter " + i + " is not in layer " + layer.name()
              + ", which has " + layer.channels() + " filters (0.." + (layer.channels() - 1) + "); choose smaller indices"
              + " or name layers with --layers");
        }
      }
    }

    List<Visualizer.Choice> choose(List<FilterImportance> ranking, TappedLayer layer, CommandSpec spec) {
      if (ranking == null || ranking.size() != layer.channels()) {
        throw new ParameterException(spec.commandLine(), "--report: the ranking of layer " + layer.name() + " has "
            + (ranking == null ? 0 : ranking.size()) + " filters, the model's layer " + layer.channels()
            + "; pass a report of this model");
      }
      List<FilterImportance> chosen = new ArrayList<>();
      if (indices == null) {
        ranking.stream().sorted(Comparator.comparingInt(FilterImportance::getRank)).limit(top).forEach(chosen::add);
      } else {
        check(layer, spec);
        for (int i : indices) {
          chosen.add(ranking.stream().filter(f -> f.getFilter() == i).findFirst().orElseThrow());
        }
      }
      return chosen.stream().map(f -> new Visualizer.Choice(f.getFilter(), f.getRank(), f.getImportance())).toList();
    }
  }
}
