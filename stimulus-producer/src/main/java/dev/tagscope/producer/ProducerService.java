package dev.tagscope.producer;

import dev.tagscope.schemas.Topics;
import dev.tagscope.service.KafkaClientPolicy;
import dev.tagscope.service.TagscopeService;
import dev.tagscope.tagging.ProbePlan;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.config.AbstractConfig;

/**
 * The stimulus producer as one call: validate the tagging plan, load the images, build the
 * full plan from their shape, publish. Usable standalone or from the launcher.
 *
 * <pre>{@code
 * ProducerService svc = ProducerService.builder()
 *     .bootstrapServers("127.0.0.1:9092")
 *     .source(Path.of("models/samples/fashion-mnist-test-images-idx3-ubyte.gz"))
 *     .images(ImageLoader.builder().limit(32))
 *     .plan(ProbePlan.builder().model("fmnist-resnet32").layout("halves-lr"))
 *     .paced(false)
 *     .build();
 * PublishSummary s = svc.run();   // another thread may call svc.stop()
 * }</pre>
 *
 * <p>The plan builder is completed with {@code imageShape} and {@code imageCount} from the loaded
 * images; every other plan setting (model, layout, frequencies, phases, modulation, fps, window,
 * hop, framesPerImage, harmonics, IM order, baseline, layers, reduction, probe id, start time,
 * continuous) is the caller's. The tagging part is checked before any image is read, and the
 * whole plan before anything is sent.
 *
 * <p><b>Live traffic.</b> With {@link Builder#liveTraffic(LiveTraffic)} the images are not loaded
 * but read, without end, from a topic of inference requests the deployment already has: sampled,
 * decoded and probed one by one, the bad ones dead-lettered, in transactions that also commit the
 * request offsets (see {@link LiveTraffic} for the request contract and {@link Sampling} for the
 * sampling rules). The plan builder must then carry the image shape requests must have
 * ({@code imageShape(C, H, W)}); it is made continuous, and no source is needed.
 *
 * <pre>{@code
 * ProducerService live = ProducerService.builder()
 *     .bootstrapServers("127.0.0.1:9092")
 *     .liveTraffic(LiveTraffic.of("inference.requests", Sampling.perMinute(30)).withInstanceId("pod-7"))
 *     .plan(ProbePlan.builder().model("fmnist-resnet32").imageShape(1, 28, 28))
 *     .build()
 *     .start();
 * }</pre>
 */
public final class ProducerService implements TagscopeService {
  /** The stage named on this service's dead letters ({@code tagscope.stage} header). */
  public static final String STAGE = "stimulus-producer";

  private final Map<String, Object> producerConfig;
  private final Path source;
  private final List<Image> preloaded;
  private List<Image> images;
  private final ImageLoader loader;
  private final ProbePlan.Builder plan;
  private final ProbePlan builtPlan;
  private final boolean paced;
  private final Duration maxLead;
  private final int createTopicsPartitions;
  private final MeterRegistry registry;
  private final ProgressListener progress;
  private final LiveTraffic liveTraffic;
  private volatile StimulusPublisher publisher;
  private volatile LiveTrafficPublisher livePublisher;
  private volatile boolean stopped;
  private volatile ProbePlan prepared;
  private volatile PublishSummary summary;
  private volatile Throwable failure;
  private volatile boolean finished;
  private volatile boolean closed;
  private Thread thread;

  private ProducerService(Builder b) {
    this.producerConfig = b.producerConfig;
    this.source = b.source;
    this.preloaded = b.images;
    this.loader = b.loader;
    this.plan = b.plan;
    this.builtPlan = b.builtPlan;
    this.paced = b.paced;
    this.maxLead = b.maxLead;
    this.createTopicsPartitions = b.createTopicsPartitions;
    this.registry = b.registry;
    this.progress = b.progress;
    this.liveTraffic = b.liveTraffic;
  }

