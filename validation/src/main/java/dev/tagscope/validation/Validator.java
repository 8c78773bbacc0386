package dev.tagscope.validation;

import dev.tagscope.producer.Image;
import dev.tagscope.schemas.Reduction;
import dev.tagscope.tagging.ProbePlan;
import dev.tagscope.tagging.spectral.LayerAccumulator;
import dev.tagscope.worker.AblationModel;
import dev.tagscope.worker.FloatTensor;
import dev.tagscope.worker.Preprocessor;
import dev.tagscope.worker.TappedLayer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;

/**
 * Validates a model's tag ranking against ground truth (DESIGN.md section 1b): for every filter
 * of every tapped layer, the damage of ablating it (accuracy drop and mean cross-entropy
 * increase, Morcos et al., ICLR 2018), the tag scores from an offline probe ({@link TagProbe}),
 * the Taylor first-order criterion when its gradients are at hand ({@link TaylorCriterion}),
 * the cheap criteria (mean activation, weight L1, class selectivity, random), Spearman rho of each
 * criterion against the damage with a bootstrap interval ({@link Agreement}), and cumulative
 * ablation curves per layer and for the whole network ({@link PruningCurve}).
 *
 * <p>Cost: one upstream pass per image, then per layer one cut-graph pass per (image, mask),
 * so the single-filter phase costs {@code images x sum over layers of C_l x (share of the network
 * below layer l)} forward passes. Images are processed in chunks ({@link ValidationSettings#chunkImages()})
 * with masks stacked along the batch ({@link ValidationSettings#rowsPerCall()}); memory is a few
 * chunks' feature maps.
 */
public final class Validator {
  private final AblationModel model;
  private final ProbePlan plan;
  private final ValidationSettings settings;
  private final Progress progress;
  private final TaylorCriterion taylor;

  /**
   * Progress of a validation, for a bar with an ETA.
   */
  public interface Progress {
    /**
     * A phase starts.
     *
     * @param name e.g. {@code "ablation"}
     * @param total units of work in the phase (frames, or filter-image evaluations)
     * @param unit the unit's name
     */
    void phase(String name, long total, String unit);

    /**
     * Work was done.
     *
     * @param units units done since the last call
     */
    void advance(long units);

    /** Progress that goes nowhere. */
    Progress NONE = new Progress() {
      @Override
      public void phase(String name, long total, String unit) {}

      @Override
      public void advance(long units) {}
    };
  }

  /**
   * @param model the model to validate, with its taps
   * @param plan the probe plan for the tag scores (its reduction is the default criterion's)
   * @param settings counts and statistics
   * @param progress progress sink
   */
  public Validator(AblationModel model, ProbePlan plan, ValidationSettings settings, Progress progress) {
    this(model, plan, settings, progress, TaylorCriterion.skipped("not requested"));
  }

  /**
   * @param model the model to validate, with its taps
   * @param plan the probe plan for the tag scores (its reduction is the default criterion's)
   * @param settings counts and statistics
   * @param progress progress sink
   * @param taylor the Taylor criterion's gradients over the same taps, or a skipped one (the
   *     report says why); the caller closes it
   */
  public Validator(AblationModel model, ProbePlan plan, ValidationSettings settings, Progress progress,
                   TaylorCriterion taylor) {
    this.model = model;
    this.plan = plan;
    this.settings = settings;
    this.progress = progress;
    this.taylor = taylor;
  }

