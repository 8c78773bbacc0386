package dev.tagscope.launcher;

import dev.tagscope.producer.Image;
import dev.tagscope.producer.ImageLoader;
import dev.tagscope.tagging.ProbePlan;
import dev.tagscope.validation.Agreement;
import dev.tagscope.validation.Criteria;
import dev.tagscope.validation.PruningCurve;
import dev.tagscope.validation.TaylorCriterion;
import dev.tagscope.validation.ValidationRecords;
import dev.tagscope.validation.ValidationReport;
import dev.tagscope.validation.ValidationResult;
import dev.tagscope.validation.ValidationSettings;
import dev.tagscope.validation.Validator;
import dev.tagscope.worker.AblationModel;
import dev.tagscope.worker.TappedLayer;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import org.apache.kafka.clients.CommonClientConfigs;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code tagscope validate}: does the tag ranking predict what matters? Ablates every filter of
 * every tapped layer on labelled images (Morcos et al., ICLR 2018), probes the same model offline
 * with the tag plan, and reports per layer the Spearman rho of each criterion against the damage
 * with a bootstrap interval, and pruning curves (see {@link Validator}), the Taylor criterion among
 * them when the model's TorchScript twin is at hand ({@link TaylorCriterion}). Writes the report folder
 * and, with {@code --bootstrap-servers}, publishes to {@code tagscope.validation} for the dashboard.
 */
@Command(name = "validate", mixinStandardHelpOptions = true,
    description = "Validate the tag ranking against filter ablation: rho per layer for tag importance and cheap criteria, pruning curves.")
final class ValidateCommand implements Callable<Integer> {
  @Mixin ModelOptions model;
  @Mixin PlanOptions plan;

  @Option(names = "--images", paramLabel = "PATH",
      description = "Labelled images: IDX images file with its labels file beside it, or a folder with one sub-folder per class"
          + " index. Default: the Fashion-MNIST test set when the Debian package is installed, else the bundled models/samples (512).")
  Path images;

  @Option(names = "--count", defaultValue = "2000", description = "Images each single-filter ablation is measured on (default ${DEFAULT-VALUE}, or all the set has).")
  int count;

  @Option(names = "--curve-count", defaultValue = "300", description = "Images each pruning-curve point is measured on (default ${DEFAULT-VALUE}).")
  int curveCount;

  @Option(names = "--probe-count", defaultValue = "16", description = "Images the tag scores are probed with (default ${DEFAULT-VALUE}, as the demo).")
  int probeCount;

  @Option(names = "--probe-snapshots", split = ",", paramLabel = "N,...",
      description = "Also compare tag scores from the first N probe images (e.g. 4,8), to see how long a probe must be.")
  List<Integer> probeSnapshots = List.of();

  @Option(names = "--bootstrap", defaultValue = "1000", description = "Bootstrap resamples for each rho's 95 % interval (default ${DEFAULT-VALUE}).")
  int bootstrap;

  @Option(names = "--random-seeds", defaultValue = "5", description = "Random orders averaged in the pruning curves (default ${DEFAULT-VALUE}).")
  int randomSeeds;

  @Option(names = "--no-taylor",
      description = "Skip the Taylor first-order criterion (Molchanov et al. 2019: squared gate gradients of the loss,"
          + " through DJL autograd on the TorchScript twin <model>.pt beside the .onnx). Computed by default; skipped,"
          + " with the reason in the report, when the twin is missing or holds other weights.")
  boolean noTaylor;

  @Option(names = "--out", defaultValue = "tagscope-validation", description = "Folder for validation.json, CSV files and PNG charts (default ${DEFAULT-VALUE}).")
  Path out;

  @Mixin KafkaOptions kafka;

