package dev.tagscope.launcher;

import dev.tagscope.producer.Image;
import dev.tagscope.producer.LiveTraffic;
import dev.tagscope.producer.ProducerService;
import dev.tagscope.tagging.ProbePlan;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code tagscope producer}: publishes one probe (or a continuous one) to an external cluster; with
 * {@code --requests-topic}, a probe without end of the deployment's live inference requests.
 */
@Command(name = "producer", mixinStandardHelpOptions = true,
    description = "Validate a probe plan, publish its ProbeSpec to the compacted probes topic, then every frame of every image"
        + " (or, with --requests-topic, of every sampled live inference request, without end).")
final class ProducerCommand implements Callable<Integer> {
  @Mixin KafkaOptions kafka;
  @Mixin ProbeOptions probe;
  @Mixin LiveTrafficOptions live;
  @Mixin MetricsOptions metrics;

  @Option(names = "--model-name", defaultValue = "fmnist-resnet32",
      description = "Name of the model the probe is for, as the worker knows it (default ${DEFAULT-VALUE}).")
  String modelName;

  @Option(names = "--layers", split = ",", description = "Subset of the worker's tapped layers to publish (default: all it taps).")
  List<String> layers = List.of();

  @Override
  public Integer call() throws Exception {
    Map<String, Object> overrides = kafka.overrides(); // a pinned --kafka key fails here, before images load
    String bootstrap = kafka.required();
    LiveTraffic traffic = live.settings(null);
    ProducerService.Builder service = ProducerService.builder().bootstrapServers(bootstrap).producerConfig(overrides)
        .paced(probe.paced).registry(metrics.registry());
    ProbePlan plan;
    String what;
    if (traffic != null) {
      if (probe.images != null) {
        throw new IllegalArgumentException("--images and --requests-topic both given: the live probe's images are the sampled"
            + " requests; drop one of them");
      }
      int[] shape = live.shape();
      plan = probe.planBuilder().model(modelName).layers(layers).imageShape(shape[0], shape[1], shape[2]).continuous(true).build();
      service.liveTraffic(traffic).plan(plan);
      what = "live traffic of " + traffic.requestsTopic() + " (" + traffic.sampling() + ", group " + traffic.groupId() + ")";
    } else {
      List<Image> images = probe.loadImages(ModelOptions.home());
      Image first = images.get(0);
      plan = probe.planBuilder().model(modelName).layers(layers)
          .imageShape(first.channels(), first.height(), first.width()).imageCount(images.size()).build();
      service.images(images).plan(plan);
      what = images.size() + " images";
    }
    ProducerService producer = service.build();
    // Ctrl-C stops the publication, then waits until it has flushed and closed (a hook that only
    // stopped it let the JVM halt mid-send, without the summary).
    try (ServiceRunner runner = ServiceRunner.install()) {
      System.out.println("producer: probe " + plan.probeId() + ", " + what + ", "
          + (plan.continuous() ? "continuous" : plan.totalFrames() + " frames") + (probe.paced ? ", paced at " + plan.fps() + " fps" : ""));
      runner.start(producer, Duration.ofMinutes(2));
      runner.awaitEnd();
      producer.close(); // flushed and closed first: a failure in the last flush still decides the exit status
      if (producer.failure().isPresent()) {
        System.err.println("producer failed: " + ServiceRunner.describe(producer.failure().get()));
        return 1;
      }
      producer.summary().ifPresent(s -> System.out.printf("producer: %d frames of %d images in %.1f s (%.0f frames/s)%s%n",
          s.frames(), s.images(), s.seconds(), s.frames() / Math.max(s.seconds(), 1e-9), s.stopped() ? ", stopped early" : ""));
      return 0;
    } finally {
      metrics.close();
    }
  }
}
