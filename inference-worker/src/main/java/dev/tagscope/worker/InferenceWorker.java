package dev.tagscope.worker;

import dev.tagscope.schemas.ActivationFrame;
import dev.tagscope.schemas.DeadLetterFitter;
import dev.tagscope.schemas.DeadLetters;
import dev.tagscope.service.KafkaClientPolicy;
import dev.tagscope.service.PinnedSettingException;
import dev.tagscope.service.TagscopeService;
import dev.tagscope.worker.internal.DeadLetterSink;
import dev.tagscope.worker.internal.FrameHandler;
import dev.tagscope.worker.internal.ProbeCache;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.kafka.KafkaClientMetrics;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.UnaryOperator;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.InvalidProducerEpochException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

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
 * and no auto-commit. A restart therefore neither loses nor repeats a frame. These settings are
 * pinned by {@link KafkaClientPolicy}: a client override that changes one is refused when the
 * worker is built.
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
 * {@value FrameHandler#FRAMES_SKIPPED}{@code {reason=other-model}}, its offset committed): a worker of
 * that model answers it. For that to work each model's workers form their own consumer group:
 * by default the group is {@code tagscope-inference-worker.<model name>}, and the transactional
 * id prefix likewise, so two models' instances with one instance id do not fence each other
 * (see {@link WorkerSettings#groupIdFor(String)}).
 *
 * <h2>Model versions and hot swap</h2>
 * Every activation record carries the model's version ({@link ActivationModel#version()}: the card's
 * {@code version}, else {@code sha256:} and 12 hex digits of the model file's SHA-256). A probe may
 * pin a version ({@code ProbeSpec.modelVersion}); a worker of another version skips its frames
 * ({@value FrameHandler#FRAMES_SKIPPED}{@code {reason=other-version}}, offsets committed), as it skips
 * another model's. Unpinned probes are answered by whatever version the worker runs. Within one
 * consumer group one worker holds a partition, so to answer probes pinned to two versions at once
 * run each version's workers in a group of their own ({@link WorkerSettings#groupId()}) and pin
 * every probe: an unpinned probe is answered by every group.
 *
 * <p>{@link #swapModel(Path)}, and the model watch ({@link WorkerSettings#modelWatch()},
 * {@code --model-watch}), replace the model while the worker runs: the new file is loaded and
 * checked outside any transaction (same name, same taps by name and filter count, else refused and
 * the old model kept), and the poll thread switches to it between two transactions, so every
 * transaction, and every record in it, is of exactly one version. The replaced model is closed after
 * the switch when the worker loaded it. Meters {@code tagscope.worker.model.swaps{outcome}} and the
 * gauge {@code tagscope.worker.model.version{model,version}}.
 *
 * <h2>Meters</h2>
 * Counters {@value FrameHandler#FRAMES} (frames turned into activations),
 * {@value FrameHandler#ACTIVATIONS} (records written), {@value DeadLetters#RECORDS_METER}
 * {@code {stage=inference-worker}}, counted when their transaction commits; timer
 * {@value FrameHandler#INFERENCE} per batch {@code session.run}; Kafka client metrics of the
 * stimuli consumer and the transactional producer through Micrometer's {@link KafkaClientMetrics}
 * (the probe reader, a third client that reads one small compacted topic, is left out).
 *
 * <h2>Inside</h2>
 * This class builds the clients and holds the life cycle; the package-private
 * {@code TransactionalLoop} runs the transactions (begin, offsets, commit and its retries, abort
 * and rewind, rebalance, closing the clients), {@link FrameHandler} turns a poll batch into
 * activations and dead letters, and {@link DeadLetterSink} sizes and sends the dead letters.
 *
 * <pre>{@code
 * try (InferenceWorker w = new InferenceWorker("127.0.0.1:9092", WorkerSettings.defaults(model), registry)) {
 *   w.start();                                  // or run() on a thread of the caller's
 *   w.awaitRunning(Duration.ofSeconds(30));
 *   ...
 * } // close(): finishes the transaction in flight, then stops
 * }</pre>
 */
public final class InferenceWorker implements TagscopeService, Runnable {
  /** Stage name on dead letters and the {@value DeadLetters#RECORDS_METER} meter. */
  public static final String STAGE = "inference-worker";

  /**
   * Counter of stimulus frames turned into activations (committed): {@link FrameHandler}'s name,
   * published here for callers outside the module (the demo's per-stage throughput).
   */
  public static final String FRAMES_METER = FrameHandler.FRAMES;

  /**
   * Counter of activation records written (committed), one per tapped layer per run of consecutive
   * frames of one image: {@link FrameHandler}'s name, published here for callers outside the module.
   */
  public static final String ACTIVATIONS_METER = FrameHandler.ACTIVATIONS;

  /** Timer of one model run over a batch of frames: {@link FrameHandler}'s name, published here for the benchmark. */
  public static final String INFERENCE_METER = FrameHandler.INFERENCE;

  /** Smallest size dead letters are cut to, in bytes; the value is {@link DeadLetterSink}'s, named here for the docs and tests. */
  static final int MIN_DEAD_LETTER_BYTES = DeadLetterSink.MIN_DEAD_LETTER_BYTES;

  /** Counter of model swaps, tagged {@code outcome}: swapped, unchanged, refused, failed, superseded. */
  public static final String MODEL_SWAPS_METER = ModelSwapper.SWAPS;

  /** Gauge (value 1) tagged with the model and the version the worker runs now. */
  public static final String MODEL_VERSION_METER = ModelSwapper.VERSION;

  private final WorkerSettings settings;
  private final TransactionalLoop loop;
  private final DeadLetterSink deadLetters;
  private final ModelSwapper models;
  /** Watches the model file, when {@link WorkerSettings#modelWatch()} is set; else null. */
  private final ModelWatcher watcher;

  private final AtomicBoolean started = new AtomicBoolean();
  private final AtomicBoolean closed = new AtomicBoolean();
  /** Set when {@link #run()} has returned, however it ended. */
  private volatile boolean finished;
  /** The thread {@link #start()} made, or null when the caller runs {@link #run()} itself. */
  private volatile Thread thread;

  /**
   * Loads the model from the settings and creates the Kafka clients (no connection is made
   * before {@link #run()}).
   *
   * @param bootstrapServers Kafka {@code bootstrap.servers}
   * @param settings worker settings
   * @param registry where meters are registered
   * @throws IllegalArgumentException when the settings or the model are invalid (see
   *     {@link ActivationModel#load(ModelConfig)}), or a client override is invalid or sets a
   *     pinned Kafka setting ({@link KafkaClientPolicy}; the message names the key)
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
   * @throws IllegalArgumentException when a client override is invalid or sets a pinned Kafka
   *     setting ({@link KafkaClientPolicy}; the message names the key)
   */
  public InferenceWorker(String bootstrapServers, WorkerSettings settings, ActivationModel model, MeterRegistry registry) {
    this(bootstrapServers, settings, model, false, registry, UnaryOperator.identity());
  }

  /**
   * Test seam: as {@link #InferenceWorker(String, WorkerSettings, ActivationModel, MeterRegistry)},
   * with the transactional producer passed through {@code producerWrapper} (for example to make
   * a call time out the way a broker that does not answer would).
   *
   * @param bootstrapServers Kafka {@code bootstrap.servers}
   * @param settings worker settings (Kafka and batching parts)
   * @param model a loaded model, kept by the caller
   * @param registry where meters are registered
   * @param producerWrapper given the transactional producer, returns the one the worker uses
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
    Objects.requireNonNull(model, "model");
    Objects.requireNonNull(registry, "registry");
    String clientBase = "tagscope-inference-worker-" + settings.instanceId();
    KafkaConsumer<byte[], byte[]> stimuliConsumer = null;
    Producer<byte[], byte[]> txProducer = null;
    Map<String, Object> producerProps;
    ProbeCache probes;
    try {
      stimuliConsumer = new KafkaConsumer<>(consumerProps(bootstrapServers, clientBase + "-stimuli", true, model.name()),
          new ByteArrayDeserializer(), new ByteArrayDeserializer());
      producerProps = producerProps(bootstrapServers, clientBase + "-producer", model.name());
      txProducer = Objects.requireNonNull(producerWrapper.apply(new KafkaProducer<>(producerProps,
          new ByteArraySerializer(), new ByteArraySerializer())), "producerWrapper result");
      probes = new ProbeCache(new KafkaConsumer<>(consumerProps(bootstrapServers, clientBase + "-probes", false, model.name()),
          new ByteArrayDeserializer(), new ByteArrayDeserializer()), Duration.ofSeconds(10));
    } catch (KafkaException | PinnedSettingException e) {
      // close what was already built: a producer owns an I/O thread, a consumer its sockets and metrics
      if (txProducer != null) {
        TransactionalLoop.closeQuietly(txProducer::close, "producer");
      }
      if (stimuliConsumer != null) {
        TransactionalLoop.closeQuietly(stimuliConsumer::close, "stimuli consumer");
      }
      if (ownsModel) {
        model.close();
      }
      throw new IllegalArgumentException("invalid Kafka client configuration: " + e.getMessage(), e);
    }
    this.deadLetters = new DeadLetterSink(txProducer, producerProps, STAGE, registry);
    Producer<byte[], byte[]> producer = txProducer;
    this.models = new ModelSwapper(model, ownsModel, settings.modelConfig(),
        m -> new FrameHandler(m, producer, probes, deadLetters, settings.batchSize(), registry), registry);
    this.loop = new TransactionalLoop(settings, () -> models.active().model(), stimuliConsumer, txProducer, probes,
        registry);
    this.watcher = settings.modelWatch() == null ? null
        : new ModelWatcher(settings.modelPath(), settings.modelWatch(), models, model.name());
  }

  /** The stimuli consumer (grouped) or the probe reader's (no group); pinned settings from {@link KafkaClientPolicy}. */
  private Map<String, Object> consumerProps(String bootstrap, String clientId, boolean grouped, String modelName) {
    KafkaClientPolicy.Builder b = KafkaClientPolicy.readCommittedConsumer(grouped ? settings.groupIdFor(modelName) : null)
        .bootstrapServers(bootstrap)
        .set(ConsumerConfig.CLIENT_ID_CONFIG, clientId)
        .set(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    if (grouped) {
      b.set(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, settings.maxPollRecords());
    }
    return b.overrides(settings.clientOverrides()).build();
  }

  private Map<String, Object> producerProps(String bootstrap, String clientId, String modelName) {
    return KafkaClientPolicy.transactionalProducer(settings.transactionalIdFor(modelName))
        .bootstrapServers(bootstrap)
        .set(ProducerConfig.CLIENT_ID_CONFIG, clientId)
        .set(ProducerConfig.LINGER_MS_CONFIG, 5)
        .overrides(settings.clientOverrides()).build();
  }

  /**
   * The model this worker runs now. After a swap this is the new model, and the one it replaced is
   * closed when this worker loaded it (a model passed to the constructor is left to its caller).
   *
   * @return the model
   */
  public ActivationModel model() {
    return models.active().model();
  }

  /**
   * Replaces the model while the worker runs (a hot swap): loads {@code modelFile} with this worker's
   * model settings and the running model's taps, on the caller's thread and outside any transaction,
   * checks it, and queues it; the poll thread switches to it between two transactions (within one
   * poll timeout, with or without traffic), so no transaction, and no record, mixes versions. A file
   * whose version is the running one is not loaded. The model watch ({@link WorkerSettings#modelWatch()})
   * calls this when the watched file changes.
   *
   * <pre>{@code
   * String v = worker.swapModel(Path.of("models/fmnist-resnet32-v2.onnx")).get(30, TimeUnit.SECONDS);
   * }</pre>
   *
   * @param modelFile the new model file, its card {@code <model>.json} beside it
   * @return completed with the new version once the poll thread has switched to it (at once when the
   *     version is already running); completed exceptionally when a later swap supersedes this one
   *     before the switch, or the worker closes first
   * @throws IllegalArgumentException when the file does not load, or the model is refused: another
   *     model name, or other taps (a tap missing, or its filter count changed); the old model is kept,
   *     and the message says why and what to do
   * @throws IllegalStateException when the worker is closed
   */
  public CompletableFuture<String> swapModel(Path modelFile) {
    Objects.requireNonNull(modelFile, "modelFile");
    return models.swap(modelFile, () -> true);
  }

  /**
   * Test seam: runs on the poll thread right before each {@code commitTransaction}; a
   * {@link KafkaException} thrown here fails the transaction like a broker error would.
   *
   * @param hook the action
   */
  void beforeCommitForTests(Runnable hook) {
    loop.beforeCommitForTests(hook);
  }

  /**
   * Whether {@link #run()} is in its poll loop.
   *
   * @return true while running
   */
  public boolean isRunning() {
    return loop.isRunning();
  }

  /**
   * Why the worker stopped on its own (fenced, fatal Kafka error), if it did.
   *
   * @return the cause, empty after a normal stop or while running
   */
  public Optional<Throwable> failure() {
    return loop.failure();
  }

  /**
   * Initialises transactions, loads the probe specs, subscribes to {@code tagscope.stimuli} and
   * processes frames until {@link #close()}. Runs on the caller's thread; call once. Errors that
   * stop the worker (see the class docs) are not thrown but kept in {@link #failure()}; a
   * {@link CommitTimeoutException} there means a commit kept timing out.
   *
   * @throws IllegalStateException when called twice (after {@link #close()} it returns at once)
   */
  @Override
  public void run() {
    if (!started.compareAndSet(false, true)) {
      throw new IllegalStateException("an InferenceWorker runs once; create a new one to start again");
    }
    runLoop();
  }

  /** The loop itself; returns quietly when {@link #close()} came before it started. */
  private void runLoop() {
    try {
      if (watcher != null) {
        watcher.start();
      }
      loop.run(models::switchIfPending, deadLetters::learnLimit, records -> models.active().frames().handle(records));
    } finally {
      finished = true;
    }
  }

  /**
   * The service name.
   *
   * @return {@code "worker"}
   */
  @Override
  public String name() {
    return "worker";
  }

  /**
   * Runs {@link #run()} on a thread of its own, {@code tagscope-worker-<model>}.
   *
   * @return this worker
   * @throws IllegalStateException when already started or closed
   */
  @Override
  public synchronized InferenceWorker start() {
    if (closed.get()) {
      throw new IllegalStateException("the worker is closed");
    }
    if (!started.compareAndSet(false, true)) {
      throw new IllegalStateException("the worker is already started");
    }
    Thread t = new Thread(this::runLoop, "tagscope-worker-" + models.active().model().name());
    thread = t;
    t.start();
    return this;
  }

  /**
   * Waits until the poll loop polls (transactions initialised, probe specs loaded, stimuli subscribed).
   *
   * @param timeout longest wait
   * @return true once the loop runs, false when the time ran out or the worker ended first
   * @throws InterruptedException when interrupted
   * @throws IllegalStateException before {@link #start()} or {@link #run()}
   */
  @Override
  public boolean awaitRunning(Duration timeout) throws InterruptedException {
    if (thread == null && !started.get()) {
      throw new IllegalStateException("not started: call start() first");
    }
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!loop.isReady()) {
      if (finished || System.nanoTime() >= deadline) {
        return false;
      }
      Thread.sleep(10);
    }
    return true;
  }

  /**
   * Whether the worker ended: it stopped on a failure, or it was closed.
   *
   * @return true once {@link #run()} has returned
   */
  @Override
  public boolean isFinished() {
    return finished;
  }

  /**
   * Stops the worker: the poll loop finishes the transaction in flight (or aborts it if a
   * blocking call is woken), leaves the group and closes the clients. Waits up to 30 s for
   * {@link #run()} to return. Closes the model when this worker loaded it. Idempotent.
   */
  @Override
  public void close() {
    loop.stop();
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    if (started.get()) {
      loop.awaitStop();
    } else {
      loop.closeClients();
    }
    if (watcher != null) {
      watcher.close();
    }
    models.close();
    if (loop.clientsClosed() && !loop.isRunning()) {
      models.closeActive();
    }
    Thread t = thread;
    if (t != null) {
      try {
        t.join(10_000); // the loop has stopped (awaitStop above); the thread only returns from run()
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