  @Override
  public Integer call() throws Exception {
    Map<String, Object> clientOverrides = kafka.overrides(); // a pinned --kafka key fails here, before the validation runs
    Path home = ModelOptions.home();
    // Validation runs alone, so ONNX Runtime's threads may spin (see ModelConfig#intraOpSpinning).
    var config = model.settings(home, Map.of()).modelConfig().withIntraOpSpinning(true);
    Path source = ProbeOptions.imageSource(images, home);
    int needed = Math.max(count, probeCount);
    List<Image> set = ImageLoader.builder().limit(needed).build().load(source);
    ValidationSettings settings = ValidationSettings.defaults().withImages(Math.min(count, set.size()))
        .withCurveImages(Math.min(curveCount, Math.min(count, set.size())))
        .withProbe(Math.min(probeCount, set.size()), probeSnapshots)
        .withStatistics(randomSeeds, bootstrap);
    PrintStream o = System.out;
    ValidationResult r = run(config, set, set, source, settings, plan.planBuilder(), !noTaylor, out, o);
    if (kafka.bootstrapServers != null) {
      int n = publish(r, kafka.bootstrapServers, clientOverrides);
      o.printf("published %d records to tagscope.validation%n", n);
    }
    return 0;
  }

  /**
   * Validates a model, writes the report folder and prints the summary; shared by
   * {@code tagscope validate} and {@code tagscope demo --validate}.
   *
   * @param config the model to validate
   * @param probeImages images for the tag probe (the first {@code settings.probeImages()})
   * @param set labelled images for the ablations
   * @param source where they came from, for the report
   * @param settings counts and statistics
   * @param planBuilder the probe plan's options; model, layers and image shape are added here
   * @param taylor whether to compute the Taylor criterion ({@link TaylorCriterion#open}); skipped with the reason otherwise
   * @param out the report folder
   * @param o where the summary goes
   * @return the result
   * @throws java.io.IOException when the report cannot be written
   * @throws IllegalArgumentException when the model, plan or images are refused (the message names the fix)
   */
  static ValidationResult run(dev.tagscope.worker.ModelConfig config, List<Image> probeImages, List<Image> set, Path source,
                              ValidationSettings settings,
                              ProbePlan.Builder planBuilder, boolean taylor, Path out, PrintStream o)
      throws java.io.IOException {
    try (AblationModel m = AblationModel.load(config);
         TaylorCriterion t = taylor ? TaylorCriterion.open(config) : TaylorCriterion.skipped("--no-taylor")) {
      List<String> layerNames = m.tappedLayers().stream().map(TappedLayer::name).collect(Collectors.toList());
      Image first = set.get(0);
      ProbePlan probePlan = planBuilder.model(m.activations().name()).layers(layerNames)
          .imageShape(first.channels(), first.height(), first.width()).imageCount(settings.probeImages()).build();
      int filters = m.tappedLayers().stream().mapToInt(TappedLayer::channels).sum();
      o.printf("validating %s: %d layers, %d filters; ablation on %d images from %s, curves on %d, tag probe on %d%n",
          m.activations().name(), layerNames.size(), filters, settings.images(), source, settings.curveImages(),
          settings.probeImages());
      o.printf("Taylor criterion: %s%n", t.note());
      ValidationResult r;
      try (BarProgress progress = new BarProgress()) {
        r = new Validator(m, probePlan, settings, progress, t).run(probeImages, set, source.toString());
      }
      List<Path> files = ValidationReport.write(r, out);
      print(o, r);
      o.printf("wrote %d files to %s (validation.json, filters.csv, agreement.csv, pruning.csv, *.png)%n", files.size(),
          out.toAbsolutePath());
      return r;
    }
  }

  /**
   * Publishes a result to the validation topic of a cluster.
   *
   * @param r the result
   * @param bootstrap the cluster's bootstrap servers
   * @param clientOverrides {@code --kafka} properties (security settings); Tagscope's pinned keys are refused
   * @return records written
   * @throws IllegalArgumentException when an override sets a key the publisher pins
   * @throws IllegalStateException when the broker refuses the records
   */
  static int publish(ValidationResult r, String bootstrap, Map<String, Object> clientOverrides) {
    Map<String, Object> props = new LinkedHashMap<>(clientOverrides);
    props.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    return ValidationRecords.publish(r, props);
  }

