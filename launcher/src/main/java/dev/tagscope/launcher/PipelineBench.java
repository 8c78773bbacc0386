package dev.tagscope.launcher;

import com.sun.management.OperatingSystemMXBean;
import dev.tagscope.embedded.EmbeddedKafkaBroker;
import dev.tagscope.producer.FrameSynthesizer;
import dev.tagscope.producer.Image;
import dev.tagscope.producer.ImageLoader;
import dev.tagscope.producer.ProducerService;
import dev.tagscope.schemas.LayerImportance;
import dev.tagscope.schemas.Reduction;
import dev.tagscope.schemas.Topics;
import dev.tagscope.service.KafkaClientPolicy;
import dev.tagscope.service.PartitionCatchUp;
import dev.tagscope.spectral.SpectralService;
import dev.tagscope.tagging.ProbePlan;
import dev.tagscope.worker.ActivationModel;
import dev.tagscope.worker.InferenceWorker;
import dev.tagscope.worker.Preprocessor;
import dev.tagscope.worker.TappedLayer;
import dev.tagscope.worker.WorkerSettings;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.PrintStream;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.lang.management.ThreadMXBean;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;

/**
 * {@code tagscope bench --pipeline}: the whole pipeline against the model it watches, in one run
 * and one JVM, so the two figures are comparable.
 *
 * <ol>
 *   <li>bare inference: synthesized, preprocessed frames through the model with every tap reduced,
 *       at the worker's batch size and threads (frames/s, the median of timed rounds);</li>
 *   <li>the pipeline on an embedded broker: a warm-up probe, then a measured unpaced probe from its
 *       first frame sent to its last window back on {@code tagscope.tag-responses}; its frames/s,
 *       the ratio to bare inference, each stage's frames/s and records/s, and where the CPU went
 *       (per-thread CPU time by service; what no Java thread accounts for is ONNX Runtime's
 *       native pool, the JIT compilers and the garbage collector, split as far as the JVM tells);</li>
 *   <li>latency: a paced probe at the plan's fps, from the stimulus time of each window's last
 *       frame (frames are sent at their stimulus time) to its importance update arriving on
 *       {@code tagscope.importance}, the dashboard's topic; p50 and p99.</li>
 * </ol>
 *
 * <p>All services share one JVM here, so the heap figure is the whole JVM's after a GC; a heap per
 * service needs one process per service and is not measured. A harness that prints figures; no
 * test asserts on them.
 */
final class PipelineBench {
  private final ModelOptions model;
  private final int images;
  private final int warmUpImages;
  private final int latencyImages;
  private final double roundSeconds;
  private final int rounds;
  private final PrintStream out;

  /**
   * @param model the model options (model, taps, batch, threads)
   * @param images images of the measured probe (frames = images x the default 240 per image)
   * @param warmUpImages images of the unmeasured probe before it, enough for the JIT to settle
   * @param latencyImages images of the paced latency probe (2 s each at the default plan)
   * @param roundSeconds length of one timed inference round, seconds
   * @param rounds timed inference rounds (median printed)
   * @param out where the table goes
   */
  PipelineBench(ModelOptions model, int images, int warmUpImages, int latencyImages, double roundSeconds, int rounds,
                PrintStream out) {
    this.model = model;
    this.images = images;
    this.warmUpImages = warmUpImages;
    this.latencyImages = latencyImages;
    this.roundSeconds = roundSeconds;
    this.rounds = rounds;
    this.out = out;
  }

