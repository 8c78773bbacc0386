package dev.tagscope.launcher;

import dev.tagscope.producer.LiveTraffic;
import dev.tagscope.producer.Sampling;
import picocli.CommandLine.Option;

/**
 * Live traffic as the probe's images: the deployment's topic of inference requests, how they are
 * sampled, and the shape they have (the request contract is {@link LiveTraffic}'s).
 */
public final class LiveTrafficOptions {
  @Option(names = "--requests-topic", paramLabel = "TOPIC",
      description = "Probe live traffic: the topic the deployment's inference requests are on (PNG/JPEG bytes, or raw C x H x W"
          + " uint8 with a tagscope.shape=C,H,W header; optional tagscope.label header). Read with its own consumer group, never"
          + " written.")
  String requestsTopic;

  @Option(names = "--sample-every", paramLabel = "K",
      description = "Probe the first and then every K-th request of each partition (with --requests-topic; or --sample-rate).")
  Integer sampleEvery;

  @Option(names = "--sample-rate", paramLabel = "N/min",
      description = "Probe at most N requests per minute of record time, e.g. 30/min (with --requests-topic; or --sample-every).")
  String sampleRate;

  @Option(names = "--image-shape", paramLabel = "C,H,W", split = ",",
      description = "Shape of the requests' images; requests of another shape go to the dead-letter topic (with --requests-topic).")
  int[] imageShape;

  @Option(names = "--group-id", paramLabel = "GROUP",
      description = "Consumer group the requests are read with (default " + LiveTraffic.DEFAULT_GROUP_PREFIX + "<requests topic>);"
          + " give each probe of one topic its own.")
  String groupId;

  @Option(names = "--instance-id", paramLabel = "ID",
      description = "Stable id of this live-traffic producer (e.g. the pod name), so a restart fences its predecessor at once"
          + " (default: random).")
  String instanceId;

  /** @return whether {@code --requests-topic} was given */
  boolean enabled() {
    return requestsTopic != null;
  }

  /**
   * The live-traffic settings; the options that need {@code --requests-topic} are refused without it.
   *
   * @param defaultSampling the sampling when neither option is given; null to require one
   * @return the settings, or null without {@code --requests-topic}
   * @throws IllegalArgumentException naming the option and the fix: both sampling options, neither
   *     (when required), a bad value, or a live-traffic option without {@code --requests-topic}
   */
  LiveTraffic settings(Sampling defaultSampling) {
    if (requestsTopic == null) {
      String stray = sampleEvery != null ? "--sample-every" : sampleRate != null ? "--sample-rate"
          : imageShape != null ? "--image-shape" : groupId != null ? "--group-id" : instanceId != null ? "--instance-id" : null;
      if (stray != null) {
        throw new IllegalArgumentException(stray + " samples live traffic: give --requests-topic TOPIC as well, or drop " + stray);
      }
      return null;
    }
    if (sampleEvery != null && sampleRate != null) {
      throw new IllegalArgumentException("--sample-every and --sample-rate both given: give one of them (every K-th request of"
          + " each partition, or at most N requests per minute of record time)");
    }
    Sampling sampling;
    try {
      sampling = sampleEvery != null ? Sampling.every(sampleEvery) : sampleRate != null ? Sampling.parseRate(sampleRate) : defaultSampling;
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException((sampleEvery != null ? "--sample-every" : "--sample-rate") + ": " + e.getMessage(), e);
    }
    if (sampling == null) {
      throw new IllegalArgumentException("--requests-topic needs a sampling: give --sample-every K (every K-th request of each"
          + " partition, 1 for all) or --sample-rate N/min (at most N per minute of record time)");
    }
    try {
      return new LiveTraffic(requestsTopic, groupId, instanceId, sampling);
    } catch (IllegalArgumentException e) {
      String field = e.getMessage().startsWith("groupId") ? "--group-id" : e.getMessage().startsWith("instanceId") ? "--instance-id"
          : "--requests-topic";
      throw new IllegalArgumentException(field + " (" + e.getMessage() + ")", e);
    }
  }

  /**
   * The requests' image shape.
   *
   * @return {@code [C, H, W]}
   * @throws IllegalArgumentException when {@code --image-shape} is missing or not three positive numbers
   */
  int[] shape() {
    if (imageShape == null) {
      throw new IllegalArgumentException("--requests-topic needs --image-shape C,H,W: the shape the requests' images have"
          + " (e.g. 1,28,28 for the bundled model); requests of another shape go to the dead-letter topic");
    }
    if (imageShape.length != 3 || imageShape[0] < 1 || imageShape[1] < 1 || imageShape[2] < 1) {
      throw new IllegalArgumentException("--image-shape: expected three positive numbers C,H,W (e.g. 1,28,28), got "
          + java.util.Arrays.toString(imageShape));
    }
    return imageShape.clone();
  }
}