  /**
   * Runs the validation.
   *
   * @param probeImages images for the tag probe (at least {@code settings.probeImages()} are used when present)
   * @param labelled labelled images for ablation (the first {@code settings.images()})
   * @param imagesSource where they came from, for the report
   * @return the measurements
   * @throws IllegalArgumentException when an image has no label or a label is outside the model's classes
   * @throws IllegalStateException when the Taylor criterion's gradients lack a tapped layer
   */
  public ValidationResult run(List<Image> probeImages, List<Image> labelled, String imagesSource) {
    long t0 = System.nanoTime();
    Map<String, Double> seconds = new LinkedHashMap<>();
    List<Image> probe = probeImages.subList(0, Math.min(settings.probeImages(), probeImages.size()));
    List<Image> images = labelled.subList(0, Math.min(settings.images(), labelled.size()));
    int curveCount = Math.min(settings.curveImages(), images.size());
    int[] labels = labels(images);
    List<TappedLayer> taps = model.tappedLayers();

    // 1. Tag scores.
    Map<String, Map<String, double[]>> criteria = new LinkedHashMap<>();
    taps.forEach(t -> criteria.put(t.name(), new LinkedHashMap<>()));
    List<Integer> snapshots = new ArrayList<>(new TreeSet<>(settings.probeSnapshots()));
    progress.phase("tag probe", (long) probe.size() * plan.framesPerImage(), "frames");
    long[] last = {0};
    Map<Integer, Map<Reduction, Map<String, LayerAccumulator>>> probed = new TagProbe(model.activations(), plan,
        reductions()).run(probe, snapshots, done -> {
          progress.advance(done - last[0] + 0L);
          last[0] = done;
        });
    Reduction planReduction = plan.spec().getReduction();
    for (Map.Entry<Integer, Map<Reduction, Map<String, LayerAccumulator>>> snap : probed.entrySet()) {
      String countSuffix = snap.getKey() == probe.size() ? "" : "/n" + snap.getKey();
      for (Map.Entry<Reduction, Map<String, LayerAccumulator>> r : snap.getValue().entrySet()) {
        String suffix = Criteria.reductionSuffix(r.getKey(), planReduction) + countSuffix;
        r.getValue().forEach((layer, acc) -> criteria.get(layer).putAll(Criteria.tagScores(acc, suffix)));
      }
    }
    seconds.put("probe", (System.nanoTime() - t0) / 1e9);

    // 2. Single-filter ablation, with activations for the cheap criteria.
    long t1 = System.nanoTime();
    Preprocessor pre = new Preprocessor(model.activations().preprocessing());
    int classes = -1;
    double baseCe = 0;
    long baseCorrect = 0;
    long curveBaseCorrect = 0;
    Map<String, double[]> ceSum = new LinkedHashMap<>();
    Map<String, long[]> correct = new LinkedHashMap<>();
    Map<String, double[]> meanActivation = new LinkedHashMap<>();
    Map<String, double[][]> classRectified = new LinkedHashMap<>();
    int[] classCount = null;
    long total = 0;
    Map<String, float[][]> singleMasks = new LinkedHashMap<>();
    for (TappedLayer t : taps) {
      singleMasks.put(t.name(), singleFilterMasks(t.channels()));
      ceSum.put(t.name(), new double[t.channels()]);
      correct.put(t.name(), new long[t.channels()]);
      meanActivation.put(t.name(), new double[t.channels()]);
      total += (long) t.channels() * images.size();
    }
    progress.phase("ablation", total, "filter-images");
    for (int start = 0; start < images.size(); start += settings.chunkImages()) {
      int n = Math.min(settings.chunkImages(), images.size() - start);
      float[] input = preprocess(pre, images, start, n);
      AblationModel.Upstream up = model.upstream(input, n);
      if (classes < 0) {
        classes = up.logits()[0].length;
        checkLabels(labels, classes);
        classCount = new int[classes];
        for (TappedLayer t : taps) {
          classRectified.put(t.name(), new double[classes][t.channels()]);
        }
      }
      for (int i = 0; i < n; i++) {
        int label = labels[start + i];
        classCount[label]++;
        baseCe += crossEntropy(up.logits()[i], label);
        if (argmax(up.logits()[i]) == label) {
          baseCorrect++;
          if (start + i < curveCount) {
            curveBaseCorrect++;
          }
        }
      }
      for (TappedLayer t : taps) {
        activations(up.tapped(t), t.channels(), labels, start, meanActivation.get(t.name()), classRectified.get(t.name()));
        double[] ce = ceSum.get(t.name());
        long[] ok = correct.get(t.name());
        int first = start;
        ablateChunk(up, t.name(), singleMasks.get(t.name()), (k, i, z) -> {
          int label = labels[first + i];
          ce[k] += crossEntropy(z, label);
          if (argmax(z) == label) {
            ok[k]++;
          }
        });
      }
    }
    double ablationSeconds = (System.nanoTime() - t1) / 1e9;
    seconds.put("ablation", ablationSeconds);
    int count = images.size();
    double baseAccuracy = (double) baseCorrect / count;
    double baseCrossEntropy = baseCe / count;

    // 2b. Taylor (Molchanov et al. 2019): squared gate gradients through DJL autograd, same images.
    Map<String, double[]> taylorSums = taylor.available() ? taylorSums(images, labels, pre, taps, seconds) : Map.of();

    // 3. Cheap criteria and agreement.
    Map<String, double[]> damageCe = new LinkedHashMap<>();
    Map<String, double[]> damageAcc = new LinkedHashMap<>();
    Map<String, String> weightSource = new LinkedHashMap<>();
    for (TappedLayer t : taps) {
      int c = t.channels();
      double[] ce = new double[c];
      double[] acc = new double[c];
      double[] mean = meanActivation.get(t.name());
      for (int k = 0; k < c; k++) {
        ce[k] = ceSum.get(t.name())[k] / count - baseCrossEntropy;
        acc[k] = baseAccuracy - (double) correct.get(t.name())[k] / count;
        mean[k] /= count;
      }
      damageCe.put(t.name(), ce);
      damageAcc.put(t.name(), acc);
      Map<String, double[]> cr = criteria.get(t.name());
      cr.put(Criteria.MEAN_ACTIVATION, mean);
      Optional<AblationModel.WeightNorms> w = model.producingWeights(t.name());
      if (w.isPresent()) {
        cr.put(Criteria.WEIGHT_L1, w.get().l1());
        weightSource.put(t.name(), String.join(" + ", w.get().convolutions()));
      } else {
        weightSource.put(t.name(), "unavailable: " + model.producingWeightsReason(t.name()));
      }
      if (taylorSums.containsKey(t.name())) {
        cr.put(Criteria.TAYLOR, Arrays.stream(taylorSums.get(t.name())).map(v -> v / count).toArray());
      }
      cr.put(Criteria.CLASS_SELECTIVITY, selectivity(classRectified.get(t.name()), classCount, c));
      cr.put(Criteria.RANDOM, Criteria.random(c, settings.seed() + t.name().hashCode()));
    }

    // 4. Pruning curves per layer, on the first curveCount images.
    long t2 = System.nanoTime();
    int steps = settings.fractions().length - 1;
    // Per layer, every curve's masks in one list (steps consecutive masks per order), built once.
    Map<String, float[][]> curveMasks = new LinkedHashMap<>();
    Map<String, List<String>> curveOwners = new LinkedHashMap<>();
    long curveWork = 0;
    for (TappedLayer t : taps) {
      List<float[]> all = new ArrayList<>();
      List<String> owner = new ArrayList<>();
      curveOrders(criteria.get(t.name()), damageCe.get(t.name()), t.name().hashCode()).forEach((name, order) -> {
        for (float[] m : PruningCurve.masks(order, settings.fractions())) {
          all.add(m);
          owner.add(name);
        }
      });
      curveMasks.put(t.name(), all.toArray(new float[0][]));
      curveOwners.put(t.name(), owner);
      curveWork += (long) all.size() * curveCount;
    }
    Map<String, Map<String, long[]>> curveCorrect = new LinkedHashMap<>();
    progress.phase("pruning curves", curveWork, "mask-images");
    for (int start = 0; start < curveCount; start += settings.chunkImages()) {
      int n = Math.min(settings.chunkImages(), curveCount - start);
      AblationModel.Upstream up = model.upstream(preprocess(pre, images, start, n), n);
      for (TappedLayer t : taps) {
        Map<String, long[]> cc = curveCorrect.computeIfAbsent(t.name(), k -> new LinkedHashMap<>());
        List<String> owner = curveOwners.get(t.name());
        int first = start;
        ablateChunk(up, t.name(), curveMasks.get(t.name()), (idx, i, z) -> {
          long[] counts = cc.computeIfAbsent(owner.get(idx), k -> new long[steps]); // every order gets a curve, in order
          if (argmax(z) == labels[first + i]) {
            counts[idx % steps]++;
          }
        });
      }
    }
    double curveBase = (double) curveBaseCorrect / curveCount;
    List<ValidationResult.LayerResult> layers = new ArrayList<>();
    for (TappedLayer t : taps) {
      List<PruningCurve> curves = curves(curveCorrect.get(t.name()), curveBase, curveCount);
      Map<String, double[]> cr = criteria.get(t.name());
      Map<String, Agreement> agreement = new LinkedHashMap<>();
      Map<String, Double> rhoAcc = new LinkedHashMap<>();
      for (Map.Entry<String, double[]> e : cr.entrySet()) {
        agreement.put(e.getKey(), Agreement.of(e.getValue(), damageCe.get(t.name()), settings.bootstrapResamples(),
            settings.confidence(), settings.seed()));
        rhoAcc.put(e.getKey(), Agreement.spearman(e.getValue(), damageAcc.get(t.name())));
      }
      layers.add(new ValidationResult.LayerResult(t.name(), t.channels(), damageCe.get(t.name()), damageAcc.get(t.name()),
          cr, agreement, rhoAcc, curves, weightSource.get(t.name())));
    }
    seconds.put("curves", (System.nanoTime() - t2) / 1e9);

    // 5. The whole network: every tapped filter ranked together.
    long t3 = System.nanoTime();
    List<PruningCurve> network = networkCurves(layers, images, curveCount, labels, pre, curveBase);
    seconds.put("network", (System.nanoTime() - t3) / 1e9);
    seconds.put("total", (System.nanoTime() - t0) / 1e9);
    return new ValidationResult(model.activations().name(), model.activations().classes(), settings, imagesSource, count,
        curveCount, probe.size(), Criteria.TAG, baseAccuracy, baseCrossEntropy, curveBase, layers, network, seconds,
        total / ablationSeconds, taylor.note());
  }

