package dev.tagscope.launcher;

import dev.tagscope.embedded.EmbeddedKafkaBroker;
import dev.tagscope.producer.FrameSynthesizer;
import dev.tagscope.producer.Image;
import dev.tagscope.producer.ImageLoader;
import dev.tagscope.schemas.ActivationFrame;
import dev.tagscope.schemas.Reduction;
import dev.tagscope.schemas.Topics;
import dev.tagscope.tagging.AnalysisPlan;
import dev.tagscope.tagging.ProbePlan;
import dev.tagscope.tagging.spectral.WindowAnalyzer;
import dev.tagscope.worker.AblationModel;
import dev.tagscope.worker.ActivationModel;
import dev.tagscope.worker.Preprocessing;
import dev.tagscope.worker.TappedLayer;
import dev.tagscope.worker.WorkerSettings;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Callable;
import org.apache.kafka.common.serialization.Serde;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code tagscope bench}: throughput of each hot path on this machine, printed as a table. A
 * performance harness, not a test: it asserts nothing and prints figures (median of repeated
 * timed rounds after warm-up) that a change can be compared against.
 *
 * <ul>
 *   <li>spectral core: windows of {@code [C][W]} per second through {@link WindowAnalyzer} with the
 *       default plan's signal bins (6 and 7.5 Hz, 120 fps, W = 240, H = M = 4);</li>
 *   <li>frame synthesis: contrast-modulated frames per second ({@link FrameSynthesizer}) at the model's
 *       input size and at 3x224x224;</li>
 *   <li>inference: frames per second through the model with every default tap reduced, per batch size;</li>
 *   <li>ablation: filter-evaluations (filters x images) per second through the cut graphs of
 *       {@code tagscope validate};</li>
 *   <li>Avro: ActivationFrame records encoded and decoded per second.</li>
 * </ul>
 *
 * <p>{@code --pipeline} measures the whole pipeline instead ({@link PipelineBench}), {@code --scale-out}
 * the scale-out scenario on 1 + 1 and 2 + 2 instances ({@link ScaleOut}).
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
    description = "Measure the throughput of the spectral core, frame synthesis, inference and serdes on this machine.")
final class BenchCommand implements Callable<Integer> {
  @Mixin ModelOptions model;

  @Option(names = "--seconds", defaultValue = "1.0", description = "Length of one timed round, seconds (default ${DEFAULT-VALUE}).")
  double roundSeconds;

  @Option(names = "--rounds", defaultValue = "5", description = "Timed rounds per figure; the median is printed (default ${DEFAULT-VALUE}).")
  int rounds;

  @Option(names = "--batches", split = ",", defaultValue = "1,8,32", description = "Inference batch sizes (default ${DEFAULT-VALUE}).")
  int[] batches;

  @Option(names = "--pipeline", description = "Measure the whole pipeline against bare inference in one run instead:"
      + " steady frames/s and their ratio, per-stage frames/s, CPU shares, paced latency p50/p99, heap.")
  boolean pipeline;

  @Option(names = "--pipeline-images", defaultValue = "64",
      description = "Images of the measured pipeline probe (default ${DEFAULT-VALUE}, 240 frames each).")
  int pipelineImages;

  @Option(names = "--warm-up-images", defaultValue = "64",
      description = "Images of the unmeasured probe before the measured one (default ${DEFAULT-VALUE}): the broker, the"
          + " clients and the Streams application need about that long before the JIT compilers are done with them.")
  int warmUpImages;

  @Option(names = "--latency-images", defaultValue = "4",
      description = "Images of the paced latency probe (default ${DEFAULT-VALUE}, 2 s each at 120 fps).")
  int latencyImages;

  @Option(names = "--scale-out", description = "Time the scale-out scenario of ScaleOutIntegrationTest instead: its"
      + " 4 probes of 3 images published at once, on 1 worker + 1 Streams instance and on 2 + 2, each run on a fresh"
      + " embedded broker with --partitions partitions (median of --rounds runs each, after a warm-up run).")
  boolean scaleOut;

  @Option(names = "--partitions", defaultValue = "4",
      description = "Partitions of every topic in the --scale-out runs (default ${DEFAULT-VALUE}).")
  int partitions;

  private final Random random = new Random(42);

