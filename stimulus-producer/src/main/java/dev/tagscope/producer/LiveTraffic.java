package dev.tagscope.producer;

import dev.tagscope.schemas.TopicSpec;
import dev.tagscope.schemas.Topics;
import java.util.UUID;
import java.util.regex.Pattern;

/**
 * Live traffic as a probe's image source: the inference requests a deployment already has on a
 * Kafka topic, sampled ({@link Sampling}) and probed one by one with the current plan, without
 * end. Given to {@link ProducerService.Builder#liveTraffic(LiveTraffic)}.
 *
 * <h2>The request contract</h2>
 * A request is one record of {@link #requestsTopic()}; its key is not read, its value is the image:
 * <ul>
 *   <li><b>raw pixels</b>, when the record has a {@value #HEADER_SHAPE} header: its value is
 *       {@code "C,H,W"} (decimal, UTF-8, e.g. {@code "1,28,28"}) and the record value holds exactly
 *       {@code C*H*W} uint8 bytes in {@code [C,H,W]} row-major order (channel planes, then rows, then
 *       columns), as {@code StimulusFrame.pixels}. The header decides, not the bytes: raw pixels may
 *       well begin like a JPEG ({@code FF D8 FF} is a white-ish RGB pixel).</li>
 *   <li><b>a PNG or JPEG file</b> otherwise, recognised by its magic bytes ({@code 89 50 4E 47 0D 0A
 *       1A 0A} for PNG, {@code FF D8 FF} for JPEG) and decoded with {@code javax.imageio}: gray images
 *       (one colour component, any bit depth) are {@code [1,H,W]}, all others {@code [3,H,W]} sRGB
 *       with alpha dropped, as for image folders. Headers claiming more than 4096 x 4096 pixels are
 *       refused before decoding.</li>
 *   <li><b>label</b> (optional): a {@value #HEADER_LABEL} header with the class index as decimal
 *       UTF-8 text ({@code "7"}), carried into {@code StimulusFrame.label}.</li>
 * </ul>
 * The last header of a name counts when a record has several. A probed request that breaks the
 * contract goes to {@code tagscope.dlq} with its original key and value bytes and the reason:
 * no value, neither PNG nor JPEG and no shape header, a garbled shape or label header, a value
 * length other than {@code C*H*W}, a file {@code javax.imageio} cannot decode, or a shape other than
 * the probe's. Images are not resized or converted: the plan declares one image shape (its regions
 * are pixel rectangles of it), and a resized request is no longer what the model was asked, so a
 * request of another shape is refused, naming both shapes.
 *
 * <h2>What is read and written</h2>
 * The requests topic is read with its own consumer group ({@link #groupId()},
 * {@code read_committed}, no auto-commit) and never written: the producer's only outputs are
 * {@code tagscope.probes}, {@code tagscope.stimuli} and {@code tagscope.dlq}. A group without
 * committed offsets starts at the end of each partition ({@code auto.offset.reset=latest}, the
 * default here: watching starts now, not at the topic's retention horizon); override it with
 * {@code --kafka auto.offset.reset=earliest}.
 *
 * @param requestsTopic the deployment's topic of inference requests (read only)
 * @param groupId the consumer group the requests are read with
 * @param instanceId this instance's id, unique among running instances; the producer's
 *     {@code transactional.id} is {@value #TRANSACTIONAL_ID_PREFIX}{@code <instanceId>}. Give a stable
 *     one (the pod name) so that a restart fences its predecessor and aborts its open transaction
 *     at once; with a random one, readers of {@code tagscope.stimuli} wait up to
 *     {@code transaction.timeout.ms} after a crash
 * @param sampling which requests are probed
 */
public record LiveTraffic(String requestsTopic, String groupId, String instanceId, Sampling sampling) {
  /** Header of a raw request: its shape, {@code "C,H,W"}. */
  public static final String HEADER_SHAPE = "tagscope.shape";
  /** Header of a request: its class label, a decimal integer &gt;= 0. */
  public static final String HEADER_LABEL = "tagscope.label";
  /** Prefix of the default {@link #groupId()}, followed by the requests topic. */
  public static final String DEFAULT_GROUP_PREFIX = "tagscope-live.";
  /** Prefix of the live producer's {@code transactional.id}, followed by the instance id. */
  public static final String TRANSACTIONAL_ID_PREFIX = "tagscope-producer.live-";

  private static final Pattern TOPIC_NAME = Pattern.compile("[a-zA-Z0-9._-]{1,249}");

  /**
   * @throws IllegalArgumentException naming the field: a topic name Kafka would refuse, a
   *     Tagscope topic as the requests topic, a blank group or instance id, no sampling
   */
  public LiveTraffic {
    if (requestsTopic == null || !TOPIC_NAME.matcher(requestsTopic).matches() || requestsTopic.equals(".")
        || requestsTopic.equals("..")) {
      throw new IllegalArgumentException("requestsTopic: give the topic your deployment's inference requests are on (letters,"
          + " digits, '.', '_', '-', at most 249), got '" + requestsTopic + "'");
    }
    for (TopicSpec<?, ?> t : Topics.ALL) {
      if (t.name().equals(requestsTopic)) {
        throw new IllegalArgumentException("requestsTopic: " + requestsTopic + " is one of Tagscope's own topics; give the"
            + " topic your deployment's inference requests are on");
      }
    }
    if (groupId == null) {
      groupId = DEFAULT_GROUP_PREFIX + requestsTopic;
    }
    if (groupId.isBlank()) {
      throw new IllegalArgumentException("groupId: must not be blank; leave it unset for " + DEFAULT_GROUP_PREFIX + requestsTopic);
    }
    if (instanceId == null) {
      instanceId = UUID.randomUUID().toString().substring(0, 8);
    }
    if (instanceId.isBlank()) {
      throw new IllegalArgumentException("instanceId: must not be blank; give a stable id such as the pod name, or leave it"
          + " unset for a random one");
    }
    if (sampling == null) {
      throw new IllegalArgumentException("sampling: give Sampling.every(k) or Sampling.perMinute(n)");
    }
  }

  /**
   * Live traffic with the default group ({@value #DEFAULT_GROUP_PREFIX}{@code <topic>}) and a random
   * instance id.
   *
   * @param requestsTopic the deployment's topic of inference requests
   * @param sampling which requests are probed
   * @return the settings
   * @throws IllegalArgumentException as the constructor
   */
  public static LiveTraffic of(String requestsTopic, Sampling sampling) {
    return new LiveTraffic(requestsTopic, null, null, sampling);
  }

  /**
   * @param group the consumer group; null for the default
   * @return a copy with that group
   */
  public LiveTraffic withGroupId(String group) {
    return new LiveTraffic(requestsTopic, group, instanceId, sampling);
  }

  /**
   * @param id the instance id; null for a random one
   * @return a copy with that instance id
   */
  public LiveTraffic withInstanceId(String id) {
    return new LiveTraffic(requestsTopic, groupId, id, sampling);
  }

  /** @return the producer's {@code transactional.id}: {@value #TRANSACTIONAL_ID_PREFIX}{@code <instanceId>} */
  public String transactionalId() {
    return TRANSACTIONAL_ID_PREFIX + instanceId;
  }

  /**
   * The image id of a probed request, unique within the topic and pointing back at the record.
   *
   * @param partition the request's partition
   * @param offset the request's offset
   * @return {@code <topic>-<partition>@<offset>}, e.g. {@code inference.requests-0@17}
   */
  public String imageId(int partition, long offset) {
    return requestsTopic + "-" + partition + "@" + offset;
  }
}
