package dev.tagscope.launcher;

import dev.tagscope.dashboard.DashboardService;
import dev.tagscope.dashboard.DashboardSettings;
import dev.tagscope.embedded.EmbeddedKafkaBroker;
import dev.tagscope.producer.Image;
import dev.tagscope.producer.LiveTraffic;
import dev.tagscope.producer.ProducerService;
import dev.tagscope.producer.PublishSummary;
import dev.tagscope.schemas.Topics;
import dev.tagscope.service.KafkaClientPolicy;
import dev.tagscope.spectral.SpectralService;
import dev.tagscope.spectral.SpectralSettings;
import dev.tagscope.tagging.AnalysisPlan;
import dev.tagscope.tagging.ProbePlan;
import dev.tagscope.tagging.spectral.LayerAccumulator;
import dev.tagscope.tagging.spectral.SpectralReport;
import dev.tagscope.worker.ActivationModel;
import dev.tagscope.worker.InferenceWorker;
import dev.tagscope.worker.ModelConfig;
import dev.tagscope.worker.TappedLayer;
import dev.tagscope.worker.WorkerSettings;
import io.micrometer.core.instrument.MeterRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.apache.kafka.clients.admin.Admin;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code tagscope demo}: the whole pipeline in one process. An embedded broker (unless
 * {@code --bootstrap-servers}), the topics, the Streams application, the dashboard, the worker and
 * the producer; then it waits until every window of every layer has come back on the
 * tag-responses topic, prints the top filters per layer and writes the report.
 *
 * <p>Everything that can be refused is checked before the broker starts: the images are read, the
 * model is loaded with its taps, and the probe plan is validated.
 */
@Command(name = "demo", mixinStandardHelpOptions = true, sortOptions = false,
    description = "Probe a model end to end on an embedded Kafka broker (or --bootstrap-servers) and write a report.")
final class DemoCommand implements Callable<Integer> {
  @Mixin KafkaOptions kafka;
  @Mixin ModelOptions model;
  @Mixin ProbeOptions probe;
  @Mixin DashboardOptions dashboard;
  @Mixin MetricsOptions metrics;
  @Mixin ReportOptions output;
  @Mixin LiveTrafficOptions live;
  @Mixin ModelWatchOptions watch;
  @Mixin HistoryOptions history;
  @Mixin TopExamplesOptions topExamples;

  /** The requests topic of {@code --live-traffic} unless {@code --requests-topic} names another. */
  static final String DEMO_REQUESTS_TOPIC = "tagscope.demo.requests";

  @Option(names = "--live-traffic", description = "Probe live traffic: a second in-process producer writes the images as"
      + " PNG-encoded inference requests to " + DEMO_REQUESTS_TOPIC + " (or --requests-topic), and the probe samples them"
      + " (--sample-every, default 1) from there.")
  boolean liveTraffic;


  @Option(names = "--damage", paramLabel = "LAYER:N", description = "With --live-traffic: once the first half of the requests"
      + " is analysed, zero the N most important filters of LAYER in a copy of the model (a damaged deployment) and swap the"
      + " worker to it for the second half, so the importance history and the rank alerts show the change (give short"
      + " buckets, e.g. --bucket-seconds 8 --reference-buckets 2). ONNX models only.")
  String damage;

  @Option(names = "--serve", description = "Keep the dashboard (and the embedded broker) up after the report, until Ctrl-C.")
  boolean serve;

  @Option(names = "--no-dashboard", description = "Do not start the dashboard.")
  boolean noDashboard;


  @Option(names = "--validate", description = "After the probe, validate the ranking against filter ablation (as"
      + " `tagscope validate`, on --validate-count labelled images) and publish it, so the dashboard shows beside each"
      + " ranking how far to trust it.")
  boolean validate;

  @Option(names = "--validate-count", defaultValue = "500",
      description = "Labelled images for --validate's ablations (default ${DEFAULT-VALUE}; `tagscope validate` uses 2,000).")
  int validateCount;

  @Option(names = "--validate-out", defaultValue = "tagscope-validation", description = "Report folder of --validate (default ${DEFAULT-VALUE}).")
  Path validateOut;

  @Option(names = "--visualize", description = "After the report, draw the top 8 filters of each tapped layer by the"
      + " report's ranking (as `tagscope visualize --report`, with the model's TorchScript twin) into --visualizations"
      + " (default " + DashboardSettings.DEFAULT_VISUALIZATIONS + "), so the dashboard's filter panel shows them.")
  boolean visualize;

