package dev.tagscope.launcher;

import dev.tagscope.producer.Image;
import dev.tagscope.producer.PublishSummary;
import dev.tagscope.producer.StimulusPublisher;
import dev.tagscope.tagging.ProbePlan;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.apache.kafka.clients.producer.ProducerConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code tagscope producer}: publishes one probe (or a continuous one) to an external cluster. */
@Command(name = "producer", mixinStandardHelpOptions = true,
    description = "Validate a probe plan, publish its ProbeSpec to the compacted probes topic, then every frame of every image.")
final class ProducerCommand implements Callable<Integer> {
  @Mixin KafkaOptions kafka;
  @Mixin ProbeOptions probe;
  @Mixin MetricsOptions metrics;

  @Option(names = "--model-name", defaultValue = "fmnist-resnet32",
      description = "Name of the model the probe is for, as the worker knows it (default ${DEFAULT-VALUE}).")
  String modelName;

  @Option(names = "--layers", split = ",", description = "Subset of the worker's tapped layers to publish (default: all it taps).")
  List<String> layers = List.of();

  @Override
  public Integer call() throws Exception {
    Map<String, Object> config = new HashMap<>(kafka.overrides()); // a pinned --kafka key fails here, before images load
    config.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.required());
    List<Image> images = probe.loadImages(ModelOptions.home());
    Image first = images.get(0);
    ProbePlan plan = probe.planBuilder().model(modelName).layers(layers)
        .imageShape(first.channels(), first.height(), first.width()).imageCount(images.size()).build();
    // The lifecycle first: Ctrl-C stops the publisher, then waits until it has flushed and closed
    // (a hook that only called stop() let the JVM halt mid-send, without the summary).
    try (ServiceLifecycle lifecycle = ServiceLifecycle.install();
         StimulusPublisher publisher = new StimulusPublisher(config, metrics.registry())) {
      lifecycle.onStop(publisher::stop);
      System.out.println("producer: probe " + plan.probeId() + ", " + images.size() + " images, "
          + (plan.continuous() ? "continuous" : plan.totalFrames() + " frames") + (probe.paced ? ", paced at " + plan.fps() + " fps" : ""));
      PublishSummary s = publisher.publish(plan, images, probe.paced, (sent, total) -> { });
      System.out.printf("producer: %d frames of %d images in %.1f s (%.0f frames/s)%s%n", s.frames(), s.images(), s.seconds(),
          s.frames() / Math.max(s.seconds(), 1e-9), s.stopped() ? ", stopped early" : "");
      return 0;
    } finally {
      metrics.close();
    }
  }
}