  /** Per layer, {@code [C]} sums over the images of the squared gate gradients (phase {@code taylor}). */
  private Map<String, double[]> taylorSums(List<Image> images, int[] labels, Preprocessor pre, List<TappedLayer> taps,
                                           Map<String, Double> seconds) {
    long t0 = System.nanoTime();
    Map<String, double[]> sums = new LinkedHashMap<>();
    taps.forEach(t -> sums.put(t.name(), new double[t.channels()]));
    progress.phase("taylor", images.size(), "images");
    for (int start = 0; start < images.size(); start += settings.chunkImages()) {
      int n = Math.min(settings.chunkImages(), images.size() - start);
      Map<String, float[][]> grads = taylor.gradients(preprocess(pre, images, start, n), n,
          Arrays.copyOfRange(labels, start, start + n));
      for (TappedLayer t : taps) {
        float[][] g = grads.get(t.name());
        if (g == null || g[0].length != t.channels()) {
          throw new IllegalStateException("the Taylor criterion's gradients have no " + t.channels() + " gates for layer "
              + t.name() + " (they cover " + grads.keySet() + "); open them with the same --layers as the ONNX model");
        }
        TaylorCriterion.accumulate(g, sums.get(t.name()));
      }
      progress.advance(n);
    }
    seconds.put("taylor", (System.nanoTime() - t0) / 1e9);
    return sums;
  }