  @Option(names = "--visualize-steps", defaultValue = "256",
      description = "Gradient steps per filter for --visualize (default ${DEFAULT-VALUE}, as tagscope visualize).")
  int visualizeSteps;

  @Option(names = "--partitions", defaultValue = "1", description = "Partitions of each topic the demo creates (default"
      + " ${DEFAULT-VALUE}: one worker and one Streams instance run here; topics that exist keep theirs).")
  int partitions;

  @Option(names = "--stall-timeout", defaultValue = "180", description = "Give up when no window arrives for this many seconds (default ${DEFAULT-VALUE}).")
  int stallTimeoutSeconds;

  @Override
  public Integer call() throws Exception {
    long started = System.nanoTime();
    if (probe.continuous) {
      throw new IllegalArgumentException("--continuous: the demo ends with a report; for a probe without end run "
          + "`tagscope producer --continuous` against a cluster, or keep the demo's dashboard up with --serve");
    }
    // Refused here, not after the broker and services have started: --serve with --no-dashboard was
    // silently ignored, and a --stall-timeout below 1 s failed the run at its first poll (exit 1).
    if (serve && noDashboard) {
      throw new IllegalArgumentException("--serve keeps the dashboard up, but --no-dashboard turns it off; drop one of them");
    }
    if (validate && validateCount < 1) {
      throw new IllegalArgumentException("--validate-count must be at least 1 labelled image (default 500), got " + validateCount);
    }
    if (partitions < 1) {
      throw new IllegalArgumentException("--partitions must be at least 1 per topic, got " + partitions + " (default 1)");
    }
    if (stallTimeoutSeconds < 1) {
      throw new IllegalArgumentException("--stall-timeout must be at least 1 second (default 180), got " + stallTimeoutSeconds);
    }
    Path home = ModelOptions.home();
    MeterRegistry registry = metrics.registry();
    Map<String, Object> clientOverrides = kafka.overrides();

    // 1. Everything that can be refused, before any service starts.
    SpectralSettings spectralSettings = topExamples.apply(SpectralSettings.of(registry).withHistory(history.settings()));
    if (visualize && visualizeSteps < 1) {
      throw new IllegalArgumentException("--visualize-steps must be at least 1 gradient step per filter (default 256), got "
          + visualizeSteps);
    }
    if (visualize) {
      // The dashboard reads the folder as the visualiser fills it; it must exist when the dashboard starts.
      if (dashboard.visualizations == null) {
        dashboard.visualizations = Path.of(DashboardSettings.DEFAULT_VISUALIZATIONS);
      }
      Files.createDirectories(dashboard.visualizations);
    }
    if (!noDashboard) {
      dashboard.settings(clientOverrides, List.of()); // host, port, --visualizations: refused now, not after the broker starts
    }
    LiveTraffic traffic = liveTraffic();
    List<Image> images = probe.loadImages(home);
    WorkerSettings settings = watch.apply(model.settings(home, clientOverrides));
    if (visualize && !Files.isRegularFile(ModelConfig.torchScriptTwin(settings.modelPath()))) {
      throw new IllegalArgumentException("--visualize needs the TorchScript twin " + ModelConfig.torchScriptTwin(settings.modelPath())
          + " of " + settings.modelPath() + " for DJL's autograd; write it with tools/torchscript_export.py, or leave --visualize out");
    }
    ActivationModel activationModel = ActivationModel.load(settings.modelConfig());
    List<String> layerNames = activationModel.tappedLayers().stream().map(TappedLayer::name).toList();
    Image first = images.get(0);
    ProbePlan.Builder planBuilder = probe.planBuilder().model(activationModel.name()).layers(layerNames)
        .imageShape(first.channels(), first.height(), first.width());
    ProbePlan plan = traffic != null ? planBuilder.continuous(true).build() : planBuilder.imageCount(images.size()).build();
    Damage damaged = damage == null ? null : Damage.parse(damage, traffic, settings.modelPath(), layerNames, images.size());
    long windowsPerImage = plan.geometry().windowsPerImage();
    // live: the requests are written to one partition, so every k-th of them is probed, the first included
    long probed = traffic != null ? (images.size() + traffic.sampling().everyK() - 1) / traffic.sampling().everyK() : images.size();
    long expectedWindows = probed * windowsPerImage * layerNames.size();
    System.out.printf("model %s version %s: %d layers tapped (%s)%n", activationModel.name(), activationModel.version(),
        layerNames.size(), String.join(", ", layerNames));
    if (traffic != null) {
      System.out.printf("probe %s: live traffic of %s (%s): %d images from %s written as PNG requests, %d probed; %s, %s;"
          + " %d frames, %d windows%n", plan.probeId(), traffic.requestsTopic(), traffic.sampling(), images.size(),
          probe.imageSource(home), probed, plan.layout(), describeRegions(plan), probed * plan.framesPerImage(), expectedWindows);
    } else {
      System.out.printf("probe %s: %d images from %s, %s, %s; %d frames, %d windows%n", plan.probeId(), images.size(),
          probe.imageSource(home), plan.layout(), describeRegions(plan), plan.totalFrames(), expectedWindows);
    }

    // From here on Ctrl-C (or SIGTERM) stops the probe and waits until everything below is closed:
    // without it the JVM halted at once and left the embedded broker's log directory and the
    // Streams state folder in /tmp (tens of MB per interrupted demo). Closed last, after the finally.
    try (ServiceRunner runner = ServiceRunner.install()) {
      return runServices(started, runner, registry, clientOverrides, images, settings, activationModel, layerNames, plan,
          expectedWindows, traffic, spectralSettings, damaged);
    }
  }