  /**
   * Runs the three measurements and prints them.
   *
   * @throws Exception when the model, the images or a service cannot start (the message says which)
   */
  void run() throws Exception {
    Path home = ModelOptions.home();
    WorkerSettings settings = model.settings(home, Map.of());
    List<Image> all = ImageLoader.builder().limit(Math.max(Math.max(images, warmUpImages), latencyImages)).build().load(ProbeOptions.imageSource(null, home));
    try (ActivationModel m = ActivationModel.load(settings.modelConfig())) {
      int taps = m.tappedLayers().size();
      double bare = bareInference(m, settings.batchSize(), all.get(0));
      print("bare inference, batch " + settings.batchSize() + ", " + taps + " taps", bare, "frames/s");
      print("  cores", Runtime.getRuntime().availableProcessors(), "");

      MeterRegistry registry = new SimpleMeterRegistry();
      double pipeline;
      try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start(); ServiceRunner runner = ServiceRunner.install()) {
        String bootstrap = broker.bootstrapServers();
        try (Admin admin = Admin.create(KafkaClientPolicy.admin().bootstrapServers(bootstrap).build())) {
          Topics.createAll(admin, 1, (short) 1);
        }
        runner.start(new SpectralService(bootstrap, Map.of(), registry), Duration.ofMinutes(2));
        runner.start(new InferenceWorker(bootstrap, settings, m, registry), Duration.ofMinutes(2));

        List<Image> warmUp = all.subList(0, Math.min(warmUpImages, all.size()));
        probe(runner, bootstrap, registry, m, plan(m, warmUp), warmUp, false); // warm-up: JIT, caches, topics
        List<Image> measured = all.subList(0, images);
        ProbePlan measuredPlan = plan(m, measured);
        CpuSnapshot before = CpuSnapshot.take();
        long t0 = System.nanoTime();
        Map<String, Double> countsBefore = counts(registry, taps);
        double recordsBefore = StageThroughput.total(registry, SpectralService.RECORDS_METER);
        double inferenceBefore = inferenceSeconds(registry);
        probe(runner, bootstrap, registry, m, measuredPlan, measured, false);
        double seconds = (System.nanoTime() - t0) / 1e9;
        Map<String, Double> countsAfter = counts(registry, taps);
        double spectralRecords = StageThroughput.total(registry, SpectralService.RECORDS_METER) - recordsBefore;
        double inference = inferenceSeconds(registry) - inferenceBefore;
        CpuSnapshot after = CpuSnapshot.take();
        long frames = measuredPlan.totalFrames();
        pipeline = frames / seconds;
        print("pipeline end to end, " + images + " images (steady, after warm-up)", pipeline, "frames/s");
        print("  ratio to bare inference (target >= 0.8)", pipeline / bare, "x");
        for (String stage : countsAfter.keySet()) {
          double records = countsAfter.get(stage) - countsBefore.get(stage);
          if (stage.equals("spectral")) {
            // records here are layer-frames (one layer's values for one frame), the unit the issue's
            // 20,000 records/s target was set in when a record carried one frame
            double streamCpu = after.cpuSeconds(CpuSnapshot.SPECTRAL, before);
            print("  spectral: frames", records / taps / seconds, "frames/s");
            print("  spectral: layer-frames consumed", records / seconds, "layer-frames/s");
            print("  spectral: activation records consumed", spectralRecords / seconds, "records/s");
            print("  spectral: stream-thread CPU per layer-frame", 1e6 * streamCpu / records, "us");
            print("  spectral: one stream thread's capacity (target >= 20,000)", records / streamCpu, "layer-frames/s");
          } else {
            print("  " + stage + ": frames", records / seconds, "frames/s");
          }
          if (stage.equals("worker")) {
            // Inference slower here than bare: the model shares its cores; the worker idle beside
            // it: the model waits for the rest of the worker's loop (poll, send, commit)
            print("  worker: share of the time the model was running", 100 * inference / seconds, "%");
            print("  worker: inference while running", records / inference, "frames/s");
          }
        }
        after.printShares(before, out);

        List<Double> latencies = latency(runner, bootstrap, registry, m, all.subList(0, latencyImages));
        Collections.sort(latencies);
        print("paced latency, window end to importance update, p50", percentile(latencies, 0.50), "ms");
        print("paced latency, p99 (target <= 250)", percentile(latencies, 0.99), "ms");
        print("  importance updates timed", latencies.size(), "records");
      }
      paperBaseline(home, pipeline);
      System.gc();
      print("JVM heap in use after a GC (all services, one JVM)",
          ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed() / (1024.0 * 1024.0), "MiB");
    }
  }

  /**
   * Runs {@code tools/paper_baseline.py}, the paper-style PyTorch probe of the same model and
   * images, when a Python with PyTorch, ONNX and numpy is there ({@code TAGSCOPE_PYTHON}, else
   * {@code /usr/bin/python3}, else {@code python3}), and prints its frames/s and the pipeline's ratio
   * to it; says why when it cannot run.
   */
  private void paperBaseline(Path home, double pipeline) throws InterruptedException {
    Path script = home.resolve("tools/paper_baseline.py");
    String python = System.getenv("TAGSCOPE_PYTHON") != null ? System.getenv("TAGSCOPE_PYTHON")
        : java.nio.file.Files.isExecutable(Path.of("/usr/bin/python3")) ? "/usr/bin/python3" : "python3";
    List<String> cmd = List.of(python, script.toString(), "--model", model.modelPath(home).toString(),
        "--images", home.resolve("models/samples/fashion-mnist-test-images-idx3-ubyte.gz").toString(), // same shape as the probe
        "--count", Integer.toString(Math.min(images, 16)));
    try {
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      String output = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
      if (!p.waitFor(300, java.util.concurrent.TimeUnit.SECONDS) || p.exitValue() != 0) {
        p.destroyForcibly();
        String last = output.strip().isEmpty() ? "no output" : output.strip().lines().reduce((x, y) -> y).orElse("");
        out.println("paper-style PyTorch baseline: not run (" + python + " with torch, onnx and numpy needed): " + last);
        return;
      }
      java.util.regex.Matcher m = java.util.regex.Pattern.compile("paper-style: ([0-9.]+) frames/s").matcher(output);
      if (!m.find()) {
        out.println("paper-style PyTorch baseline: no figure in its output: " + output.strip());
        return;
      }
      double rate = Double.parseDouble(m.group(1));
      print("paper-style PyTorch script, same model and taps", rate, "frames/s");
      print("  pipeline against the script (target >= 1.5)", pipeline / rate, "x");
    } catch (java.io.IOException e) {
      out.println("paper-style PyTorch baseline: not run (" + python + " not found: " + e.getMessage() + ")");
    }
  }

  /** Frames per second through preprocessing and the model at batch {@code n}, frames synthesized from one image. */
  private double bareInference(ActivationModel m, int n, Image image) {
    ProbePlan plan = ProbePlan.builder().model(m.name()).imageShape(image.channels(), image.height(), image.width())
        .imageCount(1).build();
    FrameSynthesizer synth = new FrameSynthesizer(plan);
    Preprocessor pre = new Preprocessor(m.preprocessing());
    float[] input = new float[n * pre.inputLength()];
    long[] frame = {0};
    return Timing.callsPerSecond(() -> {
      for (int i = 0; i < n; i++) {
        pre.apply(synth.render(image, frame[0]++), image.channels(), image.height(), image.width(), input, i * pre.inputLength());
      }
      m.run(input, n, Reduction.MEAN);
    }, roundSeconds, rounds) * n;
  }

  private static ProbePlan plan(ActivationModel m, List<Image> imgs) {
    Image first = imgs.get(0);
    List<String> layers = m.tappedLayers().stream().map(TappedLayer::name).toList();
    return ProbePlan.builder().model(m.name()).layers(layers).imageShape(first.channels(), first.height(), first.width())
        .imageCount(imgs.size()).build();
  }

  /** Publishes one probe and waits for all its windows. */
  private void probe(ServiceRunner runner, String bootstrap, MeterRegistry registry, ActivationModel m,
                                ProbePlan plan, List<Image> imgs, boolean paced) throws InterruptedException {
    int taps = m.tappedLayers().size();
    long expected = (long) imgs.size() * plan.geometry().windowsPerImage() * taps;
    StageThroughput throughput = new StageThroughput(registry, StageThroughput.pipelineStages(taps));
    try (TagResponseCollector collector = TagResponseCollector.counting(bootstrap, plan.probeId(), plan.startTimeMs());
         ProducerService producer = ProducerService.builder().bootstrapServers(bootstrap).images(imgs).plan(plan)
             .paced(paced).registry(registry).build()) {
      producer.start();
      WindowWait.await(collector, expected, throughput, runner, Duration.ofMinutes(3), false);
    }
  }

  /**
   * Milliseconds from each window's end to its importance update arriving on the dashboard's topic,
   * for a paced probe: frames leave at their stimulus time, so the window that ends at frame
   * {@code e} ends at {@code startTimeMs + 1000 e / fps} on the wall clock. The importance record
   * itself carries the largest stimulus time of every probe folded into it (earlier unpaced probes
   * run ahead of the clock), so the window is found from its count instead: the update with
   * {@code windowsSeen = base + k} is the one that folded in the probe's k-th window of that layer.
   */
  private List<Double> latency(ServiceRunner runner, String bootstrap, MeterRegistry registry, ActivationModel m,
                               List<Image> imgs) throws Exception {
    List<Double> ms = Collections.synchronizedList(new ArrayList<>());
    AtomicBoolean stop = new AtomicBoolean();
    CountDownLatch ready = new CountDownLatch(1);
    AtomicReference<ProbePlan> paced = new AtomicReference<>();
    Thread reader = new Thread(() -> {
      Map<String, Long> base = new HashMap<>();
      try (KafkaConsumer<String, LayerImportance> c = new KafkaConsumer<>(KafkaClientPolicy.readCommittedConsumer(null)
          .bootstrapServers(bootstrap).build(), Topics.IMPORTANCE.keySerde().deserializer(), Topics.IMPORTANCE.valueSerde().deserializer())) {
        PartitionCatchUp<String, LayerImportance> topic = new PartitionCatchUp<>("bench", c,
            Map.of(Topics.IMPORTANCE.name(), PartitionCatchUp.StartPosition.beginning()), Duration.ofSeconds(30));
        topic.assignNewPartitions();
        topic.readToCurrentEnd(Duration.ofSeconds(60), r -> {
          if (r.value() != null) { // a tombstone removed the layer's importance: it starts again from 0
            base.put(r.key(), r.value().getWindowsSeen());
          } else {
            base.remove(r.key());
          }
        });
        ready.countDown();
        while (!stop.get()) {
          for (ConsumerRecord<String, LayerImportance> r : topic.pollAssigned(Duration.ofMillis(20))) {
            long now = System.currentTimeMillis();
            ProbePlan plan = paced.get();
            if (plan == null || r.value() == null || !plan.probeId().equals(r.value().getLastProbeId())) {
              continue;
            }
            long k = r.value().getWindowsSeen() - base.getOrDefault(r.key(), 0L); // 1-based window of this probe and layer
            int wpi = plan.geometry().windowsPerImage();
            long endFrame = (k - 1) / wpi * plan.framesPerImage() + plan.geometry().windowEnd((int) ((k - 1) % wpi));
            ms.add(now - (plan.startTimeMs() + 1000.0 * endFrame / plan.fps()));
          }
        }
      } finally {
        ready.countDown();
      }
    }, "tagscope-bench-latency");
    reader.start();
    ready.await();
    try {
      paced.set(plan(m, imgs)); // stimulus time starts now
      probe(runner, bootstrap, registry, m, paced.get(), imgs, true);
      Thread.sleep(1000); // the last importance updates leave the Streams cache at the next commit
    } finally {
      stop.set(true);
      reader.join(5000);
    }
    return new ArrayList<>(ms);
  }

  /** Seconds the worker's model has spent in its runs so far. */
  private static double inferenceSeconds(MeterRegistry registry) {
    return registry.find(InferenceWorker.INFERENCE_METER).timers().stream()
        .mapToDouble(t -> t.totalTime(java.util.concurrent.TimeUnit.SECONDS)).sum();
  }

  /** The stages' counters now: frames sent, frames inferred, activation records consumed. */
  private static Map<String, Double> counts(MeterRegistry registry, int taps) {
    Map<String, Double> c = new LinkedHashMap<>();
    StageThroughput.pipelineStages(taps).forEach(s -> c.put(s.name(), StageThroughput.total(registry, s.counter())));
    return c;
  }

  private static double percentile(List<Double> sorted, double q) {
    if (sorted.isEmpty()) {
      return Double.NaN;
    }
    return sorted.get(Math.min(sorted.size() - 1, (int) Math.ceil(q * sorted.size()) - 1));
  }

  private void print(String name, double value, String unit) {
    out.printf("%-52s %,14.1f %s%n", name, value, unit);
  }

  /** CPU time per thread group and of the whole process at one moment. */
  private record CpuSnapshot(long processNanos, Map<String, Long> byGroup, long jitMillis, long gcMillis) {
    static final String SPECTRAL = "spectral (stream threads)";

    static CpuSnapshot take() {
      ThreadMXBean threads = ManagementFactory.getThreadMXBean();
      Map<String, Long> groups = new LinkedHashMap<>();
      for (String g : List.of("worker (poll loop, inference calls)", SPECTRAL, "producer",
          "Kafka client I/O threads", "broker and other Java threads")) {
        groups.put(g, 0L);
      }
      for (ThreadInfo t : threads.getThreadInfo(threads.getAllThreadIds())) {
        if (t == null) {
          continue;
        }
        long cpu = threads.getThreadCpuTime(t.getThreadId());
        if (cpu > 0) {
          groups.merge(group(t.getThreadName()), cpu, Long::sum);
        }
      }
      long gc = 0;
      for (GarbageCollectorMXBean b : ManagementFactory.getGarbageCollectorMXBeans()) {
        gc += Math.max(0, b.getCollectionTime());
      }
      OperatingSystemMXBean os = (OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
      return new CpuSnapshot(os.getProcessCpuTime(), groups, ManagementFactory.getCompilationMXBean().getTotalCompilationTime(), gc);
    }

    private static String group(String name) {
      if (name.startsWith("tagscope-worker")) {
        return "worker (poll loop, inference calls)";
      }
      if (name.contains("StreamThread")) {
        return SPECTRAL;
      }
      if (name.startsWith("tagscope-producer")) {
        return "producer";
      }
      if (name.startsWith("kafka-producer-network-thread") || name.contains("consumer") || name.contains("heartbeat")) {
        return "Kafka client I/O threads";
      }
      return "broker and other Java threads";
    }

    /** CPU seconds a thread group used between {@code before} and this snapshot. */
    double cpuSeconds(String group, CpuSnapshot before) {
      return (byGroup.getOrDefault(group, 0L) - before.byGroup.getOrDefault(group, 0L)) / 1e9;
    }

    /** Prints each group's share of the process CPU time between {@code before} and this snapshot. */
    void printShares(CpuSnapshot before, PrintStream out) {
      double total = processNanos - before.processNanos;
      long javaThreads = 0;
      for (Map.Entry<String, Long> e : byGroup.entrySet()) {
        long d = e.getValue() - before.byGroup.getOrDefault(e.getKey(), 0L);
        javaThreads += d;
        out.printf("  CPU %-47s %13.1f %%%n", e.getKey(), 100 * d / total);
      }
      long jitNanos = (jitMillis - before.jitMillis) * 1_000_000L;
      long gcNanos = (gcMillis - before.gcMillis) * 1_000_000L;
      // Threads the JVM does not list: ONNX Runtime's native pool, the JIT compilers, the GC. The JVM
      // reports compilation and GC as elapsed time, which may overlap, so they are shown beside the rest, not split from it.
      out.printf("  CPU %-47s %13.1f %%%n", "in no Java thread (ONNX Runtime pool, JIT, GC)", 100 * (total - javaThreads) / total);
      out.printf("  %-51s %,14.1f s%n", "  JVM-reported JIT compilation time", jitNanos / 1e9);
      out.printf("  %-51s %,14.1f s%n", "  JVM-reported GC pause time", gcNanos / 1e9);
      out.printf("  %-51s %,14.1f s%n", "process CPU during the measured probe", total / 1e9);
    }
  }
}