  @Override
  public Integer call() throws Exception {
    if (rounds < 1 || roundSeconds <= 0) {
      throw new IllegalArgumentException("--rounds must be >= 1 and --seconds > 0");
    }
    if (scaleOut) {
      if (partitions < 2) {
        throw new IllegalArgumentException("--partitions must be at least 2 for --scale-out (2 workers share them), got "
            + partitions + " (default 4)");
      }
      scaleOut();
      return 0;
    }
    if (pipeline) {
      if (pipelineImages < 1 || latencyImages < 1 || warmUpImages < 1) {
        throw new IllegalArgumentException("--pipeline-images, --warm-up-images and --latency-images must be at least 1 image");
      }
      new PipelineBench(model, pipelineImages, warmUpImages, latencyImages, roundSeconds, rounds, System.out).run();
      return 0;
    }
    System.out.printf("%-44s %14s %s%n", "benchmark", "rate", "unit");

    // the default plan of a two-region probe: 120 fps, W = 240, 6 and 7.5 Hz, H = 4, M = 4, K = 10
    AnalysisPlan plan = AnalysisPlan.builder().frequencies(6, 7.5).build();
    for (int filters : new int[] {16, 64}) {
      WindowAnalyzer analyzer = new WindowAnalyzer(plan);
      double[][] series = randomSeries(filters, plan.windowFrames());
      double rate = measure(() -> analyzer.analyze(series));
      print("spectral core, " + filters + " filters x 240 frames", rate, "windows/s");
      print("  per filter-window", 1e6 / (rate * filters), "us");
    }

    try (ActivationModel m = ActivationModel.load(model.settings(ModelOptions.home(), java.util.Map.of()).modelConfig())) {
      Preprocessing p = m.preprocessing();
      for (int[] shape : new int[][] {{p.channels(), p.height(), p.width()}, {3, 224, 224}}) {
        ProbePlan probe = ProbePlan.builder().model(m.name()).imageShape(shape[0], shape[1], shape[2]).imageCount(1).build();
        FrameSynthesizer synth = new FrameSynthesizer(probe);
        byte[] pixels = new byte[shape[0] * shape[1] * shape[2]];
        random.nextBytes(pixels);
        Image image = new Image("bench", null, shape[0], shape[1], shape[2], pixels);
        long[] frame = {0};
        print("frame synthesis, " + shape[0] + "x" + shape[1] + "x" + shape[2], measure(() -> synth.render(image, frame[0]++)), "frames/s");
      }

      int taps = m.tappedLayers().size();
      int filters = m.tappedLayers().stream().mapToInt(TappedLayer::channels).sum();
      for (int n : batches) {
        float[] input = new float[n * p.inputLength()];
        for (int i = 0; i < input.length; i++) {
          input[i] = (float) random.nextGaussian();
        }
        double rate = measure(() -> m.run(input, n, Reduction.MEAN)) * n;
        print("inference " + m.name() + ", batch " + n + ", " + taps + " taps", rate, "frames/s");
      }
      print("  activation records per run of frames of one image", taps, "records");
      print("  filters reduced per frame", filters, "filters");
    }

    benchAblation();

    // the shape the worker sends: one record per layer per run of a batch of frames of one image
    Serde<ActivationFrame> serde = Topics.ACTIVATIONS.valueSerde();
    int runFrames = 32;
    List<Float> values = new ArrayList<>();
    for (int k = 0; k < 64 * runFrames; k++) {
      values.add(random.nextFloat());
    }
    ActivationFrame record = ActivationFrame.newBuilder().setProbeId("probe-bench").setModel("m").setImageId("image")
        .setLayer("layer3.4").setFrameIndex(0L).setImageFrame(0).setValues(values).setFrames(runFrames).build();
    byte[] bytes = serde.serializer().serialize("t", record);
    String shape = runFrames + " frames x 64 filters";
    print("Avro encode ActivationFrame, " + shape, measure(() -> serde.serializer().serialize("t", record)), "records/s");
    print("Avro decode ActivationFrame, " + shape, measure(() -> serde.deserializer().deserialize("t", bytes)), "records/s");
    print("  encoded size", bytes.length, "bytes");

    Runtime rt = Runtime.getRuntime();
    print("JVM heap in use after the run", (rt.totalMemory() - rt.freeMemory()) / (1024.0 * 1024.0), "MiB");
    return 0;
  }

  /**
   * Ablation rate as {@code tagscope validate} runs it: every filter of every tapped layer ablated
   * on one chunk of 64 images (masks stacked 4 to a call), in filter-evaluations (filters x images)
   * per second; the median of {@code rounds} full sweeps after one warm-up sweep.
   */
  private void benchAblation() {
    var config = model.settings(ModelOptions.home(), java.util.Map.of()).modelConfig().withIntraOpSpinning(true);
    try (AblationModel m = AblationModel.load(config)) {
      int n = 64;
      float[] input = new float[n * m.activations().preprocessing().inputLength()];
      for (int i = 0; i < input.length; i++) {
        input[i] = (float) random.nextGaussian();
      }
      AblationModel.Upstream up = m.upstream(input, n);
      int filters = m.tappedLayers().stream().mapToInt(TappedLayer::channels).sum();
      double[] rates = new double[rounds];
      for (int r = -1; r < rounds; r++) {
        long start = System.nanoTime();
        for (TappedLayer t : m.tappedLayers()) {
          for (int k0 = 0; k0 < t.channels(); k0 += 4) {
            int g = Math.min(4, t.channels() - k0);
            float[][] masks = new float[g][t.channels()];
            for (int j = 0; j < g; j++) {
              java.util.Arrays.fill(masks[j], 1f);
              masks[j][k0 + j] = 0f;
            }
            m.ablateLayer(up, t.name(), masks);
          }
        }
        if (r >= 0) {
          rates[r] = (double) filters * n / ((System.nanoTime() - start) / 1e9);
        }
      }
      java.util.Arrays.sort(rates);
      print("ablation, " + filters + " filters x " + n + " images", rates[rounds / 2], "filter-evaluations/s");
      print("  all " + filters + " filters x 2,000 images would take", (double) filters * 2000 / rates[rounds / 2], "s");
    }
  }