  private Integer runServices(long started, ServiceRunner runner, MeterRegistry registry, Map<String, Object> clientOverrides,
                              List<Image> images, WorkerSettings settings, ActivationModel activationModel,
                              List<String> layerNames, ProbePlan plan, long expectedWindows, LiveTraffic traffic,
                              SpectralSettings spectralSettings, Damage damaged)
      throws Exception {
    EmbeddedKafkaBroker broker = null;
    DashboardService dash = null;
    InferenceWorker worker = null;
    try {
      // 2. The cluster and its topics.
      String bootstrap = kafka.bootstrapServers;
      if (bootstrap == null || bootstrap.isBlank()) {
        broker = EmbeddedKafkaBroker.start();
        bootstrap = broker.bootstrapServers();
        System.out.println("embedded Kafka broker on " + bootstrap);
      }
      try (Admin admin = Admin.create(KafkaClientPolicy.admin().bootstrapServers(bootstrap).overrides(clientOverrides).build())) {
        Topics.createAll(admin, partitions, (short) 1);
      }

      // 3. The services, downstream first so nothing waits on an absent reader.
      try (TagResponseCollector collector = new TagResponseCollector(bootstrap, clientOverrides, plan.probeId(), plan.startTimeMs())) {
        runner.start(new SpectralService(bootstrap, clientOverrides, spectralSettings),
            Duration.ofMinutes(2));
        if (!noDashboard) {
          dash = runner.start(new DashboardService(bootstrap, dashboard.settings(clientOverrides, activationModel.classes()), registry));
          System.out.println("dashboard: " + dash.url());
        }
        worker = runner.start(new InferenceWorker(bootstrap, settings, activationModel, registry),
            Duration.ofMinutes(2));

        // 4. The probe: of the images, or of the requests a second producer writes from them.
        ProducerService.Builder probeService = ProducerService.builder().bootstrapServers(bootstrap).producerConfig(clientOverrides)
            .plan(plan).paced(probe.paced).registry(registry);
        ProducerService producer;
        if (traffic != null) {
          startAtEnd(bootstrap, clientOverrides, traffic);
          producer = runner.start(probeService.liveTraffic(traffic).build(), Duration.ofMinutes(2));
          if (damaged == null) {
            int fed = RequestFeeder.feed(bootstrap, clientOverrides, traffic.requestsTopic(), images);
            System.out.printf("%d PNG requests written to %s%n", fed, traffic.requestsTopic());
          } else {
            // first half on the model as it is, then the damaged copy for the second half
            int half = images.size() / 2;
            RequestFeeder.feed(bootstrap, clientOverrides, traffic.requestsTopic(), images.subList(0, half));
            System.out.printf("%d PNG requests written to %s for the undamaged model%n", half, traffic.requestsTopic());
            WindowWait.await(collector, expectedWindows * half / images.size(),
                new StageThroughput(registry, StageThroughput.pipelineStages(layerNames.size())), runner,
                Duration.ofSeconds(stallTimeoutSeconds), true);
            damaged.swap(worker, collector, activationModel.name(), plan.probeId());
            RequestFeeder.feed(bootstrap, clientOverrides, traffic.requestsTopic(), images.subList(half, images.size()));
            System.out.printf("%d PNG requests written to %s for the damaged model%n", images.size() - half, traffic.requestsTopic());
          }
        } else {
          producer = runner.start(probeService.images(images).build(), Duration.ofMinutes(2));
        }

        StageThroughput throughput = new StageThroughput(registry, StageThroughput.pipelineStages(layerNames.size()));
        try {
          WindowWait.await(collector, expectedWindows, throughput, runner, Duration.ofSeconds(stallTimeoutSeconds), true);
        } finally {
          // Stopped before the report; the Streams application and the dashboard stay up until the
          // end (the dashboard for --serve), closed by the runner before the broker.
          producer.close();
          worker.close();
        }
        double wallSeconds = (System.nanoTime() - started) / 1e9;

        // 5. The report, from what came back on the tag-responses topic.
        SpectralReport.Builder rb = SpectralReport.builder(AnalysisPlan.fromProbe(plan.spec())).model(modelFacts(activationModel, settings));
        for (String layer : layerNames) {
          LayerAccumulator acc = collector.layers().get(layer);
          if (acc != null) {
            rb.layer(layer, acc);
          }
        }
        SpectralReport built = rb.build();
        built.write(output.report);
        Summaries.printTopFilters(System.out, built.toJson(), output.top);
        System.out.println();
        PublishSummary sent = producer.summary().orElse(null);
        for (StageThroughput.Stage s : throughput.stages()) {
          double frames = throughput.frames(s);
          double fps = throughput.framesPerSecond(s);
          if (s.name().equals("producer") && sent != null && sent.seconds() > 0) {
            // the publisher times itself exactly; the sampled estimate errs low by up to one sampling period
            frames = sent.frames();
            fps = sent.frames() / sent.seconds();
          }
          System.out.printf("%-9s %,8.0f frames  %,8.0f frames/s%n", s.name(), frames, fps);
        }
        double raised = registry.find(SpectralService.ALERTS_METER).tag("state", "raised")
            .counters().stream().mapToDouble(io.micrometer.core.instrument.Counter::count).sum();
        if (damaged != null || raised > 0) {
          System.out.printf("rank alerts raised: %.0f (on %s; the dashboard lists them)%n", raised, Topics.ALERTS.name());
        }
        System.out.printf("wall time %.1f s; report: %s%n", wallSeconds, output.report.toAbsolutePath());

        if (visualize) {
          visualize(settings.modelPath(), layerNames);
        }
        if (validate) {
          validateAndPublish(bootstrap, clientOverrides, settings, images);
        }

        if (serve && dash != null) {
          System.out.println("dashboard stays up at " + dash.url() + "  (Ctrl-C to stop)");
          runner.awaitStopRequest();
        }
      }
      return 0;
    } finally {
      runner.closeServices(); // before the broker they talk to
      if (worker == null || worker.isFinished()) {
        activationModel.close();
      } else {
        // its loop did not stop within the close timeout and may still run the model: leave it to the JVM's exit
        System.err.println("the inference worker did not stop in time; its model is left open until the JVM exits");
      }
      if (broker != null) {
        broker.close();
      }
      metrics.close();
    }
  }