  /**
   * Accuracy and mean cross-entropy of the unablated model through the validation path (the
   * upstream pass of {@link AblationModel}, the same arg-max and loss as {@link #run}).
   *
   * @param model the model
   * @param images labelled images
   * @param chunk images per pass
   * @return {@code [accuracy (0..1), mean cross-entropy (nats)]}
   * @throws IllegalArgumentException when an image has no label or one outside the model's classes
   */
  public static double[] unablated(AblationModel model, List<Image> images, int chunk) {
    Preprocessor pre = new Preprocessor(model.activations().preprocessing());
    int[] labels = labels(images);
    long correct = 0;
    double ce = 0;
    for (int start = 0; start < images.size(); start += chunk) {
      int n = Math.min(chunk, images.size() - start);
      float[][] logits = model.upstream(preprocess(pre, images, start, n), n).logits();
      if (start == 0) {
        checkLabels(labels, logits[0].length);
      }
      for (int i = 0; i < n; i++) {
        ce += crossEntropy(logits[i], labels[start + i]);
        correct += argmax(logits[i]) == labels[start + i] ? 1 : 0;
      }
    }
    return new double[] {(double) correct / images.size(), ce / images.size()};
  }

  /** One row of an ablation call: the mask's index, the image's index in the chunk, and that row's logits. */
  private interface RowVisitor {
    void accept(int mask, int image, float[] logits);
  }