  /** @return a builder; bootstrap servers, a source (or images) and a plan builder with a model are required */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * Runs the probe to its end (or until {@link #stop()}) on the caller's thread: the synchronous
   * form of {@link #start()} and {@link #summary()}.
   *
   * @return what was sent
   * @throws dev.tagscope.tagging.PlanException when the plan is invalid (nothing is sent)
   * @throws CorruptImageException when an image file is corrupt (nothing is sent)
   * @throws IOException when the source cannot be read
   * @throws IllegalStateException when topics cannot be created, or when already started
   * @throws org.apache.kafka.common.KafkaException when the cluster refuses or stays unreachable
   */
  public PublishSummary run() throws IOException {
    ProbePlan built = prepare();
    try {
      return publish(built);
    } finally {
      finished = true;
    }
  }

  /**
   * Validates the plan, loads the images, builds the full plan and creates the topics, then
   * publishes on a thread of its own, {@code tagscope-producer}. A bad plan, an unreadable
   * source or an unreachable cluster for topic creation fail here, before anything is sent.
   *
   * @return this service; {@link #plan()} is the built plan from now on
   * @throws dev.tagscope.tagging.PlanException when the plan is invalid
   * @throws UncheckedIOException when the source cannot be read ({@link CorruptImageException}
   *     as its cause for a corrupt image)
   * @throws IllegalStateException when already started or closed, or when topics cannot be created
   */
  @Override
  public synchronized ProducerService start() {
    if (closed) {
      throw new IllegalStateException("the producer service is closed");
    }
    ProbePlan built;
    try {
      built = prepare();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the images of " + source + ": " + e.getMessage(), e);
    }
    thread = new Thread(() -> {
      try {
        summary = publish(built);
      } catch (RuntimeException | Error e) {
        failure = e;
      } finally {
        finished = true;
      }
    }, "tagscope-producer");
    thread.start();
    return this;
  }

  private synchronized ProbePlan prepare() throws IOException {
    if (prepared != null) {
      throw new IllegalStateException("a ProducerService publishes once; build a new one for another probe");
    }
    ProbePlan built;
    List<Image> images = preloaded;
    if (builtPlan != null) {
      built = builtPlan;
    } else if (liveTraffic != null) {
      plan.checkTagging();
      built = plan.continuous(true).build();
    } else {
      plan.checkTagging();
      images = preloaded != null ? preloaded : loader.load(source);
      Image first = images.get(0);
      built = plan.imageShape(first.channels(), first.height(), first.width()).imageCount(images.size()).build();
    }
    if (createTopicsPartitions > 0) {
      try (Admin admin = Admin.create(KafkaClientPolicy.admin().overrides(adminConfig(producerConfig)).build())) {
        Topics.createAll(admin, createTopicsPartitions, (short) 1);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        stopped = true;
      }
    }
    this.images = images;
    prepared = built;
    return built;
  }

  private PublishSummary publish(ProbePlan built) {
    if (stopped) {
      return new PublishSummary(built.probeId(), 0, 0, 0, true);
    }
    if (liveTraffic != null) {
      try (LiveTrafficPublisher pub = new LiveTrafficPublisher(producerConfig, liveTraffic, registry)) {
        pub.maxLead(maxLead);
        livePublisher = pub;
        if (stopped) {
          pub.stop();
        }
        return pub.publish(built, paced, progress);
      } finally {
        livePublisher = null;
      }
    }
    try (StimulusPublisher pub = new StimulusPublisher(producerConfig, registry)) {
      pub.maxLead(maxLead);
      publisher = pub;
      if (stopped) {
        pub.stop();
      }
      return pub.publish(built, images, paced, progress);
    } finally {
      publisher = null;
    }
  }

  /**
   * The service name.
   *
   * @return {@code "producer"}
   */
  @Override
  public String name() {
    return "producer";
  }

  /**
   * The plan being published.
   *
   * @return the built plan (probe id, regions, frames), once {@link #start()} or {@link #run()}
   *     has prepared it
   * @throws IllegalStateException before that
   */
  public ProbePlan plan() {
    ProbePlan p = prepared;
    if (p == null) {
      throw new IllegalStateException("not started: call start() first");
    }
    return p;
  }

  /**
   * Waits until frames are being sent (or the probe already ended); for live traffic, until the
   * spec is published and the requests topic subscribed.
   *
   * @param timeout longest wait
   * @return true once publishing or finished without a failure
   * @throws InterruptedException when interrupted
   * @throws IllegalStateException before {@link #start()}
   */
  @Override
  public boolean awaitRunning(Duration timeout) throws InterruptedException {
    plan();
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!finished && !publishing()) {
      if (System.nanoTime() >= deadline) {
        return false;
      }
      Thread.sleep(10);
    }
    return failure == null;
  }

  private boolean publishing() {
    LiveTrafficPublisher l = livePublisher;
    return liveTraffic != null ? l != null && l.isReady() : publisher != null;
  }

  /**
   * Why the publication failed, if it did.
   *
   * @return the error (a {@code KafkaException} when the cluster refused or stayed unreachable)
   */
  @Override
  public Optional<Throwable> failure() {
    return Optional.ofNullable(failure);
  }

  /**
   * Whether the publication ended: every frame of a finite probe sent, stopped, or failed.
   *
   * @return true once it ended
   */
  @Override
  public boolean isFinished() {
    return finished;
  }

  /**
   * What was sent.
   *
   * @return the summary once the publication ended without a failure; empty before
   */
  public Optional<PublishSummary> summary() {
    return Optional.ofNullable(summary);
  }

  /**
   * Stops the publication after the frame in hand and waits (at most 30 s) until the publisher
   * has flushed and closed. Idempotent.
   */
  @Override
  public void close() {
    closed = true;
    stop();
    Thread t;
    synchronized (this) {
      t = thread;
    }
    if (t != null) {
      try {
        t.join(30_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /**
   * The producer settings that an Admin client also understands: bootstrap servers, security
   * ({@code security.protocol}, {@code sasl.*}, {@code ssl.*}), client id, timeouts, and config
   * providers with their {@code config.providers.<name>.*} settings, so that the topics are
   * created on a secured cluster with the same credentials the producer uses. Producer-only
   * settings (acks, serializers, batching, ...) are left out; Admin would only warn about them.
   *
   * @param producerConfig Kafka producer settings
   * @return a new map holding those of them whose name {@link AdminClientConfig#configNames()}
   *     lists, plus the {@code config.providers.} prefixed ones (which no config def lists)
   */
  static Map<String, Object> adminConfig(Map<String, ?> producerConfig) {
    Set<String> adminNames = AdminClientConfig.configNames();
    Map<String, Object> out = new HashMap<>();
    producerConfig.forEach((k, v) -> {
      if (adminNames.contains(k) || k.startsWith(AbstractConfig.CONFIG_PROVIDERS_CONFIG + ".")) {
        out.put(k, v);
      }
    });
    return out;
  }

  /** Asks a running {@link #run()} to end after the frame in hand; safe from any thread. */
  public void stop() {
    stopped = true;
    StimulusPublisher p = publisher;
    if (p != null) {
      p.stop();
    }
    LiveTrafficPublisher l = livePublisher;
    if (l != null) {
      l.stop();
    }
  }

  /** Settings of a {@link ProducerService}. */
  public static final class Builder {
    private final Map<String, Object> producerConfig = new HashMap<>();
    private Path source;
    private List<Image> images;
    private ImageLoader loader = ImageLoader.builder().build();
    private ProbePlan.Builder plan;
    private ProbePlan builtPlan;
    private boolean paced;
    private Duration maxLead = StimulusPublisher.DEFAULT_MAX_LEAD;
    private int createTopicsPartitions;
    private MeterRegistry registry = new SimpleMeterRegistry();
    private ProgressListener progress = ProgressListener.NONE;
    private LiveTraffic liveTraffic;

    private Builder() {}

    /**
     * Probes live inference requests instead of loaded images: no source or images are then given,
     * and the plan builder must carry the requests' image shape; the plan is made continuous.
     * {@link #producerConfig(Map)} goes to the requests consumer as well (connection, security).
     *
     * @param traffic the requests topic, consumer group, instance id and sampling; null for none
     * @return this
     */
    public Builder liveTraffic(LiveTraffic traffic) {
      this.liveTraffic = traffic;
      return this;
    }

    /**
     * Sets {@code bootstrapServers}.
     *
     * @param servers {@code host:port[,...]} of the Kafka cluster (required)
     * @return this
     */
    public Builder bootstrapServers(String servers) {
      producerConfig.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, servers);
      return this;
    }

    /**
     * @param config extra Kafka producer settings, winning over the publisher's defaults but not
     *     over the pinned ones ({@link KafkaClientPolicy}, checked by {@link #build()}); those an
     *     Admin client also knows (security, sasl, ssl, timeouts) are used as well for
     *     {@link #createTopics(int)}
     * @return this
     */
    public Builder producerConfig(Map<String, ?> config) {
      producerConfig.putAll(config);
      return this;
    }

    /**
     * Sets {@code source}.
     *
     * @param source IDX file, folder of IDX files, folder tree of PNG/JPEG, or one image file
     * @return this
     */
    public Builder source(Path source) {
      this.source = source;
      return this;
    }

    /**
     * Sets {@code images}.
     *
     * @param images images already loaded (instead of a source), all of one shape
     * @return this
     */
    public Builder images(List<Image> images) {
      this.images = images == null ? null : List.copyOf(images);
      return this;
    }

    /**
     * Sets {@code images}.
     *
     * @param loader how to load the source (limit, target channels and size)
     * @return this
     */
    public Builder images(ImageLoader.Builder loader) {
      this.loader = loader.build();
      return this;
    }

    /**
     * Sets the tagging plan to complete from the images.
     *
     * @param plan the tagging plan; image shape and count are filled in from the images
     * @return this
     */
    public Builder plan(ProbePlan.Builder plan) {
      this.plan = plan;
      this.builtPlan = null;
      return this;
    }

    /**
     * Sets a plan already built for the given {@link #images(List)}.
     *
     * @param plan the validated plan; its image shape and count must be those of the images
     * @return this
     */
    public Builder plan(ProbePlan plan) {
      this.builtPlan = plan;
      this.plan = null;
      return this;
    }

    /**
     * Sets {@code paced}.
     *
     * @param paced send in real time at the plan's fps (default false: as fast as possible)
     * @return this
     */
    public Builder paced(boolean paced) {
      this.paced = paced;
      return this;
    }

    /**
     * @param lead unpaced: the most stimulus time may run ahead of the wall clock (default 50 min,
     *     see {@link StimulusPublisher#maxLead(Duration)})
     * @return this
     * @throws IllegalArgumentException when negative
     */
    public Builder maxLead(Duration lead) {
      if (lead == null || lead.isNegative()) {
        throw new IllegalArgumentException("maxLead must be a duration >= 0 (default 50 min), got " + lead);
      }
      this.maxLead = lead;
      return this;
    }

    /**
     * @param partitions when &gt; 0, create missing Tagscope topics with this many partitions
     *     (replication 1) first, with an Admin client that carries the connection and security
     *     settings of {@link #producerConfig(Map)}
     * @return this
     */
    public Builder createTopics(int partitions) {
      this.createTopicsPartitions = partitions;
      return this;
    }

    /**
     * Sets {@code registry}.
     *
     * @param registry where meters go (default: a private SimpleMeterRegistry)
     * @return this
     */
    public Builder registry(MeterRegistry registry) {
      this.registry = Objects.requireNonNull(registry, "registry");
      return this;
    }

    /**
     * Sets {@code progress}.
     *
     * @param progress told after every frame
     * @return this
     */
    public Builder progress(ProgressListener progress) {
      this.progress = progress == null ? ProgressListener.NONE : progress;
      return this;
    }

    /**
     * @return the service
     * @throws IllegalArgumentException naming the missing setting: bootstrapServers, source/images, plan
     * @throws dev.tagscope.service.PinnedSettingException when {@link #producerConfig(Map)} changes
     *     a setting exactly-once depends on ({@link KafkaClientPolicy}), naming it
     */
    public ProducerService build() {
      Object servers = producerConfig.get(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG);
      if (servers == null || servers.toString().isBlank()) {
        throw new IllegalArgumentException("bootstrapServers: give the Kafka cluster's host:port list, e.g. 127.0.0.1:9092");
      }
      if (liveTraffic != null) {
        if (source != null || images != null) {
          throw new IllegalArgumentException("liveTraffic: the images come from " + liveTraffic.requestsTopic()
              + "; give no source or images as well");
        }
        if (builtPlan != null && !builtPlan.continuous()) {
          throw new IllegalArgumentException("plan: a live-traffic probe has no end; build it with continuous(true), or give"
              + " a ProbePlan.Builder");
        }
      } else if (source == null && (images == null || images.isEmpty())) {
        throw new IllegalArgumentException("source: give an IDX file, a folder of IDX files or of PNG/JPEG images, e.g."
            + " models/samples/fashion-mnist-test-images-idx3-ubyte.gz");
      }
      if (plan == null && builtPlan == null) {
        throw new IllegalArgumentException("plan: give a ProbePlan.builder() with at least the model name");
      }
      if (builtPlan != null && liveTraffic == null && (images == null || images.isEmpty())) {
        throw new IllegalArgumentException("images: a built plan needs the loaded images it was built for; give images(...),"
            + " or a ProbePlan.Builder to complete from the source");
      }
      if (createTopicsPartitions < 0) {
        throw new IllegalArgumentException("createTopics: partitions must be >= 0 (0 = do not create), got " + createTopicsPartitions);
      }
      KafkaClientPolicy.checkOverrides(producerConfig); // refused here, before topics are created or images read
      return new ProducerService(this);
    }
  }
}