  /**
   * {@code --scale-out}: the probes of {@link ScaleOut} on 1 + 1 and on 2 + 2 instances, a fresh
   * embedded broker per run; after one warm-up run, {@code rounds} runs of each, alternating, and
   * the median seconds from the first frame sent to the last window back, with frames/s and who did
   * the work in the last run.
   */
  private void scaleOut() throws Exception {
    java.nio.file.Path home = ModelOptions.home();
    WorkerSettings settings = model.settings(home, java.util.Map.of());
    if (model.model == null && model.layers == null) {
      settings = settings.withLayers(ScaleOut.LAYERS); // the test's taps of the bundled model
    }
    List<Image> images = ImageLoader.builder().limit(ScaleOut.PROBES * ScaleOut.IMAGES_PER_PROBE).build()
        .load(ProbeOptions.imageSource(null, home));
    List<ScaleOut.Instances> setups = List.of(new ScaleOut.Instances(partitions, 1, 1), new ScaleOut.Instances(partitions, 2, 2));
    try (ScaleOut s = ScaleOut.load(settings, 2)) {
      List<ScaleOut.Probe> probes = s.probes(images, partitions);
      long frames = probes.stream().mapToLong(p -> p.plan().totalFrames()).sum();
      System.out.printf("scale-out: %d probes x %d images x %d frames at once (%,d frames), taps %s, batch %d,"
              + " %d ONNX Runtime thread(s) per worker, %d cores%n", probes.size(), ScaleOut.IMAGES_PER_PROBE,
          ScaleOut.FRAMES_PER_IMAGE, frames, String.join(",", s.layers()), settings.batchSize(), s.threadsPerWorker(),
          Runtime.getRuntime().availableProcessors());
      scaleOutRun(s, setups.get(0), probes); // warm-up: JIT, ONNX Runtime
      double[][] seconds = new double[setups.size()][rounds];
      ScaleOut.Result[] last = new ScaleOut.Result[setups.size()];
      for (int r = 0; r < rounds; r++) {
        for (int i = 0; i < setups.size(); i++) {
          last[i] = scaleOutRun(s, setups.get(i), probes);
          seconds[i][r] = last[i].seconds();
        }
      }
      for (int i = 0; i < setups.size(); i++) {
        java.util.Arrays.sort(seconds[i]);
        double median = seconds[i][rounds / 2];
        System.out.printf("%-44s %8.2f s  %,8.0f frames/s   frames per worker %s, activation records per Streams instance %s%n",
            setups.get(i), median, frames / median, counts(last[i].workerFrames()), counts(last[i].streamsRecords()));
      }
      System.out.printf("2 + 2 against 1 + 1: %.2fx the frames/s (%s)%n", seconds[0][rounds / 2] / seconds[1][rounds / 2],
          rounds == 1 ? "one run each" : "median of " + rounds + " runs each");
    }
  }

  private static ScaleOut.Result scaleOutRun(ScaleOut s, ScaleOut.Instances n, List<ScaleOut.Probe> probes) throws Exception {
    try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start()) {
      return s.run(broker.bootstrapServers(), n, probes, java.time.Duration.ofMinutes(3));
    }
  }

  private static String counts(List<Double> perInstance) {
    return String.join(" + ", perInstance.stream().map(c -> String.format(java.util.Locale.ROOT, "%,.0f", c)).toList());
  }

  /** Calls per second: the median of {@code rounds} timed rounds of {@code roundSeconds}, after one warm-up round. */
  private double measure(Runnable op) {
    return Timing.callsPerSecond(op, roundSeconds, rounds);
  }

  private double[][] randomSeries(int filters, int frames) {
    double[][] s = new double[filters][frames];
    for (double[] row : s) {
      for (int i = 0; i < frames; i++) {
        row[i] = random.nextGaussian();
      }
    }
    return s;
  }

  private static void print(String name, double value, String unit) {
    System.out.printf("%-44s %,14.1f %s%n", name, value, unit);
  }
}