  /**
   * {@code --visualize}: {@code tagscope visualize} on the report just written, its layers and the
   * model's TorchScript twin, into the dashboard's visualisations folder (one place for the
   * command's logic and its checks).
   *
   * @throws IllegalStateException when the visualiser fails (it printed why)
   */
  private void visualize(Path modelPath, List<String> layerNames) {
    List<String> args = new java.util.ArrayList<>(List.of("--report", output.report.toString(),
        "--model", modelPath.toString(), "--layers", String.join(",", layerNames),
        "--out", dashboard.visualizations.toString(), "--steps", Integer.toString(visualizeSteps)));
    if (probe.images != null) {
      args.addAll(List.of("--images", probe.images.toString())); // the labelled images for the mean activations too
    }
    int rc = new picocli.CommandLine(new VisualizeCommand()).execute(args.toArray(String[]::new));
    if (rc != 0) {
      throw new IllegalStateException("--visualize: tagscope visualize failed (exit " + rc + ", reason above)");
    }
  }

  /**
   * {@code --validate}: the probe's images and plan, labelled images for the ablations, the report
   * folder, and the records on the validation topic of the demo's cluster.
   */
  private void validateAndPublish(String bootstrap, Map<String, Object> clientOverrides, WorkerSettings settings,
                                  List<Image> probeImages) throws Exception {
    Path home = ModelOptions.home();
    Path source = ProbeOptions.imageSource(null, home);
    List<Image> labelled = dev.tagscope.producer.ImageLoader.builder().limit(validateCount).build().load(source);
    dev.tagscope.validation.ValidationSettings vs = dev.tagscope.validation.ValidationSettings.defaults()
        .withImages(Math.min(validateCount, labelled.size())).withProbe(probeImages.size(), List.of());
    System.out.println();
    dev.tagscope.validation.ValidationResult r = ValidateCommand.run(settings.modelConfig().withIntraOpSpinning(true),
        probeImages, labelled, source, vs, probe.plan.planBuilder(), true, validateOut, System.out);
    int n = ValidateCommand.publish(r, bootstrap, clientOverrides);
    System.out.printf("validation report: %s; %d records on %s%n", validateOut.toAbsolutePath(), n, Topics.VALIDATION.name());
  }

