package dev.tagscope.worker;

import dev.tagscope.schemas.ActivationFrame;
import dev.tagscope.schemas.DeadLetter;
import dev.tagscope.schemas.DeadLetters;
import dev.tagscope.schemas.ProbeSpec;
import dev.tagscope.schemas.Reduction;
import dev.tagscope.schemas.StimulusFrame;
import dev.tagscope.schemas.Topics;
import dev.tagscope.worker.internal.DeadLetterFitter;
import dev.tagscope.worker.internal.LayerSelector;
import dev.tagscope.worker.internal.ProbeCache;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.kafka.KafkaClientMetrics;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.UnaryOperator;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerGroupMetadata;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.FencedInstanceIdException;
import org.apache.kafka.common.errors.InvalidProducerEpochException;
import org.apache.kafka.common.errors.OutOfOrderSequenceException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.errors.UnsupportedVersionException;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The inference stage: reads stimulus frames from {@code tagscope.stimuli}, runs the model in
 * batches, and writes one {@link ActivationFrame} per tapped layer per frame to
 * {@code tagscope.activations} (key {@code probeId/layer}, record timestamp = the stimulus
 * record's timestamp, i.e. stimulus time).
 *
 * <h2>Exactly once</h2>
 * A transactional producer writes the activations, the dead letters and the consumer offsets
 * ({@code sendOffsetsToTransaction} with the consumer's group metadata, KIP-447) in one
 * transaction per poll batch, and the consumer reads with {@code isolation.level=read_committed}
 * and no auto-commit. A restart therefore neither loses nor repeats a frame.
 *
 * <p>Failures follow Kafka's transactional contract:
 * <ul>
 *   <li><b>timeouts</b> ({@link TimeoutException} from {@code commitTransaction},
 *       {@code sendOffsetsToTransaction}, {@code abortTransaction} or {@code initTransactions}):
 *       the same call is made again, up to {@link WorkerSettings#commitRetries()} more times with
 *       a doubling back-off from {@link WorkerSettings#commitRetryBackoff()}, each retry logged.
 *       A commit that still times out cannot be aborted (Kafka refuses it, the commit may be
 *       completing), so the worker stops with a {@link CommitTimeoutException} and leaves the
 *       outcome to the transaction coordinator; offsets that still time out are aborted like any
 *       abortable error. After {@link #close()} a timed-out call is not retried;</li>
 *   <li><b>fatal</b> errors (fenced producer or instance, out-of-order sequence, authorisation,
 *       unsupported version) stop the worker: another instance took over the same
 *       {@code transactional.id} or group generation, or the cluster refuses this one;</li>
 *   <li><b>abortable</b> errors (any other {@link KafkaException}, including
 *       {@link InvalidProducerEpochException}: the coordinator aborted a transaction that ran past
 *       {@code transaction.timeout.ms} and bumped the epoch, and Kafka's answer is
 *       {@code abortTransaction}) abort the transaction, seek the consumer back to the last
 *       committed offsets and retry the batch after a back-off.</li>
 * </ul>
 * Records are processed on the poll thread between polls, so a rebalance callback never meets an
 * open transaction; should it, the transaction is aborted before the partitions go.
 *
 * <h2>Bad input</h2>
 * Undecodable values, frames of an unknown probe, frames whose {@code channels*height*width}
 * does not match the pixel count or the probe's image size, frames whose channels cannot be
 * adapted to the model, and probes asking for a layer this worker does not tap go to
 * {@code tagscope.dlq} (stage {@value #STAGE}, reason in the headers) in the same transaction;
 * processing goes on. A dead letter that would be too large for Kafka (it copies the refused
 * record, and the record may have been close to the limit) is truncated to fit the producer's
 * {@code max.request.size}: the reason, the headers and the source coordinates stay, the value
 * keeps a prefix, and the reason and the headers {@value DeadLetterFitter#HEADER_TRUNCATED} and
 * {@value DeadLetterFitter#HEADER_ORIGINAL_VALUE_BYTES} say what was cut (see
 * {@link DeadLetterFitter}). When the broker still refuses one as too large (the topic's
 * {@code max.message.bytes} is smaller), the transaction is retried with dead letters cut to
 * half that size, and so on down to {@value #MIN_DEAD_LETTER_BYTES} bytes; a broker that refuses
 * even that stops the worker, naming the setting to raise.
 *
 * <h2>Several models on one cluster</h2>
 * A frame whose probe names another model is skipped (counted in
 * {@code tagscope.worker.frames.skipped{reason=other-model}}, its offset committed): a worker of
 * that model answers it. For that to work each model's workers form their own consumer group:
 * by default the group is {@code tagscope-inference-worker.<model name>}, and the transactional
 * id prefix likewise, so two models' instances with one instance id do not fence each other
 * (see {@link WorkerSettings#groupIdFor(String)}).
 *
 * <h2>Meters</h2>
 * Counters {@code tagscope.worker.frames} (frames turned into activations),
 * {@code tagscope.worker.activations} (records written), {@code tagscope.dlq.records}
 * {@code {stage=inference-worker}}, counted when their transaction commits; timer
 * {@code tagscope.worker.inference} per batch {@code session.run}; Kafka client metrics of the
 * three clients through Micrometer's {@link KafkaClientMetrics}.
 *
 * <pre>{@code
 * try (InferenceWorker w = new InferenceWorker("127.0.0.1:9092", WorkerSettings.defaults(model), registry)) {
 *   Thread t = new Thread(w, "inference-worker");
 *   t.start();
 *   ...
 * } // close(): finishes the transaction in flight, then stops
 * }</pre>
 */
public final class InferenceWorker implements Runnable, AutoCloseable {
  /** Stage name on dead letters and the {@code tagscope.dlq.records} meter. */
  public static final String STAGE = "inference-worker";

  private static final Logger log = LoggerFactory.getLogger(InferenceWorker.class);
  private static final Duration CLOSE_WAIT = Duration.ofSeconds(30);
  private static final Duration MAX_BACKOFF = Duration.ofSeconds(5);
  /**
   * Smallest size dead letters are cut to after the broker refused larger ones, in bytes: the
   * stage, the source coordinates and a reason fit in it, so a broker refusing even this has a
   * misconfigured {@code max.message.bytes} that no cut can work around.
   */
  static final int MIN_DEAD_LETTER_BYTES = 1024;

  private final WorkerSettings settings;
  private final ActivationModel model;
  private final boolean ownsModel;
  private final Preprocessor preprocessor;
  private final KafkaConsumer<byte[], byte[]> consumer;
  private final Producer<byte[], byte[]> producer;
  private final ProbeCache probes;
  private final List<KafkaClientMetrics> clientMetrics = new ArrayList<>();

  private final Deserializer<StimulusFrame> frameDecoder = Topics.STIMULI.valueSerde().deserializer();
  private final Serializer<String> activationKeys = Topics.ACTIVATIONS.keySerde().serializer();
  private final Serializer<ActivationFrame> activationValues = Topics.ACTIVATIONS.valueSerde().serializer();
  private final Serializer<DeadLetter> dlqValues = Topics.DLQ.valueSerde().serializer();

  private final Counter framesCounter;
  private final Counter activationsCounter;
  private final Counter dlqCounter;
  private final Counter otherModelCounter;
  private final Set<String> otherModelProbesLogged = new HashSet<>();
  private final Timer inferenceTimer;

  private final Map<String, Plan> plans = new HashMap<>();
  private final AtomicBoolean started = new AtomicBoolean();
  private final AtomicBoolean clientsClosed = new AtomicBoolean();
  private final AtomicBoolean closed = new AtomicBoolean();
  private final CountDownLatch stopped = new CountDownLatch(1);
  private volatile boolean closing;
  private volatile boolean running;
  private volatile Throwable failure;
  private boolean inTransaction;
  private volatile Runnable beforeCommit = () -> { };
  /** Largest dead-letter record, in bytes; starts at what the producer accepts, lowered when the broker refuses one. */
  private int deadLetterLimit;
  /** Smallest dead letter the broker refused as too large since last looked at (written by the producer's I/O thread). */
  private final AtomicInteger refusedDeadLetterBytes = new AtomicInteger(Integer.MAX_VALUE);

  /**
   * Loads the model from the settings and creates the Kafka clients (no connection is made
   * before {@link #run()}).
   *
   * @param bootstrapServers Kafka {@code bootstrap.servers}
   * @param settings worker settings
   * @param registry where meters are registered
   * @throws IllegalArgumentException when the settings or the model are invalid (see
   *     {@link ActivationModel#load(ModelConfig)})
   */
  public InferenceWorker(String bootstrapServers, WorkerSettings settings, MeterRegistry registry) {
    this(bootstrapServers, settings, ActivationModel.load(settings.modelConfig()), true, registry);
  }

  /**
   * Uses a model loaded by the caller, who keeps ownership and closes it after this worker.
   * {@link WorkerSettings#modelPath()}, {@code layers}, {@code preprocessing} and the engine
   * settings are then ignored.
   *
   * @param bootstrapServers Kafka {@code bootstrap.servers}
   * @param settings worker settings (Kafka and batching parts)
   * @param model a loaded model
   * @param registry where meters are registered
   */
  public InferenceWorker(String bootstrapServers, WorkerSettings settings, ActivationModel model, MeterRegistry registry) {
    this(bootstrapServers, settings, model, false, registry, UnaryOperator.identity());
  }

  /**
   * Test seam: as {@link #InferenceWorker(String, WorkerSettings, ActivationModel, MeterRegistry)},
   * with the transactional producer passed through {@code producerWrapper} (for example to make
   * a call time out the way a broker that does not answer would).
   */
  InferenceWorker(String bootstrapServers, WorkerSettings settings, ActivationModel model, MeterRegistry registry,
                  UnaryOperator<Producer<byte[], byte[]>> producerWrapper) {
    this(bootstrapServers, settings, model, false, registry, producerWrapper);
  }

  private InferenceWorker(String bootstrapServers, WorkerSettings settings, ActivationModel model, boolean ownsModel,
                          MeterRegistry registry) {
    this(bootstrapServers, settings, model, ownsModel, registry, UnaryOperator.identity());
  }

  private InferenceWorker(String bootstrapServers, WorkerSettings settings, ActivationModel model, boolean ownsModel,
                          MeterRegistry registry, UnaryOperator<Producer<byte[], byte[]>> producerWrapper) {
    if (bootstrapServers == null || bootstrapServers.isBlank()) {
      if (ownsModel) {
        model.close();
      }
      throw new IllegalArgumentException("bootstrapServers must be host:port[,host:port...], got '" + bootstrapServers + "'");
    }
    this.settings = Objects.requireNonNull(settings, "settings");
    this.model = Objects.requireNonNull(model, "model");
    this.ownsModel = ownsModel;
    Objects.requireNonNull(registry, "registry");
    this.preprocessor = new Preprocessor(model.preprocessing());
    String clientBase = "tagscope-inference-worker-" + settings.instanceId();
    KafkaConsumer<byte[], byte[]> stimuliConsumer = null;
    Producer<byte[], byte[]> txProducer = null;
    try {
      stimuliConsumer = new KafkaConsumer<>(consumerProps(bootstrapServers, clientBase + "-stimuli", true),
          new ByteArrayDeserializer(), new ByteArrayDeserializer());
      Map<String, Object> producerProps = producerProps(bootstrapServers, clientBase + "-producer");
      txProducer = Objects.requireNonNull(producerWrapper.apply(new KafkaProducer<>(producerProps,
          new ByteArraySerializer(), new ByteArraySerializer())), "producerWrapper result");
      this.deadLetterLimit = maxRecordBytes(producerProps);
      this.probes = new ProbeCache(new KafkaConsumer<>(consumerProps(bootstrapServers, clientBase + "-probes", false),
          new ByteArrayDeserializer(), new ByteArrayDeserializer()), Duration.ofSeconds(10));
    } catch (KafkaException e) {
      // close what was already built: a producer owns an I/O thread, a consumer its sockets and metrics
      if (txProducer != null) {
        closeQuietly(txProducer::close, "producer");
      }
      if (stimuliConsumer != null) {
        closeQuietly(stimuliConsumer::close, "stimuli consumer");
      }
      if (ownsModel) {
        model.close();
      }
      throw new IllegalArgumentException("invalid Kafka client configuration: " + e.getMessage(), e);
    }
    this.consumer = stimuliConsumer;
    this.producer = txProducer;
    this.framesCounter = Counter.builder("tagscope.worker.frames")
        .description("Stimulus frames turned into activations (committed)").register(registry);
    this.activationsCounter = Counter.builder("tagscope.worker.activations")
        .description("Activation records written (one per tapped layer per frame, committed)").register(registry);
    this.dlqCounter = Counter.builder("tagscope.dlq.records").tag("stage", STAGE)
        .description("Records sent to the dead-letter topic").register(registry);
    this.otherModelCounter = Counter.builder("tagscope.worker.frames.skipped").tag("reason", "other-model")
        .description("Frames of probes for another model, left to that model's workers (committed)").register(registry);
    this.inferenceTimer = Timer.builder("tagscope.worker.inference")
        .description("One model run over a batch of frames").register(registry);
    for (KafkaClientMetrics m : List.of(new KafkaClientMetrics(consumer), new KafkaClientMetrics(producer))) {
      m.bindTo(registry);
      clientMetrics.add(m);
    }
  }

  /**
   * The largest record the producer accepts, in bytes: {@code max.request.size}, and never more
   * than {@code buffer.memory} (KafkaProducer refuses a record above either before sending it).
   * Both were validated when the producer was built, so parsing cannot fail here.
   */
  private static int maxRecordBytes(Map<String, Object> producerProps) {
    Map<String, Object> defaults = ProducerConfig.configDef().defaultValues();
    int maxRequest = (Integer) ConfigDef.parseType(ProducerConfig.MAX_REQUEST_SIZE_CONFIG,
        producerProps.getOrDefault(ProducerConfig.MAX_REQUEST_SIZE_CONFIG,
            defaults.get(ProducerConfig.MAX_REQUEST_SIZE_CONFIG)), ConfigDef.Type.INT);
    long bufferMemory = (Long) ConfigDef.parseType(ProducerConfig.BUFFER_MEMORY_CONFIG,
        producerProps.getOrDefault(ProducerConfig.BUFFER_MEMORY_CONFIG,
            defaults.get(ProducerConfig.BUFFER_MEMORY_CONFIG)), ConfigDef.Type.LONG);
    return (int) Math.max(1, Math.min(maxRequest, bufferMemory));
  }

  private Map<String, Object> consumerProps(String bootstrap, String clientId, boolean grouped) {
    Map<String, Object> p = new HashMap<>();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ConsumerConfig.CLIENT_ID_CONFIG, clientId);
    p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    if (grouped) {
      p.put(ConsumerConfig.GROUP_ID_CONFIG, settings.groupIdFor(model.name()));
      p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, settings.maxPollRecords());
    }
    p.putAll(settings.clientOverrides());
    if (!grouped) {
      p.remove(ConsumerConfig.GROUP_ID_CONFIG);
    }
    return p;
  }

  private Map<String, Object> producerProps(String bootstrap, String clientId) {
    Map<String, Object> p = new HashMap<>();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ProducerConfig.CLIENT_ID_CONFIG, clientId);
    p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, settings.transactionalIdFor(model.name()));
    p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    p.put(ProducerConfig.LINGER_MS_CONFIG, 5);
    p.putAll(settings.clientOverrides());
    return p;
  }

  /**
   * The model this worker runs.
   *
   * @return the model
   */
  public ActivationModel model() {
    return model;
  }

  /**
   * Test seam: runs on the poll thread right before each {@code commitTransaction}; a
   * {@link KafkaException} thrown here fails the transaction like a broker error would.
   *
   * @param hook the action
   */
  void beforeCommitForTests(Runnable hook) {
    this.beforeCommit = Objects.requireNonNull(hook);
  }

  /**
   * Whether {@link #run()} is in its poll loop.
   *
   * @return true while running
   */
  public boolean isRunning() {
    return running;
  }

  /**
   * Why the worker stopped on its own (fenced, fatal Kafka error), if it did.
   *
   * @return the cause, empty after a normal stop or while running
   */
  public Optional<Throwable> failure() {
    return Optional.ofNullable(failure);
  }

  /**
   * Initialises transactions, loads the probe specs, subscribes to {@code tagscope.stimuli} and
   * processes frames until {@link #close()}. Runs on the caller's thread; call once. Errors that
   * stop the worker (see the class docs) are not thrown but kept in {@link #failure()}; a
   * {@link CommitTimeoutException} there means a commit kept timing out.
   *
   * @throws IllegalStateException when called twice or after {@link #close()}
   */
  @Override
  public void run() {
    if (!started.compareAndSet(false, true)) {
      throw new IllegalStateException("an InferenceWorker runs once; create a new one to start again");
    }
    if (closing) {
      // close() may already be waiting for this run to stop: release it and close the clients
      closeClients();
      stopped.countDown();
      throw new IllegalStateException("an InferenceWorker runs once; create a new one to start again");
    }
    running = true;
    try {
      retryOnTimeout("initTransactions", producer::initTransactions);
      probes.refresh();
      consumer.subscribe(List.of(Topics.STIMULI.name()), new AbortOnRevoke());
      log.info("inference worker {} started: model {}, taps {}, group {}, transactional.id {}", settings.instanceId(),
          model.name(), model.tappedLayers().stream().map(TappedLayer::name).collect(Collectors.toList()),
          settings.groupIdFor(model.name()), settings.transactionalIdFor(model.name()));
      long backoffMs = 0;
      while (!closing) {
        ConsumerRecords<byte[], byte[]> records = consumer.poll(settings.pollTimeout());
        probes.pollUpdates();
        if (records.isEmpty()) {
          continue;
        }
        if (processInTransaction(records)) {
          backoffMs = 0;
        } else {
          backoffMs = Math.min(MAX_BACKOFF.toMillis(), Math.max(100, backoffMs * 2));
          sleepUnlessClosing(backoffMs);
        }
      }
    } catch (WakeupException e) {
      if (!closing) {
        failure = e;
        log.error("inference worker woken up without close()", e);
      }
    } catch (ProducerFencedException | FencedInstanceIdException e) {
      failure = e;
      log.error("inference worker {} fenced by a newer instance with transactional.id {}; stopping",
          settings.instanceId(), settings.transactionalIdFor(model.name()), e);
    } catch (CommitTimeoutException e) {
      if (closing) { // close() asked to stop; the coordinator settles the transaction, nothing is lost
        log.warn("inference worker {} closed while its last commit timed out: {}", settings.instanceId(), e.getMessage());
      } else {
        failure = e;
        log.error("inference worker {} stopped: {}", settings.instanceId(), e.getMessage(), e);
      }
    } catch (RuntimeException e) {
      failure = e;
      log.error("inference worker {} stopped by a fatal error", settings.instanceId(), e);
    } finally {
      running = false;
      closeClients();
      stopped.countDown();
    }
  }

  /**
   * Processes one poll batch in one transaction.
   *
   * @return true when committed, false when aborted (the consumer has been rewound)
   */
  private boolean processInTransaction(ConsumerRecords<byte[], byte[]> records) {
    learnDeadLetterLimit();
    Tally tally = new Tally();
    producer.beginTransaction();
    inTransaction = true;
    try {
      handle(records, tally);
      Map<TopicPartition, OffsetAndMetadata> offsets = nextOffsets(records);
      ConsumerGroupMetadata group = consumer.groupMetadata();
      // A timed-out sendOffsetsToTransaction leaves the transaction open and its request queued;
      // adding the group and the same offsets to the same transaction again changes nothing.
      retryOnTimeout("sendOffsetsToTransaction", () -> producer.sendOffsetsToTransaction(offsets, group));
      beforeCommit.run();
      commit(records.count());
      inTransaction = false;
    } catch (CommitTimeoutException e) {
      inTransaction = false; // Kafka refuses abortTransaction after a commit timed out; the coordinator decides
      throw e;
    } catch (ProducerFencedException | FencedInstanceIdException
             | OutOfOrderSequenceException | AuthorizationException | UnsupportedVersionException e) {
      // InvalidProducerEpochException is deliberately not here: Kafka 4.3.1 keeps it an abortable
      // error (the coordinator timed the transaction out and bumped the epoch; its Javadoc says to
      // call abortTransaction, which re-initialises the producer), so it takes the abort path below.
      inTransaction = false;
      throw e; // fatal: the producer cannot go on
    } catch (WakeupException e) {
      abortAndRewind(records, e);
      throw e;
    } catch (KafkaException | IllegalStateException e) {
      abortAndRewind(records, e);
      return false;
    }
    framesCounter.increment(tally.frames);
    activationsCounter.increment(tally.activations);
    dlqCounter.increment(tally.deadLetters);
    otherModelCounter.increment(tally.otherModel);
    return true;
  }

  /**
   * Commits, calling {@code commitTransaction} again when it times out (Kafka's contract: the
   * call is idempotent, and nothing else, not even an abort, is allowed until it succeeds).
   *
   * @throws CommitTimeoutException when every attempt timed out, or one did while closing
   */
  private void commit(int recordCount) {
    try {
      retryOnTimeout("commitTransaction", producer::commitTransaction);
    } catch (RetriesExhausted e) {
      throw new CommitTimeoutException("commitTransaction of the transaction over " + recordCount + " stimulus records"
          + " timed out " + e.attempts + " times" + (e.closing ? " (no more retries: closing)" : "")
          + "; whether it committed is up to the transaction coordinator (it commits if the request reached it,"
          + " else aborts after transaction.timeout.ms or when an instance with transactional.id "
          + settings.transactionalIdFor(model.name()) + " starts), so no frame is lost or repeated. Check that the brokers answer,"
          + " then restart the worker with instance id " + settings.instanceId()
          + "; raise commitRetries, commitRetryBackoff or the producer's max.block.ms to wait longer",
          e.attempts, e.getCause());
    }
  }

  /**
   * Runs a transactional producer call; when it throws {@link TimeoutException} (the broker did
   * not answer within {@code max.block.ms}), calls it again after a back-off that starts at
   * {@link WorkerSettings#commitRetryBackoff()} and doubles up to 5 s, at most
   * {@link WorkerSettings#commitRetries()} times. Other exceptions pass through at once.
   *
   * @param call the producer method, for the log
   * @param op the call
   * @throws RetriesExhausted (a {@link TimeoutException}) when the last allowed attempt timed
   *     out, or an attempt did after {@link #close()}: stopping is then preferred to waiting
   */
  private void retryOnTimeout(String call, Runnable op) {
    long backoffMs = settings.commitRetryBackoff().toMillis();
    int attempts = settings.commitRetries() + 1;
    for (int attempt = 1; ; attempt++) {
      try {
        op.run();
        if (attempt > 1) {
          log.info("{} succeeded on attempt {} of {}", call, attempt, attempts);
        }
        return;
      } catch (TimeoutException e) {
        if (attempt >= attempts || closing) {
          log.error("{} timed out on attempt {} of {}; giving up{}: {}", call, attempt, attempts,
              closing ? " (closing)" : "", e.getMessage());
          throw new RetriesExhausted(call, attempt, closing, e);
        }
        log.warn("{} timed out on attempt {} of {}; calling it again in {} ms: {}", call, attempt, attempts, backoffMs,
            e.getMessage());
        sleepUnlessClosing(backoffMs);
        backoffMs = Math.min(MAX_BACKOFF.toMillis(), backoffMs * 2);
      }
    }
  }

  /** The last timeout of a call that was retried as often as allowed; still a {@link TimeoutException}. */
  private static final class RetriesExhausted extends TimeoutException {
    private static final long serialVersionUID = 1L;
    final int attempts;
    final boolean closing;

    RetriesExhausted(String call, int attempts, boolean closing, TimeoutException last) {
      super(call + " timed out " + attempts + " time(s)" + (closing ? " (closing, not retried)" : "") + ": "
          + last.getMessage(), last);
      this.attempts = attempts;
      this.closing = closing;
    }
  }

  private void abortAndRewind(ConsumerRecords<byte[], byte[]> records, RuntimeException cause) {
    log.warn("transaction over {} records failed, aborting and retrying: {}", records.count(), cause.toString());
    try {
      retryOnTimeout("abortTransaction", producer::abortTransaction);
    } catch (KafkaException | IllegalStateException e) {
      inTransaction = false;
      throw new IllegalStateException("cannot abort the failed transaction (" + cause + "); stopping: " + e, e);
    }
    inTransaction = false;
    learnDeadLetterLimit();
    if (!closing) {
      rewind(records);
    }
  }

  /**
   * Lowers the dead-letter size limit after the broker refused a dead letter as too large
   * (the producer's own limit is known in advance; the topic's {@code max.message.bytes} is
   * not). Halving converges on any limit in a few retries of the batch, and a limit only ever
   * goes down, so the same batch cannot fail this way for ever.
   *
   * @throws IllegalStateException when even a dead letter of {@value #MIN_DEAD_LETTER_BYTES}
   *     bytes or less was refused: no cut helps, the topic's setting must change
   */
  private void learnDeadLetterLimit() {
    int refused = refusedDeadLetterBytes.getAndSet(Integer.MAX_VALUE);
    if (refused == Integer.MAX_VALUE) {
      return;
    }
    if (refused <= MIN_DEAD_LETTER_BYTES) {
      throw new IllegalStateException("the broker refuses dead letters of " + refused + " bytes as too large; raise"
          + " max.message.bytes of " + Topics.DLQ.name() + " (or the broker's message.max.bytes) above "
          + MIN_DEAD_LETTER_BYTES);
    }
    int next = Math.max(MIN_DEAD_LETTER_BYTES, refused / 2);
    if (next < deadLetterLimit) {
      log.warn("the broker refused a dead letter of {} bytes as too large (max.message.bytes of {} is lower than"
          + " the producer's max.request.size); dead letters are now truncated to {} bytes", refused,
          Topics.DLQ.name(), next);
      deadLetterLimit = next;
    }
  }

  /** Seeks every assigned partition back to its committed offset (or this batch's first offset). */
  private void rewind(ConsumerRecords<byte[], byte[]> records) {
    Set<TopicPartition> assignment = consumer.assignment();
    Map<TopicPartition, OffsetAndMetadata> committed = consumer.committed(assignment);
    for (TopicPartition tp : assignment) {
      OffsetAndMetadata om = committed.get(tp);
      if (om != null) {
        consumer.seek(tp, om);
      } else {
        List<ConsumerRecord<byte[], byte[]>> rs = records.records(tp);
        if (!rs.isEmpty()) {
          consumer.seek(tp, rs.get(0).offset());
        }
      }
    }
  }

  private static Map<TopicPartition, OffsetAndMetadata> nextOffsets(ConsumerRecords<byte[], byte[]> records) {
    Map<TopicPartition, OffsetAndMetadata> out = new HashMap<>();
    for (TopicPartition tp : records.partitions()) {
      List<ConsumerRecord<byte[], byte[]>> rs = records.records(tp);
      out.put(tp, new OffsetAndMetadata(rs.get(rs.size() - 1).offset() + 1));
    }
    return out;
  }

  /** A valid frame waiting for its batch. */
  private record Pending(ConsumerRecord<byte[], byte[]> record, StimulusFrame frame, byte[] pixels, Plan plan) {}

  /** A probe as this worker serves it: its spec and the taps it wants, or why it cannot. */
  private record Plan(ProbeSpec spec, List<TappedLayer> layers, String error) {}

  private static final class Tally {
    long frames;
    long activations;
    long deadLetters;
    long otherModel;
  }

  private void handle(ConsumerRecords<byte[], byte[]> records, Tally tally) {
    Set<String> refreshed = new HashSet<>();
    List<Pending> batch = new ArrayList<>(settings.batchSize());
    for (ConsumerRecord<byte[], byte[]> r : records) {
      Pending p;
      try {
        p = validate(r, refreshed, tally);
      } catch (KafkaException e) {
        throw e; // the producer or the probe reader failed: abort the transaction
      } catch (RuntimeException e) { // a frame that trips an unexpected error must not stop the stream
        log.warn("unexpected error on {}-{}@{}", r.topic(), r.partition(), r.offset(), e);
        deadLetter(r, "unexpected error: " + e, tally);
        continue;
      }
      if (p == null) {
        continue;
      }
      batch.add(p);
      if (batch.size() == settings.batchSize()) {
        flush(batch, tally);
        batch.clear();
      }
    }
    if (!batch.isEmpty()) {
      flush(batch, tally);
    }
  }

  /** Decodes and checks one record; sends a dead letter and returns null when it is refused. */
  private Pending validate(ConsumerRecord<byte[], byte[]> r, Set<String> refreshed, Tally tally) {
    if (r.value() == null) {
      deadLetter(r, "null value: a stimulus frame was expected", tally);
      return null;
    }
    StimulusFrame f;
    try {
      f = frameDecoder.deserialize(r.topic(), r.value());
    } catch (SerializationException e) {
      deadLetter(r, e.getMessage(), tally);
      return null;
    }
    String probeId = f.getProbeId();
    Plan plan = plan(probeId, refreshed);
    if (plan == null) {
      deadLetter(r, "unknown probe '" + probeId + "': no ProbeSpec with this probeId on " + Topics.PROBES.name()
          + "; publish the probe before its frames", tally);
      return null;
    }
    if (!plan.spec.getModel().equals(model.name())) {
      // Not bad input: the probe is for a worker of another model, in another consumer group.
      if (otherModelProbesLogged.add(probeId)) {
        log.info("probe {} is for model '{}'; this worker runs '{}' and skips its frames (a worker of '{}' answers them)",
            probeId, plan.spec.getModel(), model.name(), plan.spec.getModel());
      }
      tally.otherModel++;
      return null;
    }
    if (plan.error != null) {
      deadLetter(r, plan.error, tally);
      return null;
    }
    int c = f.getChannels();
    int h = f.getHeight();
    int w = f.getWidth();
    ByteBuffer buf = f.getPixels();
    int length = buf == null ? 0 : buf.remaining();
    if (c <= 0 || h <= 0 || w <= 0) {
      deadLetter(r, "frame " + f.getFrameIndex() + " of probe " + probeId + " has size [" + c + "," + h + "," + w
          + "]; channels, height and width must be positive", tally);
      return null;
    }
    if ((long) c * h * w != length) {
      deadLetter(r, "frame " + f.getFrameIndex() + " of probe " + probeId + " has " + length + " pixel bytes but"
          + " channels*height*width = " + c + "*" + h + "*" + w + " = " + (long) c * h * w, tally);
      return null;
    }
    ProbeSpec spec = plan.spec;
    if (c != spec.getImageChannels() || h != spec.getImageHeight() || w != spec.getImageWidth()) {
      deadLetter(r, "frame " + f.getFrameIndex() + " is [" + c + "," + h + "," + w + "] but probe " + probeId
          + " declares images of [" + spec.getImageChannels() + "," + spec.getImageHeight() + ","
          + spec.getImageWidth() + "]", tally);
      return null;
    }
    if (!preprocessor.canAdapt(c)) {
      deadLetter(r, "frame " + f.getFrameIndex() + " of probe " + probeId + " has " + c + " channels, which cannot"
          + " be adapted to the " + preprocessor.settings().channels() + " channels of model " + model.name()
          + " (supported: equal counts, 1 to any, 3 to 1)", tally);
      return null;
    }
    return new Pending(r, f, bytes(buf), plan);
  }

  /** The plan of a probe; refreshes the probe specs once per poll batch for an unknown id. */
  private Plan plan(String probeId, Set<String> refreshed) {
    ProbeSpec spec = probes.get(probeId);
    if (spec == null && refreshed.add(probeId)) {
      probes.refresh();
      spec = probes.get(probeId);
    }
    if (spec == null) {
      return null;
    }
    Plan plan = plans.get(probeId);
    if (plan == null || plan.spec != spec) {
      plan = resolve(spec);
      plans.put(probeId, plan);
    }
    return plan;
  }

  private Plan resolve(ProbeSpec spec) {
    List<TappedLayer> taps = model.tappedLayers();
    List<String> requested = spec.getLayers() == null ? List.of() : spec.getLayers();
    if (requested.isEmpty()) {
      return new Plan(spec, taps, null);
    }
    List<LayerInfo> infos = taps.stream().map(TappedLayer::info).collect(Collectors.toList());
    Set<LayerInfo> chosen = new HashSet<>();
    for (String item : requested) {
      List<LayerInfo> m;
      try {
        m = LayerSelector.match(item.trim(), infos);
      } catch (IllegalArgumentException e) {
        m = List.of();
      }
      if (m.isEmpty()) {
        return new Plan(spec, List.of(), "probe " + spec.getProbeId() + " requests layer '" + item
            + "', which this worker does not tap; restart the worker with --layers including it (it taps: "
            + taps.stream().map(TappedLayer::name).collect(Collectors.joining(",")) + ")");
      }
      chosen.addAll(m);
    }
    List<TappedLayer> out = taps.stream().filter(t -> chosen.contains(t.info())).collect(Collectors.toList());
    return new Plan(spec, out, null);
  }

  /** Runs one batch (grouped by reduction) and sends the activations. */
  private void flush(List<Pending> batch, Tally tally) {
    Map<Reduction, List<Pending>> groups = new LinkedHashMap<>();
    for (Pending p : batch) {
      Reduction r = p.plan.spec.getReduction() == null ? Reduction.MEAN : p.plan.spec.getReduction();
      groups.computeIfAbsent(r, k -> new ArrayList<>()).add(p);
    }
    for (Map.Entry<Reduction, List<Pending>> g : groups.entrySet()) {
      runGroup(g.getValue(), g.getKey(), tally);
    }
  }

  private void runGroup(List<Pending> group, Reduction reduction, Tally tally) {
    int n = group.size();
    int len = preprocessor.inputLength();
    float[] input = new float[n * len];
    for (int i = 0; i < n; i++) {
      StimulusFrame f = group.get(i).frame;
      preprocessor.apply(group.get(i).pixels, f.getChannels(), f.getHeight(), f.getWidth(), input, i * len);
    }
    Map<String, float[][]> out;
    long t0 = System.nanoTime();
    try {
      out = model.run(input, n, reduction);
    } catch (RuntimeException e) {
      if (n > 1) { // find the frame that fails rather than refuse the whole batch
        for (Pending p : group) {
          runGroup(List.of(p), reduction, tally);
        }
      } else {
        deadLetter(group.get(0).record, "inference failed for this frame: " + e.getMessage(), tally);
      }
      return;
    } finally {
      inferenceTimer.record(System.nanoTime() - t0, TimeUnit.NANOSECONDS);
    }
    for (int i = 0; i < n; i++) {
      Pending p = group.get(i);
      for (TappedLayer layer : p.plan.layers) {
        float[] values = out.get(layer.name())[i];
        List<Float> boxed = new ArrayList<>(values.length);
        for (float v : values) {
          boxed.add(v);
        }
        ActivationFrame a = ActivationFrame.newBuilder()
            .setProbeId(p.frame.getProbeId())
            .setModel(p.plan.spec.getModel())
            .setImageId(p.frame.getImageId())
            .setLayer(layer.name())
            .setFrameIndex(p.frame.getFrameIndex())
            .setImageFrame(p.frame.getImageFrame())
            .setValues(boxed)
            .build();
        String topic = Topics.ACTIVATIONS.name();
        String key = Topics.probeLayerKey(p.frame.getProbeId(), layer.name());
        long ts = p.record.timestamp();
        producer.send(new ProducerRecord<>(topic, null, ts >= 0 ? ts : null,
            activationKeys.serialize(topic, key), activationValues.serialize(topic, a)));
        tally.activations++;
      }
      tally.frames++;
    }
  }

  private void deadLetter(ConsumerRecord<byte[], byte[]> r, String reason, Tally tally) {
    DeadLetter letter = DeadLetters.of(STAGE, reason, r.topic(), r.partition(), r.offset(), r.key(), r.value());
    String topic = Topics.DLQ.name();
    DeadLetterFitter.Fitted d = DeadLetterFitter.fit(letter, l -> dlqValues.serialize(topic, l), deadLetterLimit);
    if (d.truncated()) {
      log.warn("dead letter for {}-{}@{} truncated to fit {} bytes: {}", r.topic(), r.partition(), r.offset(),
          deadLetterLimit, d.letter().getError());
    }
    int size = d.sizeUpperBound();
    // Runs on the producer's I/O thread (or here, when the producer refuses the record itself).
    // The failed record fails the transaction; the retry then cuts dead letters below this size.
    producer.send(new ProducerRecord<>(topic, null, null, d.key(), d.value(), d.headers()), (metadata, e) -> {
      if (e instanceof RecordTooLargeException) {
        refusedDeadLetterBytes.accumulateAndGet(size, Math::min);
      }
    });
    tally.deadLetters++;
    log.debug("dead letter for {}-{}@{}: {}", r.topic(), r.partition(), r.offset(), reason);
  }

  private static byte[] bytes(ByteBuffer b) {
    if (b.hasArray() && b.arrayOffset() == 0 && b.position() == 0 && b.array().length == b.remaining()) {
      return b.array();
    }
    byte[] out = new byte[b.remaining()];
    b.duplicate().get(out);
    return out;
  }

  private void sleepUnlessClosing(long ms) {
    long end = System.currentTimeMillis() + ms;
    while (!closing && System.currentTimeMillis() < end) {
      try {
        Thread.sleep(Math.min(50, Math.max(1, end - System.currentTimeMillis())));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        closing = true;
      }
    }
  }

  /** Aborts an open transaction before partitions are taken away (never expected; see class docs). */
  private final class AbortOnRevoke implements ConsumerRebalanceListener {
    @Override
    public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
      abortIfOpen("revoked", partitions);
    }

    @Override
    public void onPartitionsLost(Collection<TopicPartition> partitions) {
      abortIfOpen("lost", partitions);
    }

    @Override
    public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
      log.info("assigned {}", partitions);
    }

    private void abortIfOpen(String why, Collection<TopicPartition> partitions) {
      if (inTransaction) {
        log.warn("partitions {} {} during a transaction; aborting it", partitions, why);
        producer.abortTransaction();
        inTransaction = false;
      }
    }
  }

  /**
   * Stops the worker: the poll loop finishes the transaction in flight (or aborts it if a
   * blocking call is woken), leaves the group and closes the clients. Waits up to 30 s for
   * {@link #run()} to return. Closes the model when this worker loaded it. Idempotent.
   */
  @Override
  public void close() {
    closing = true;
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    if (started.get()) {
      consumer.wakeup();
      try {
        if (!stopped.await(CLOSE_WAIT.toMillis(), TimeUnit.MILLISECONDS)) {
          log.warn("inference worker {} did not stop within {}", settings.instanceId(), CLOSE_WAIT);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    } else {
      closeClients();
    }
    if (ownsModel && clientsClosed.get() && !running) {
      model.close();
    }
  }

  private void closeClients() {
    if (!clientsClosed.compareAndSet(false, true)) {
      return;
    }
    for (KafkaClientMetrics m : clientMetrics) {
      try {
        m.close();
      } catch (RuntimeException e) {
        log.debug("closing client metrics: {}", e.toString());
      }
    }
    if (inTransaction) {
      try {
        producer.abortTransaction();
      } catch (KafkaException | IllegalStateException e) {
        log.debug("abort on close: {}", e.toString());
      }
      inTransaction = false;
    }
    closeQuietly(consumer::close, "stimuli consumer");
    closeQuietly(probes::close, "probe reader");
    // Bounded: after a commit that timed out the producer would otherwise wait for ever for a
    // coordinator that does not answer; what it has not sent by then belongs to no committed transaction.
    closeQuietly(() -> producer.close(CLOSE_WAIT), "producer");
  }

  private static void closeQuietly(Runnable r, String what) {
    try {
      r.run();
    } catch (RuntimeException e) {
      log.warn("closing the {} failed: {}", what, e.toString());
    }
  }
}