  /** The console summary: per layer rho of tag importance and of the cheap criteria, and the curves' areas. */
  static void print(PrintStream o, ValidationResult r) {
    o.printf(Locale.ROOT, "%nunablated accuracy %.4f, mean cross-entropy %.4f nats on %d images%n", r.baseAccuracy(),
        r.baseCrossEntropy(), r.images());
    o.printf(Locale.ROOT, "Spearman rho with the cross-entropy increase of ablating each filter [95 %% bootstrap interval]%n");
    List<String> cols = List.of(Criteria.TAG, Criteria.TAYLOR, Criteria.MEAN_ACTIVATION, Criteria.WEIGHT_L1,
        Criteria.CLASS_SELECTIVITY, Criteria.RANDOM);
    o.printf("%-10s", "layer");
    cols.forEach(c -> o.printf(" %-21s", c));
    o.printf(" %-9s %s%n", "tag~taylor", "pruning AUC tag / taylor / random / damage");
    for (ValidationResult.LayerResult l : r.layers()) {
      o.printf("%-10s", l.layer());
      for (String c : cols) {
        Agreement a = l.agreement().get(c);
        o.printf(" %-21s", a == null ? "n/a" : String.format(Locale.ROOT, "%+.2f [%+.2f,%+.2f]", a.rho(), a.low(), a.high()));
      }
      double tt = ValidationReport.tagVsTaylor(l);
      o.printf(" %-9s %s%n", Double.isNaN(tt) ? "n/a" : String.format(Locale.ROOT, "%+.2f", tt), aucs(l.curves()));
    }
    Map<String, Double> mean = ValidationReport.meanRho(r);
    o.printf("%-10s", "mean");
    cols.forEach(c -> o.printf(" %-21s", mean.containsKey(c) ? String.format(Locale.ROOT, "%+.2f", mean.get(c)) : "n/a"));
    double tagTaylor = r.layers().stream().mapToDouble(ValidationReport::tagVsTaylor).filter(v -> !Double.isNaN(v))
        .average().orElse(Double.NaN);
    o.printf(" %-9s %s%n", Double.isNaN(tagTaylor) ? "n/a" : String.format(Locale.ROOT, "%+.2f", tagTaylor),
        "network: " + aucs(r.network()));
    List<String> beats = ValidationReport.layersWhereTagBeatsCheap(r);
    o.printf("tag importance beats every cheap criterion in %d of %d layers%n", beats.size(), r.layers().size());
    o.printf(Locale.ROOT, "ablation rate %.0f filter-evaluations/s (filters x images per second); wall time %.0f s%n",
        r.filterEvaluationsPerSecond(), r.seconds().get("total"));
    o.printf(Locale.ROOT, "Taylor criterion: %s%s%n", r.taylor(), r.seconds().containsKey("taylor")
        ? String.format(Locale.ROOT, " (%.1f s for %d images)", r.seconds().get("taylor"), r.images()) : "");
  }

  private static String aucs(List<PruningCurve> curves) {
    Map<String, Double> a = curves.stream().collect(Collectors.toMap(PruningCurve::criterion, PruningCurve::auc, (x, y) -> x, LinkedHashMap::new));
    return String.format(Locale.ROOT, "%.3f / %.3f / %.3f / %.3f", a.getOrDefault(Criteria.TAG, Double.NaN),
        a.getOrDefault(Criteria.TAYLOR, Double.NaN), a.getOrDefault(Criteria.RANDOM, Double.NaN),
        a.getOrDefault(Criteria.DAMAGE, Double.NaN));
  }

  /** A console progress bar per phase, with rate and ETA (me.tongfei progressbar). */
  static final class BarProgress implements Validator.Progress, AutoCloseable {
    private ProgressBar bar;

    @Override
    public void phase(String name, long total, String unit) {
      close();
      bar = new ProgressBarBuilder().setTaskName(name).setInitialMax(total).setUnit(" " + unit, 1)
          .setStyle(ProgressBarStyle.ASCII).setUpdateIntervalMillis(500).showSpeed().build();
    }

    @Override
    public void advance(long units) {
      if (bar != null) {
        bar.stepBy(units);
      }
    }

    @Override
    public void close() {
      if (bar != null) {
        bar.close();
        bar = null;
      }
    }
  }
}
