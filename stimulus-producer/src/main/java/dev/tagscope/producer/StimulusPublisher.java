package dev.tagscope.producer;

import dev.tagscope.producer.internal.Pacing;
import dev.tagscope.schemas.ProbeImage;
import dev.tagscope.schemas.ProbeSpec;
import dev.tagscope.schemas.StimulusFrame;
import dev.tagscope.schemas.TopicSpec;
import dev.tagscope.schemas.Topics;
import dev.tagscope.service.KafkaClientPolicy;
import dev.tagscope.tagging.ProbePlan;
import dev.tagscope.tagging.WindowGeometry;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.kafka.KafkaClientMetrics;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.InterruptException;
import org.apache.kafka.common.errors.InvalidTimestampException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Publishes a probe: its {@link ProbeSpec} to {@code Topics.PROBES}, then every
 * contrast-modulated frame of every image to {@code Topics.STIMULI} (DESIGN.md section 2).
 *
 * <p>Not a way in of its own: {@link ProducerService} is the one entry to the producer and
 * creates it (its constructors are package-private); the class stays public for its meter names
 * and the pacing documentation.
 *
 * <p>Order and keys: the spec is sent, acknowledged and flushed first; frames follow keyed by
 * probeId, so they land on one partition in frame order (idempotent producer, acks=all, lz4,
 * linger 5 ms). Frame i carries record timestamp {@code startTimeMs + round(1000*i/fps)} (stimulus
 * time) and frameIndex i counted from 0 over the whole probe. Before the first frame of each image
 * (of each cycle, for a continuous plan: the image id changes with the cycle) its unmodulated pixels
 * and label go to {@code Topics.PROBE_IMAGES} as a {@link ProbeImage} ({@link #probeImage}), keyed
 * {@code probeId/imageId} and stamped with that first frame's stimulus time, so the top examples
 * the spectral stream names can be shown. This producer is idempotent, not transactional: the
 * image record is sent on the same producer just before the frames, so a reader that sees an
 * image's frames sees its ProbeImage too once both are acknowledged, but an interrupted
 * publication may leave the ProbeImage of an image without frames.
 *
 * <p>Pacing: paced publications send frame k of this call no earlier than
 * {@code t0 + k/fps} on the monotonic clock, with absolute deadlines so lateness never adds
 * up (a late frame is sent at once and the next deadline is unchanged); unpaced ones send as
 * fast as the producer accepts. A continuous plan ({@link ProbePlan#continuous()}) cycles
 * through the images without end, image ids prefixed {@code c<cycle>/}, until {@link #stop()}
 * or an interrupt of the publishing thread.
 *
 * <p>Note on brokers: record timestamps are stimulus time, which an unpaced publication runs
 * ahead of the wall clock. A broker refuses timestamps more than
 * {@code message.timestamp.after.max.ms} ahead (Kafka 4 default 1 hour), so unpaced frames wait
 * while their timestamp is more than {@link #maxLead(Duration)} (default 50 min) ahead; a refusal
 * is still reported as a {@link KafkaException} that says which setting to change.
 *
 * <p>Meters: counters {@value #FRAMES_METER} and {@value #IMAGES_METER} (tag {@code model}), and
 * Micrometer's {@link KafkaClientMetrics} of the producer. One publication at a time per
 * instance.
 */
public final class StimulusPublisher implements AutoCloseable {
  /** Counter of stimulus frames sent. */
  public static final String FRAMES_METER = "tagscope.producer.frames";
  /** Counter of images started. */
  public static final String IMAGES_METER = "tagscope.producer.images";

  /**
   * Default of {@link #maxLead(Duration)}: 50 minutes, under Kafka 4's default
   * {@code message.timestamp.after.max.ms} of one hour.
   */
  public static final Duration DEFAULT_MAX_LEAD = Duration.ofMinutes(50);

  private static final Logger LOG = LoggerFactory.getLogger(StimulusPublisher.class);
  private static final AtomicInteger CLIENTS = new AtomicInteger();

  private final KafkaProducer<byte[], byte[]> producer;
  private final KafkaClientMetrics clientMetrics;
  private final MeterRegistry registry;
  private volatile boolean stopRequested;
  private volatile long maxLeadMs = DEFAULT_MAX_LEAD.toMillis();

  /**
   * @param bootstrapServers {@code host:port[,host:port]} of the cluster
   * @param registry where meters go
   * @throws IllegalArgumentException when {@code bootstrapServers} is blank
   */
  StimulusPublisher(String bootstrapServers, MeterRegistry registry) {
    this(Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, requireServers(bootstrapServers)), registry);
  }

  /**
   * @param producerConfig Kafka producer settings; must hold {@code bootstrap.servers}; they win
   *     over the defaults (compression.type=lz4, linger.ms=5, batch.size=262144); acks=all and
   *     enable.idempotence=true are pinned ({@link KafkaClientPolicy}); serializers are always
   *     byte arrays (the Topics serdes run here)
   * @param registry where meters go
   * @throws IllegalArgumentException when {@code bootstrap.servers} is missing
   * @throws dev.tagscope.service.PinnedSettingException when a setting changes a pinned one
   *     (acks, enable.idempotence, transactional.id, ...), naming it
   */
  StimulusPublisher(Map<String, ?> producerConfig, MeterRegistry registry) {
    this.registry = Objects.requireNonNull(registry, "registry");
    Map<String, Object> cfg = KafkaClientPolicy.idempotentProducer()
        .set(ProducerConfig.COMPRESSION_TYPE_CONFIG, "lz4")
        .set(ProducerConfig.LINGER_MS_CONFIG, 5)
        .set(ProducerConfig.BATCH_SIZE_CONFIG, 262_144)
        .set(ProducerConfig.CLIENT_ID_CONFIG, "tagscope-producer-" + CLIENTS.incrementAndGet())
        .overrides(producerConfig).build();
    Object servers = cfg.get(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG);
    if (servers == null || servers.toString().isBlank()) {
      throw new IllegalArgumentException("bootstrap.servers: give the Kafka cluster's host:port list, e.g. 127.0.0.1:9092");
    }
    cfg.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
    cfg.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
    this.producer = new KafkaProducer<>(cfg);
    this.clientMetrics = new KafkaClientMetrics(producer);
    clientMetrics.bindTo(registry);
  }

  private static String requireServers(String s) {
    if (s == null || s.isBlank()) {
      throw new IllegalArgumentException("bootstrapServers: give the Kafka cluster's host:port list, e.g. 127.0.0.1:9092");
    }
    return s;
  }

  /**
   * Publishes a probe and blocks until it is done, stopped or interrupted.
   *
   * @param plan the validated plan
   * @param images the probe's images, all of the plan's shape; {@code plan.imageCount()} of them
   *     unless the plan is continuous
   * @param paced whether to send in real time at the plan's fps
   * @param progress told after every frame; {@link ProgressListener#NONE} for none
   * @return what was sent; {@code stopped} when {@link #stop()} or an interrupt ended it (the
   *     thread's interrupt flag is then set again). When this instance was already stopped, or
   *     the thread is already interrupted, nothing is sent, not even the spec.
   * @throws IllegalArgumentException when the images do not match the plan (count or shape) or
   *     two share an id
   * @throws KafkaException when the cluster refuses the spec or a frame, or stays unreachable
   *     beyond the producer's {@code delivery.timeout.ms}
   */
  public PublishSummary publish(ProbePlan plan, List<Image> images, boolean paced, ProgressListener progress) {
    Objects.requireNonNull(plan, "plan");
    ProgressListener listener = progress == null ? ProgressListener.NONE : progress;
    checkImages(plan, images);
    String probeId = plan.probeId();
    if (stopRequested || Thread.currentThread().isInterrupted()) {
      // A spec with no frames would stay on the compacted probes topic as a probe that never ran.
      return new PublishSummary(probeId, 0, 0, 0, true);
    }
    byte[] key = key(Topics.STIMULI, probeId);
    ProbeSpec spec = plan.spec();
    try {
      producer.send(new ProducerRecord<>(Topics.PROBES.name(), null, spec.getStartTimeMs(), key(Topics.PROBES, probeId),
          Topics.PROBES.valueSerde().serializer().serialize(Topics.PROBES.name(), spec))).get();
      producer.flush();
    } catch (ExecutionException e) {
      throw failure(e.getCause(), "cannot publish probe spec " + probeId + " to " + Topics.PROBES.name());
    } catch (InterruptedException | InterruptException e) {
      Thread.currentThread().interrupt();
      return new PublishSummary(probeId, 0, 0, 0, true);
    }
    LOG.info("probe {} ({}, {} regions, {} images x {} frames at {} fps, {}) published to {}", probeId, plan.layout(),
        plan.regions().size(), plan.continuous() ? "continuous" : plan.imageCount(), plan.framesPerImage(), plan.fps(),
        paced ? "paced" : "unpaced", Topics.STIMULI.name());

    Counter frameCounter = Counter.builder(FRAMES_METER).description("Stimulus frames sent").baseUnit("frames")
        .tag("model", plan.model()).register(registry);
    Counter imageCounter = Counter.builder(IMAGES_METER).description("Images started").baseUnit("images")
        .tag("model", plan.model()).register(registry);
    AtomicReference<Exception> failure = new AtomicReference<>();
    FrameSynthesizer synth = new FrameSynthesizer(plan);
    String topic = Topics.STIMULI.name();
    double fps = plan.fps();
    WindowGeometry geometry = plan.geometry();
    long start = plan.startTimeMs();
    long total = plan.totalFrames();
    int fpi = plan.framesPerImage();
    BooleanSupplier stopping = () -> stopRequested;
    boolean stopped = false;
    long frames = 0;
    long imagesStarted = 0;
    long t0 = System.nanoTime();
    outer:
    for (long cycle = 0; ; cycle++) {
      for (Image img : images) {
        String imageId = plan.continuous() ? "c" + cycle + "/" + img.id() : img.id();
        for (int f = 0; f < fpi; f++) {
          long i = frames;
          long timestamp = start + geometry.stimulusOffsetMs(i);
          if (paced ? !Pacing.waitUntil(t0 + Math.round(i * 1e9 / fps), stopping) : !Pacing.waitForLead(timestamp, maxLeadMs, stopping)) {
            stopped = true;
            break outer;
          }
          if (stopRequested || Thread.currentThread().isInterrupted()) {
            stopped = true;
            break outer;
          }
          rethrow(failure.get(), probeId);
          StimulusFrame frame = synth.frame(probeId, img, imageId, i, f);
          byte[] value = Topics.STIMULI.valueSerde().serializer().serialize(topic, frame);
          try {
            if (f == 0) {
              producer.send(probeImage(probeId, imageId, img, timestamp), (md, e) -> {
                if (e != null) {
                  failure.compareAndSet(null, e);
                }
              });
            }
            producer.send(new ProducerRecord<>(topic, null, timestamp, key, value), (md, e) -> {
              if (e != null) {
                failure.compareAndSet(null, e);
              }
            });
          } catch (InterruptException e) {
            stopped = true;
            break outer;
          }
          frames++;
          frameCounter.increment();
          if (f == 0) {
            imagesStarted++;
            imageCounter.increment();
          }
          listener.onProgress(frames, total);
        }
      }
      if (!plan.continuous()) {
        break;
      }
    }
    boolean interrupted = Thread.interrupted();
    try {
      producer.flush();
    } catch (InterruptException e) {
      interrupted = true;
      Thread.interrupted();
      producer.flush();
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
      stopped = true;
    }
    rethrow(failure.get(), probeId);
    double seconds = (System.nanoTime() - t0) / 1e9;
    LOG.info("probe {}: {} frames of {} images sent in {} s{}", probeId, frames, imagesStarted, String.format("%.3f", seconds),
        stopped ? " (stopped)" : "");
    return new PublishSummary(probeId, frames, imagesStarted, seconds, stopped);
  }

  /**
   * The {@code Topics.PROBE_IMAGES} record of one image of a probe: its pixels before any tag
   * modulation and its label, key {@code Topics.probeImageKey(probeId, imageId)}.
   *
   * @param probeId the probe
   * @param imageId the image id its frames carry ({@code StimulusFrame.imageId}, with the cycle prefix of a continuous probe)
   * @param image the source image, uint8 {@code [C,H,W]}
   * @param timestamp record timestamp: the stimulus time of the image's first frame, ms
   * @return the record, key and value serialised with the topic's serdes
   */
  static ProducerRecord<byte[], byte[]> probeImage(String probeId, String imageId, Image image, long timestamp) {
    String topic = Topics.PROBE_IMAGES.name();
    ProbeImage value = ProbeImage.newBuilder().setProbeId(probeId).setImageId(imageId).setLabel(image.label())
        .setChannels(image.channels()).setHeight(image.height()).setWidth(image.width())
        .setPixels(java.nio.ByteBuffer.wrap(image.pixels())).build();
    return new ProducerRecord<>(topic, null, timestamp,
        Topics.PROBE_IMAGES.keySerde().serializer().serialize(topic, Topics.probeImageKey(probeId, imageId)),
        Topics.PROBE_IMAGES.valueSerde().serializer().serialize(topic, value));
  }

  /**
   * The record key of a probe on a topic keyed by probe id.
   *
   * @return the key bytes, as the topic's key serde writes {@code probeId}
   */
  static byte[] key(TopicSpec<String, ?> spec, String probeId) {
    return spec.keySerde().serializer().serialize(spec.name(), probeId);
  }

  private static void checkImages(ProbePlan plan, List<Image> images) {
    if (images == null || images.isEmpty()) {
      throw new IllegalArgumentException("images: a probe needs at least one image");
    }
    if (!plan.continuous() && images.size() != plan.imageCount()) {
      throw new IllegalArgumentException("images: the plan says " + plan.imageCount() + " images but " + images.size()
          + " were given; build the plan with imageCount(images.size())");
    }
    java.util.Set<String> ids = new java.util.HashSet<>();
    for (Image img : images) {
      if (!ids.add(img.id())) {
        throw new IllegalArgumentException("images: id " + img.id() + " appears twice; image ids must be unique within a probe");
      }
      if (img.channels() != plan.imageChannels() || img.height() != plan.imageHeight() || img.width() != plan.imageWidth()) {
        throw new IllegalArgumentException("images: " + img.id() + " has shape [" + img.channels() + "," + img.height() + ","
            + img.width() + "] but the plan is [" + plan.imageChannels() + "," + plan.imageHeight() + "," + plan.imageWidth()
            + "]: load all images with one ImageLoader and build the plan from their shape");
      }
    }
  }

  private static void rethrow(Exception e, String probeId) {
    if (e != null) {
      throw failure(e, "sending frames of probe " + probeId + " to " + Topics.STIMULI.name() + " failed");
    }
  }

  /**
   * A send failure as the producer reports it: a refused stimulus timestamp says which setting to change.
   *
   * @return the exception to throw
   */
  static KafkaException failure(Throwable e, String what) {
    if (e instanceof InvalidTimestampException) {
      return new KafkaException(what + ": the broker refused a record timestamp (stimulus time, startTimeMs + 1000*i/fps)"
          + " as too far from its clock; use a startTimeMs near now, lower maxLead, or raise the topic's"
          + " message.timestamp.after.max.ms / message.timestamp.before.max.ms: " + e.getMessage(), e);
    }
    return new KafkaException(what + ": " + e.getMessage(), e);
  }

  /**
   * Limits how far an unpaced publication's record timestamps (stimulus time) may run ahead of
   * the wall clock; beyond it, frames wait. Brokers refuse timestamps more than
   * {@code message.timestamp.after.max.ms} ahead (Kafka 4 default: 1 hour), so keep this below
   * that setting of the stimuli topic. Paced publications never lead.
   *
   * @param lead the most stimulus time ahead of the wall clock, default {@link #DEFAULT_MAX_LEAD}
   * @return this
   * @throws IllegalArgumentException when {@code lead} is negative
   */
  public StimulusPublisher maxLead(Duration lead) {
    if (lead == null || lead.isNegative()) {
      throw new IllegalArgumentException("maxLead must be a duration >= 0 (default 50 min), got " + lead);
    }
    this.maxLeadMs = lead.toMillis();
    return this;
  }

  /**
   * Asks the running publication, and any later one on this instance, to end after the frame in
   * hand; safe from any thread, including a {@link ProgressListener}.
   */
  public void stop() {
    stopRequested = true;
  }

  /**
   * Flushes and closes the producer and removes its client metrics. Works on an interrupted
   * thread too (after an interrupted publication): the flag is cleared for the close and set again.
   */
  @Override
  public void close() {
    boolean interrupted = Thread.interrupted();
    try {
      producer.close();
    } finally {
      clientMetrics.close();
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