  /**
   * Runs every mask over one chunk of images, {@link ValidationSettings#rowsPerCall()} rows (images
   * x masks) to an engine call, visits each row, and reports the progress in mask-images.
   */
  private void ablateChunk(AblationModel.Upstream up, String layer, float[][] masks, RowVisitor visit) {
    int n = up.n();
    int group = Math.max(1, settings.rowsPerCall() / n);
    for (int m0 = 0; m0 < masks.length; m0 += group) {
      int g = Math.min(group, masks.length - m0);
      float[][] logits = model.ablateLayer(up, layer, Arrays.copyOfRange(masks, m0, m0 + g));
      for (int m = 0; m < g; m++) {
        for (int i = 0; i < n; i++) {
          visit.accept(m0 + m, i, logits[m * n + i]);
        }
      }
      progress.advance((long) g * n);
    }
  }

  /** {@code [C][C]}: mask k ablates filter k alone. */
  private static float[][] singleFilterMasks(int c) {
    float[][] masks = new float[c][c];
    for (int k = 0; k < c; k++) {
      Arrays.fill(masks[k], 1f);
      masks[k][k] = 0f;
    }
    return masks;
  }

  private List<Reduction> reductions() {
    List<Reduction> out = new ArrayList<>(settings.reductions());
    Reduction r = plan.spec().getReduction();
    if (!out.contains(r)) {
      out.add(0, r);
    }
    return out;
  }

  /**
   * The orders whose pruning curves are measured: tag, Taylor (when computed), mean activation, weight L1, the damage
   * oracle, and each random seed (class selectivity gets a rho but no curve: curves are the
   * costly part, and Morcos et al. already found it a poor predictor).
   */
  private Map<String, int[]> curveOrders(Map<String, double[]> cr, double[] damage, long salt) {
    Map<String, int[]> o = new LinkedHashMap<>();
    o.put(Criteria.TAG, PruningCurve.ascendingOrder(cr.get(Criteria.TAG)));
    for (String name : List.of(Criteria.TAYLOR, Criteria.MEAN_ACTIVATION, Criteria.WEIGHT_L1)) {
      if (cr.containsKey(name)) {
        o.put(name, PruningCurve.ascendingOrder(cr.get(name)));
      }
    }
    o.put(Criteria.DAMAGE, PruningCurve.ascendingOrder(damage));
    for (int s = 0; s < settings.randomSeeds(); s++) {
      o.put(Criteria.RANDOM + "#" + s, PruningCurve.ascendingOrder(Criteria.random(damage.length, settings.seed() + 7919L * (s + 1) + salt)));
    }
    return o;
  }

