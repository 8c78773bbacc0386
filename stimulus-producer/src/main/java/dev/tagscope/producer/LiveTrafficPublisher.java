package dev.tagscope.producer;

import dev.tagscope.producer.internal.Pacing;
import dev.tagscope.producer.internal.RequestDecoder;
import dev.tagscope.producer.internal.RequestSampler;
import dev.tagscope.schemas.DeadLetter;
import dev.tagscope.schemas.DeadLetters;
import dev.tagscope.schemas.StimulusFrame;
import dev.tagscope.schemas.Topics;
import dev.tagscope.service.KafkaClientPolicy;
import dev.tagscope.tagging.ProbePlan;
import dev.tagscope.tagging.WindowGeometry;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.kafka.KafkaClientMetrics;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.InterruptException;
import org.apache.kafka.common.errors.InvalidTimestampException;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Publishes a probe whose images are live inference requests ({@link LiveTraffic}): its
 * {@code ProbeSpec}, then, without end, the frames of every sampled request. Created by
 * {@link ProducerService}, the one way in.
 *
 * <p><b>Numbering.</b> As in any continuous probe: {@code frameIndex} i counts over the whole probe
 * from 0 at {@code startTimeMs}, {@code imageFrame} from 0 within each image, record timestamp and
 * stimulus time are {@code startTimeMs + round(1000*i/fps)} and {@code i/fps}; an image is shown
 * for {@code framesPerImage} (F) consecutive frames. One difference: requests come when they come,
 * so stimulus time follows the wall clock instead of running on from image to image. Each image
 * starts at {@code max(end of the previous image, F * floor(c / F))}, where {@code c} is the
 * wall clock's frame position {@code floor((now - startTimeMs) * fps / 1000)}: frameIndex jumps
 * over the time no request was probed, in whole images, so every image still starts at a multiple
 * of F (the same modulation phase as a cycling probe) and frameIndex only grows. Without this a
 * probe of sparse traffic would fall days behind the wall clock in stimulus time (record
 * timestamps older than the topics' retention, time buckets meaning nothing); with it, stimulus
 * time is never more than one image behind the wall clock. The image id is
 * {@link LiveTraffic#imageId(int, long)}
 * ({@code <topic>-<partition>@<offset>}): unique within the probe, so the cycle prefix
 * {@code c<cycle>/} of a cycling probe is not needed, and it names the request it came from.
 * Images follow one another in the order they are read; the spectral stream's order rules hold
 * because frameIndex only grows.
 *
 * <p><b>Exactly once.</b> The producer is transactional ({@code transactional.id}
 * {@link LiveTraffic#transactionalId()}), and the request offsets are committed in its
 * transactions ({@code sendOffsetsToTransaction} with the group metadata, KIP-447), as the
 * inference worker does. One transaction per sampled image holds its frames, the dead letters of
 * the requests refused since the last transaction and the consumer offsets up to and including
 * the image's request; requests that were not sampled or refused at the end of a poll are
 * committed with their dead letters in one more transaction. So a request's effects (its frames,
 * or its dead letter, or nothing) become visible to {@code read_committed} readers together with
 * its offset, or not at all: after a crash the next run starts at the committed offsets and neither
 * loses nor repeats a request. Readers see an image's frames when its transaction commits, i.e.
 * once all {@code framesPerImage} frames were sent (paced: {@code framesPerImage / fps} s later).
 * The image's {@code ProbeImage} (the request's pixels and label, {@code Topics.PROBE_IMAGES})
 * is sent in that transaction before its first frame, so it becomes visible with the frames or
 * not at all. The spec is published in a transaction of its own before the first poll.
 *
 * <p><b>Polling.</b> No transaction is open during a poll (so a rebalance never revokes a partition
 * with work in flight). After each sampled image, the partitions with records left in the poll
 * batch are rewound to their first record not yet handled and polled again, so one poll's work is
 * at most one image plus cheap skips and refusals, far within {@code max.poll.interval.ms}.
 *
 * <p><b>Pacing.</b> Paced: frame {@code f} of an image is sent no earlier than {@code f/fps} after
 * its first frame (an image is shown in real time; gaps between requests are not made up).
 * Unpaced: as fast as the producer takes them, waiting while stimulus time leads the wall clock by
 * more than {@link #maxLead(Duration)}, as {@link StimulusPublisher} does.
 *
 * <p><b>Failures.</b> A Kafka error in a transaction aborts it (nothing of it is visible, its
 * offsets are not committed) and ends the publication with a {@link KafkaException}; a restart
 * resumes at the committed offsets. {@link #stop()} during an image aborts that image's
 * transaction for the same reason: the next run probes it.
 *
 * <p>Meters: {@value StimulusPublisher#FRAMES_METER} and {@value StimulusPublisher#IMAGES_METER}
 * (tag {@code model}), {@value #REQUESTS_METER} (tag {@code outcome}: {@code probed},
 * {@code skipped}, {@code refused}), {@value DeadLetters#RECORDS_METER} (tag
 * {@code stage=}{@value ProducerService#STAGE}), counted when their transaction committed; and
 * Micrometer's {@link KafkaClientMetrics} of both clients.
 */
final class LiveTrafficPublisher implements AutoCloseable {
  /** Counter of requests read, tagged {@code outcome}: {@code probed}, {@code skipped} (not sampled), {@code refused} (dead-lettered). */
  static final String REQUESTS_METER = "tagscope.producer.requests";

  private static final Logger LOG = LoggerFactory.getLogger(LiveTrafficPublisher.class);
  private static final AtomicInteger CLIENTS = new AtomicInteger();
  private static final Duration POLL = Duration.ofMillis(200);
  private static final Duration CLOSE_WAIT = Duration.ofSeconds(30);

  private final LiveTraffic traffic;
  private final KafkaProducer<byte[], byte[]> producer;
  private final KafkaConsumer<byte[], byte[]> consumer;
  private final List<KafkaClientMetrics> clientMetrics = new ArrayList<>();
  private final MeterRegistry registry;
  private final RequestSampler sampler;
  private final BooleanSupplier stopping = () -> this.stopRequested;
  private volatile boolean stopRequested;
  private volatile boolean ready;
  private volatile long maxLeadMs = StimulusPublisher.DEFAULT_MAX_LEAD.toMillis();

  /**
   * Creates the clients; nothing connects before {@link #publish}.
   *
   * @param clientConfig the user's Kafka settings for both clients (bootstrap servers, security,
   *     ...); they win over the defaults (producer: lz4, linger 5 ms, batch 256 KiB; consumer:
   *     {@code auto.offset.reset=latest}, {@code max.poll.records=100}) but not over the pinned ones
   * @param traffic the requests topic, group, instance id and sampling
   * @param registry where meters go
   * @throws dev.tagscope.service.PinnedSettingException when a setting changes a pinned one, naming it
   */
  LiveTrafficPublisher(Map<String, ?> clientConfig, LiveTraffic traffic, MeterRegistry registry) {
    this.traffic = Objects.requireNonNull(traffic, "traffic");
    this.registry = Objects.requireNonNull(registry, "registry");
    this.sampler = new RequestSampler(traffic.sampling());
    int n = CLIENTS.incrementAndGet();
    Map<String, Object> pcfg = KafkaClientPolicy.transactionalProducer(traffic.transactionalId())
        .set(ProducerConfig.COMPRESSION_TYPE_CONFIG, "lz4")
        .set(ProducerConfig.LINGER_MS_CONFIG, 5)
        .set(ProducerConfig.BATCH_SIZE_CONFIG, 262_144)
        .set(ProducerConfig.CLIENT_ID_CONFIG, "tagscope-producer-live-" + n)
        .overrides(clientConfig).build();
    Map<String, Object> ccfg = KafkaClientPolicy.readCommittedConsumer(traffic.groupId())
        .set(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "latest")
        .set(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 100)
        .set(ConsumerConfig.CLIENT_ID_CONFIG, "tagscope-producer-requests-" + n)
        .overrides(clientConfig).build();
    this.producer = new KafkaProducer<>(pcfg, new ByteArraySerializer(), new ByteArraySerializer());
    try {
      this.consumer = new KafkaConsumer<>(ccfg, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    } catch (RuntimeException e) {
      producer.close(Duration.ZERO);
      throw e;
    }
    for (KafkaClientMetrics m : List.of(new KafkaClientMetrics(producer), new KafkaClientMetrics(consumer))) {
      m.bindTo(registry);
      clientMetrics.add(m);
    }
  }

  /**
   * The most stimulus time may lead the wall clock, unpaced.
   *
   * @param lead the lead, default {@link StimulusPublisher#DEFAULT_MAX_LEAD}
   * @return this
   * @throws IllegalArgumentException when negative
   */
  LiveTrafficPublisher maxLead(Duration lead) {
    if (lead == null || lead.isNegative()) {
      throw new IllegalArgumentException("maxLead must be a duration >= 0 (default 50 min), got " + lead);
    }
    this.maxLeadMs = lead.toMillis();
    return this;
  }

  /** @return true once the spec is published and the requests topic subscribed, until the publication ends */
  boolean isReady() {
    return ready;
  }

  /** Asks the publication to end: before the next poll, or at once during an image (whose transaction is aborted). */
  void stop() {
    stopRequested = true;
    consumer.wakeup();
  }

  /**
   * Publishes the spec, then probes sampled requests until {@link #stop()} or an interrupt.
   *
   * @param plan a continuous plan; its image shape is the shape requests must have
   * @param paced whether each image is shown in real time at the plan's fps
   * @param progress told after every frame committed, with total -1
   * @return what was sent (frames and images committed), {@code stopped} true
   * @throws IllegalArgumentException when the plan is not continuous
   * @throws KafkaException when the cluster refuses the spec, a frame, a dead letter or a commit,
   *     or stays unreachable; the transaction in flight is aborted
   */
  PublishSummary publish(ProbePlan plan, boolean paced, ProgressListener progress) {
    if (!plan.continuous()) {
      throw new IllegalArgumentException("plan: a live-traffic probe has no end; build it with continuous(true)");
    }
    ProgressListener listener = progress == null ? ProgressListener.NONE : progress;
    Run run = new Run(plan, paced, listener);
    long t0 = System.nanoTime();
    try {
      if (stopRequested || Thread.currentThread().isInterrupted()) {
        return run.summary(t0); // a spec without frames would stay on the compacted topic as a probe that never ran
      }
      try {
        producer.initTransactions();
        producer.beginTransaction();
        producer.send(new ProducerRecord<>(Topics.PROBES.name(), null, plan.startTimeMs(), StimulusPublisher.key(Topics.PROBES,
            plan.probeId()), Topics.PROBES.valueSerde().serializer().serialize(Topics.PROBES.name(), plan.spec())));
        producer.commitTransaction();
      } catch (InterruptException e) {
        throw e;
      } catch (KafkaException e) {
        throw StimulusPublisher.failure(e, "cannot publish probe spec " + plan.probeId() + " to " + Topics.PROBES.name()
            + " (transactional.id " + traffic.transactionalId() + ")");
      }
      consumer.subscribe(List.of(traffic.requestsTopic()), new RestartCounting());
      ready = true;
      LOG.info("probe {} ({}, {} regions, [{},{},{}], {} frames per image at {} fps, {}) on live traffic of {}: {}, group {},"
          + " transactional.id {}", plan.probeId(), plan.layout(), plan.regions().size(), plan.imageChannels(), plan.imageHeight(),
          plan.imageWidth(), plan.framesPerImage(), plan.fps(), paced ? "paced" : "unpaced", traffic.requestsTopic(),
          traffic.sampling(), traffic.groupId(), traffic.transactionalId());
      while (!stopRequested && !Thread.currentThread().isInterrupted()) {
        ConsumerRecords<byte[], byte[]> records = consumer.poll(POLL);
        if (!records.isEmpty()) {
          run.handle(records);
        }
      }
    } catch (WakeupException e) {
      // stop() woke a poll
    } catch (InterruptException e) {
      // the thread was interrupted; Kafka has set its flag again
    } finally {
      ready = false;
    }
    LOG.info("probe {}: {} frames of {} sampled requests sent in {} s (stopped)", plan.probeId(), run.frames, run.images,
        String.format("%.3f", (System.nanoTime() - t0) / 1e9));
    return run.summary(t0);
  }

  /** One publication's state: what was committed, and the transaction in the making. */
  private final class Run {
    private final ProbePlan plan;
    private final boolean paced;
    private final ProgressListener progress;
    private final FrameSynthesizer synth;
    private final RequestDecoder decoder;
    private final byte[] key;
    private final Counter frameCounter;
    private final Counter imageCounter;
    private final Counter probed;
    private final Counter skipped;
    private final Counter refusedCounter;
    private final Counter deadLetters;
    /** Frames and images committed. */
    private long frames;
    private long images;
    /** The frameIndex after the last image committed. */
    private long nextFrame;
    /** Offsets (next to read) of the records handled since the last commit. */
    private final Map<TopicPartition, OffsetAndMetadata> pending = new HashMap<>();
    /** Requests refused since the last commit, with their reasons. */
    private final List<Refusal> refused = new ArrayList<>();
    private long skippedSinceCommit;

    Run(ProbePlan plan, boolean paced, ProgressListener progress) {
      this.plan = plan;
      this.paced = paced;
      this.progress = progress;
      this.synth = new FrameSynthesizer(plan);
      this.decoder = new RequestDecoder(plan.imageChannels(), plan.imageHeight(), plan.imageWidth());
      this.key = StimulusPublisher.key(Topics.STIMULI, plan.probeId());
      this.frameCounter = Counter.builder(StimulusPublisher.FRAMES_METER).description("Stimulus frames sent").baseUnit("frames")
          .tag("model", plan.model()).register(registry);
      this.imageCounter = Counter.builder(StimulusPublisher.IMAGES_METER).description("Images started").baseUnit("images")
          .tag("model", plan.model()).register(registry);
      this.probed = requests("probed");
      this.skipped = requests("skipped");
      this.refusedCounter = requests("refused");
      this.deadLetters = Counter.builder(DeadLetters.RECORDS_METER).tag("stage", ProducerService.STAGE)
          .description("Records sent to the dead-letter topic").register(registry);
    }

    private Counter requests(String outcome) {
      return Counter.builder(REQUESTS_METER).tag("outcome", outcome).description("Inference requests read").register(registry);
    }

    /**
     * Handles one poll batch, committing after each sampled image and at the end; after an image,
     * rewinds the partitions with records left so that they come again in the next poll.
     */
    void handle(ConsumerRecords<byte[], byte[]> records) {
      Map<TopicPartition, Long> next = new HashMap<>();
      for (ConsumerRecord<byte[], byte[]> r : records) {
        if (stopRequested) {
          break;
        }
        TopicPartition tp = new TopicPartition(r.topic(), r.partition());
        next.put(tp, r.offset() + 1);
        pending.put(tp, new OffsetAndMetadata(r.offset() + 1));
        if (!sampler.sample(r.partition(), r.timestamp())) {
          skippedSinceCommit++;
          continue;
        }
        RequestDecoder.Decoded d = decoder.decode(traffic.imageId(r.partition(), r.offset()), r.headers(), r.value());
        if (d.image() == null) {
          refused.add(new Refusal(r, d.reason()));
          continue;
        }
        if (!commit(d.image())) {
          return; // stopped during the image: aborted, nothing of it committed
        }
        if (rewind(records, next)) {
          return;
        }
      }
      if (!pending.isEmpty()) {
        commit(null);
      }
    }

    /** Seeks every partition with records of the batch left to its first one not handled; true when any was. */
    private boolean rewind(ConsumerRecords<byte[], byte[]> records, Map<TopicPartition, Long> next) {
      boolean any = false;
      for (TopicPartition tp : records.partitions()) {
        List<ConsumerRecord<byte[], byte[]>> rs = records.records(tp);
        long last = rs.get(rs.size() - 1).offset();
        Long n = next.get(tp);
        long first = n != null ? n : rs.get(0).offset();
        if (first <= last) {
          consumer.seek(tp, first);
          any = true;
        }
      }
      return any;
    }

    /**
     * One transaction: the pending dead letters, the frames of {@code image} (when not null) and the
     * pending offsets.
     *
     * @return false when stopped during the image (the transaction was aborted)
     */
    private boolean commit(Image image) {
      long first = -1;
      producer.beginTransaction();
      try {
        for (Refusal x : refused) {
          ConsumerRecord<byte[], byte[]> r = x.record();
          DeadLetter letter = DeadLetters.of(ProducerService.STAGE, x.reason(), r.topic(), r.partition(), r.offset(), r.key(), r.value());
          producer.send(new ProducerRecord<>(Topics.DLQ.name(), null, null, r.key(),
              Topics.DLQ.valueSerde().serializer().serialize(Topics.DLQ.name(), letter), DeadLetters.headers(letter)));
          LOG.debug("request {}-{}@{} refused: {}", r.topic(), r.partition(), r.offset(), letter.getError());
        }
        if (image != null) {
          first = sendFrames(image);
          if (first < 0) {
            abort();
            return false;
          }
        }
        producer.sendOffsetsToTransaction(Map.copyOf(pending), consumer.groupMetadata());
        producer.commitTransaction();
      } catch (InterruptException | WakeupException e) {
        abort();
        throw e; // ends the publication as stopped
      } catch (KafkaException e) {
        abort();
        Throwable cause = e.getCause() instanceof InvalidTimestampException ? e.getCause() : e;
        throw StimulusPublisher.failure(cause, "probe " + plan.probeId() + ": the transaction of "
            + (image != null ? "request " + image.id() : pending.size() + " partitions' skipped requests") + " was aborted (nothing"
            + " of it is visible; a restart resumes at the committed offsets of group " + traffic.groupId() + ")");
      }
      // committed
      deadLetters.increment(refused.size());
      refusedCounter.increment(refused.size());
      skipped.increment(skippedSinceCommit);
      refused.clear();
      pending.clear();
      skippedSinceCommit = 0;
      if (image != null) {
        int fpi = plan.framesPerImage();
        probed.increment();
        imageCounter.increment();
        frameCounter.increment(fpi);
        images++;
        nextFrame = first + fpi;
        for (int k = 1; k <= fpi; k++) {
          progress.onProgress(frames + k, -1);
        }
        frames += fpi;
      }
      return true;
    }

    /**
     * Sends every frame of an image in the open transaction, from the frameIndex the class comment
     * gives.
     *
     * @return the image's first frameIndex; -1 when stopped first
     */
    private long sendFrames(Image image) {
      int fpi = plan.framesPerImage();
      double fps = plan.fps();
      long t0 = System.nanoTime();
      long clock = (long) Math.floor((System.currentTimeMillis() - plan.startTimeMs()) * fps / 1000.0);
      long first = Math.max(nextFrame, Math.floorDiv(clock, fpi) * fpi);
      String topic = Topics.STIMULI.name();
      WindowGeometry geometry = plan.geometry();
      for (int f = 0; f < fpi; f++) {
        long i = first + f;
        long timestamp = plan.startTimeMs() + geometry.stimulusOffsetMs(i);
        boolean go = paced ? Pacing.waitUntil(t0 + Math.round(f * 1e9 / fps), stopping)
            : Pacing.waitForLead(timestamp, maxLeadMs, stopping);
        if (!go || stopRequested) {
          return -1;
        }
        if (f == 0) {
          producer.send(StimulusPublisher.probeImage(plan.probeId(), image.id(), image, timestamp));
        }
        StimulusFrame frame = synth.frame(plan.probeId(), image, image.id(), i, f);
        producer.send(new ProducerRecord<>(topic, null, timestamp, key, Topics.STIMULI.valueSerde().serializer().serialize(topic, frame)));
      }
      return first;
    }

    private void abort() {
      try {
        producer.abortTransaction();
      } catch (KafkaException | IllegalStateException e) {
        LOG.debug("abort: {}", e.toString());
      }
      refused.clear();
      pending.clear();
      skippedSinceCommit = 0;
    }

    PublishSummary summary(long t0) {
      return new PublishSummary(plan.probeId(), frames, images, (System.nanoTime() - t0) / 1e9, true);
    }
  }

  /** A probed request that broke the contract, and why. */
  private record Refusal(ConsumerRecord<byte[], byte[]> record, String reason) {}

  /** Every newly assigned partition starts its every-k-th count at the first record read. */
  private final class RestartCounting implements ConsumerRebalanceListener {
    @Override
    public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
      partitions.forEach(tp -> sampler.restart(tp.partition()));
    }

    @Override
    public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
      // nothing in flight: no transaction is open while the consumer polls
    }
  }

  /**
   * Closes both clients (the producer waits at most 30 s) and removes their metrics. Works on an
   * interrupted thread too: the flag is cleared for the close and set again.
   */
  @Override
  public void close() {
    boolean interrupted = Thread.interrupted();
    try {
      for (KafkaClientMetrics m : clientMetrics) {
        m.close();
      }
      try {
        consumer.close();
      } finally {
        producer.close(CLOSE_WAIT);
      }
    } finally {
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