  /**
   * The demo's live traffic: {@code --live-traffic} or {@code --requests-topic}, every request
   * probed unless {@code --sample-every} says otherwise, a consumer group of this run's own.
   *
   * @return the settings, or null for a demo of loaded images
   * @throws IllegalArgumentException naming the option: {@code --sample-rate} (the demo's end
   *     needs a known count), {@code --image-shape} (the images give it), or a bad sampling option
   */
  private LiveTraffic liveTraffic() {
    if (liveTraffic && live.requestsTopic == null) {
      live.requestsTopic = DEMO_REQUESTS_TOPIC;
    }
    if (live.enabled() && live.sampleRate != null) {
      throw new IllegalArgumentException("--sample-rate: the demo ends once every probed request's windows are in, so it"
          + " samples by count; use --sample-every K, or run `tagscope producer --requests-topic ... --sample-rate N/min`"
          + " against a cluster");
    }
    if (live.enabled() && live.imageShape != null) {
      throw new IllegalArgumentException("--image-shape: the demo's requests are its --images, which give the shape; drop"
          + " --image-shape");
    }
    LiveTraffic t = live.settings(dev.tagscope.producer.Sampling.every(1));
    return t == null || live.groupId != null ? t : t.withGroupId("tagscope-demo.live." + java.util.UUID.randomUUID());
  }

  /**
   * Creates the requests topic when missing (one partition) and commits its end offset for the
   * probe's consumer group, so that the probe reads exactly the requests the demo writes next, also
   * on a cluster whose topic holds older ones.
   */
  private static void startAtEnd(String bootstrap, Map<String, Object> clientOverrides, LiveTraffic traffic) throws Exception {
    String topic = traffic.requestsTopic();
    try (Admin admin = Admin.create(KafkaClientPolicy.admin().bootstrapServers(bootstrap).overrides(clientOverrides).build())) {
      if (!admin.listTopics().names().get().contains(topic)) {
        admin.createTopics(List.of(new org.apache.kafka.clients.admin.NewTopic(topic, 1, (short) 1))).all().get();
      }
      org.apache.kafka.common.TopicPartition tp = new org.apache.kafka.common.TopicPartition(topic, 0);
      long end = admin.listOffsets(Map.of(tp, org.apache.kafka.clients.admin.OffsetSpec.latest())).all().get().get(tp).offset();
      admin.alterConsumerGroupOffsets(traffic.groupId(), Map.of(tp, new org.apache.kafka.clients.consumer.OffsetAndMetadata(end)))
          .all().get();
    }
  }

  private static String describeRegions(ProbePlan plan) {
    List<String> parts = new ArrayList<>();
    plan.regions().forEach(r -> parts.add(r.getName() + " " + r.getFrequencyHz() + " Hz"));
    return String.join(", ", parts);
  }

  private static Map<String, Object> modelFacts(ActivationModel m, WorkerSettings settings) {
    Map<String, Object> facts = new LinkedHashMap<>();
    facts.put("name", m.name());
    facts.put("path", settings.modelPath().toAbsolutePath().toString());
    List<Map<String, Object>> layers = new ArrayList<>();
    for (TappedLayer t : m.tappedLayers()) {
      Map<String, Object> l = new LinkedHashMap<>();
      l.put("layer", t.name());
      l.put("tensor", t.info().tensorName());
      l.put("filters", t.channels());
      layers.add(l);
    }
    facts.put("tappedLayers", layers);
    return facts;
  }
}