  /** Curves from per-step correct counts; random seeds folded into their mean. */
  private List<PruningCurve> curves(Map<String, long[]> correctByOrder, double base, int count) {
    List<PruningCurve> out = new ArrayList<>();
    List<PruningCurve> random = new ArrayList<>();
    double[] f = settings.fractions();
    for (Map.Entry<String, long[]> e : correctByOrder.entrySet()) {
      double[] acc = new double[f.length];
      acc[0] = base;
      for (int s = 1; s < f.length; s++) {
        acc[s] = (double) e.getValue()[s - 1] / count;
      }
      PruningCurve c = new PruningCurve(e.getKey(), f, acc, new double[0]);
      if (e.getKey().startsWith(Criteria.RANDOM + "#")) {
        random.add(c);
      } else {
        out.add(c);
      }
    }
    if (!random.isEmpty()) {
      out.add(PruningCurve.meanOf(Criteria.RANDOM, random));
    }
    return out;
  }

  /**
   * Whole-network curves: each criterion normalised within its layer (divided by the layer's
   * largest absolute value) so layers of different scale rank together; the damage oracle uses the
   * raw cross-entropy increase, which is in the same unit everywhere.
   */
  private List<PruningCurve> networkCurves(List<ValidationResult.LayerResult> layers, List<Image> images, int curveCount,
                                           int[] labels, Preprocessor pre, double base) {
    List<String> names = new ArrayList<>(List.of(Criteria.TAG));
    for (String optional : List.of(Criteria.TAYLOR, Criteria.MEAN_ACTIVATION, Criteria.WEIGHT_L1)) {
      if (layers.stream().allMatch(l -> l.criteria().containsKey(optional))) {
        names.add(optional);
      }
    }
    names.add(Criteria.DAMAGE);
    int totalFilters = layers.stream().mapToInt(ValidationResult.LayerResult::filters).sum();
    Map<String, double[]> global = new LinkedHashMap<>();
    for (String name : names) {
      double[] all = new double[totalFilters];
      int off = 0;
      for (ValidationResult.LayerResult l : layers) {
        double[] v = name.equals(Criteria.DAMAGE) ? l.crossEntropyIncrease() : l.criteria().get(name);
        double scale = 1;
        if (!name.equals(Criteria.DAMAGE)) {
          double max = Arrays.stream(v).map(Math::abs).max().orElse(1);
          scale = max > 0 ? max : 1;
        }
        for (int k = 0; k < v.length; k++) {
          all[off + k] = v[k] / scale;
        }
        off += v.length;
      }
      global.put(name, all);
    }
    for (int s = 0; s < settings.randomSeeds(); s++) {
      global.put(Criteria.RANDOM + "#" + s, Criteria.random(totalFilters, settings.seed() + 104729L * (s + 1)));
    }
    int steps = settings.fractions().length - 1;
    // Per order and step, the global mask split into one mask per layer, built once for every chunk.
    Map<String, List<Map<String, float[]>>> masks = new LinkedHashMap<>();
    global.forEach((name, v) -> {
      List<Map<String, float[]>> perStep = new ArrayList<>();
      for (float[] m : PruningCurve.masks(PruningCurve.ascendingOrder(v), settings.fractions())) {
        Map<String, float[]> perLayer = new LinkedHashMap<>();
        int off = 0;
        for (ValidationResult.LayerResult l : layers) {
          perLayer.put(l.layer(), Arrays.copyOfRange(m, off, off + l.filters()));
          off += l.filters();
        }
        perStep.add(perLayer);
      }
      masks.put(name, perStep);
    });
    Map<String, long[]> correct = new LinkedHashMap<>();
    progress.phase("network curves", (long) masks.size() * steps * curveCount, "mask-images");
    for (int start = 0; start < curveCount; start += settings.chunkImages()) {
      int n = Math.min(settings.chunkImages(), curveCount - start);
      float[] input = preprocess(pre, images, start, n);
      for (Map.Entry<String, List<Map<String, float[]>>> e : masks.entrySet()) {
        long[] counts = correct.computeIfAbsent(e.getKey(), k -> new long[steps]);
        for (int s = 0; s < steps; s++) {
          float[][] logits = model.ablateNetwork(input, n, e.getValue().get(s));
          for (int i = 0; i < n; i++) {
            if (argmax(logits[i]) == labels[start + i]) {
              counts[s]++;
            }
          }
          progress.advance(n);
        }
      }
    }
    return curves(correct, base, curveCount);
  }

  /** Adds each filter's spatial mean (for mean activation) and, per class, its rectified spatial mean (for CSI). */
  private static void activations(FloatTensor t, int c, int[] labels, int start, double[] meanSum, double[][] classSum) {
    int n = t.dim(0);
    int spatial = t.rank() == 4 ? t.dim(2) * t.dim(3) : 1;
    float[] d = t.data();
    for (int i = 0; i < n; i++) {
      int label = labels[start + i];
      for (int k = 0; k < c; k++) {
        int off = (i * c + k) * spatial;
        double sum = 0;
        double rect = 0;
        for (int j = 0; j < spatial; j++) {
          float v = d[off + j];
          sum += v;
          rect += Math.max(v, 0f);
        }
        meanSum[k] += sum / spatial;
        classSum[label][k] += rect / spatial;
      }
    }
  }

  private static double[] selectivity(double[][] classSum, int[] classCount, int c) {
    int present = 0;
    for (int n : classCount) {
      present += n > 0 ? 1 : 0;
    }
    double[] out = new double[c];
    if (present < 2) {
      return out; // one class only: selectivity is undefined, all 0 (rho is then NaN)
    }
    for (int k = 0; k < c; k++) {
      double[] means = new double[present];
      int j = 0;
      for (int cl = 0; cl < classCount.length; cl++) {
        if (classCount[cl] > 0) {
          means[j++] = classSum[cl][k] / classCount[cl];
        }
      }
      out[k] = ClassSelectivity.index(means);
    }
    return out;
  }

  private static float[] preprocess(Preprocessor pre, List<Image> images, int start, int n) {
    float[] input = new float[n * pre.inputLength()];
    for (int i = 0; i < n; i++) {
      Image im = images.get(start + i);
      pre.apply(im.pixels(), im.channels(), im.height(), im.width(), input, i * pre.inputLength());
    }
    return input;
  }

  private static int[] labels(List<Image> images) {
    int[] out = new int[images.size()];
    for (int i = 0; i < out.length; i++) {
      Integer l = images.get(i).label();
      if (l == null) {
        throw new IllegalArgumentException("image " + images.get(i).id() + " has no label; validation needs labelled"
            + " images: an IDX images file with its labels file beside it (t10k-labels-idx1-ubyte.gz), or a folder with"
            + " one sub-folder per class named by the class index (0/, 1/, ...)");
      }
      out[i] = l;
    }
    return out;
  }

  private static void checkLabels(int[] labels, int classes) {
    for (int l : labels) {
      if (l < 0 || l >= classes) {
        throw new IllegalArgumentException("label " + l + " is outside the model's " + classes + " classes (0.."
            + (classes - 1) + "); check that the labels belong to this model's data set");
      }
    }
  }

  /**
   * Cross-entropy of one row of logits, {@code logsumexp(z) - z[label]}, in nats, computed in
   * double precision with the maximum subtracted first.
   *
   * @param z logits
   * @param label the true class
   * @return the loss
   */
  public static double crossEntropy(float[] z, int label) {
    double max = Double.NEGATIVE_INFINITY;
    for (float v : z) {
      max = Math.max(max, v);
    }
    double sum = 0;
    for (float v : z) {
      sum += Math.exp(v - max);
    }
    return Math.log(sum) + max - z[label];
  }

  /** Index of the largest logit (the first on ties). */
  static int argmax(float[] z) {
    int best = 0;
    for (int i = 1; i < z.length; i++) {
      if (z[i] > z[best]) {
        best = i;
      }
    }
    return best;
  }
}
