package dev.tagscope.launcher;

import dev.tagscope.producer.Image;
import dev.tagscope.producer.ProducerService;
import dev.tagscope.schemas.Topics;
import dev.tagscope.service.KafkaClientPolicy;
import dev.tagscope.spectral.SpectralService;
import dev.tagscope.tagging.ProbePlan;
import dev.tagscope.worker.ActivationModel;
import dev.tagscope.worker.InferenceWorker;
import dev.tagscope.worker.TappedLayer;
import dev.tagscope.worker.WorkerSettings;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.MemberDescription;
import org.apache.kafka.common.GroupState;
import org.apache.kafka.common.utils.Utils;

/**
 * Scale-out the Kafka way, in one JVM: one cluster, Tagscope's topics with P partitions, N
 * inference workers in one consumer group (a {@code transactional.id} each), M instances of the
 * spectral-stream Kafka Streams application (one {@code application.id}, a state folder each), and
 * several probes published at once; {@link #run} returns once every window of every probe is back
 * on {@code tagscope.tag-responses}. The scenario of {@code ScaleOutIntegrationTest} (every probe
 * completes, nothing lost or doubled, the same tag responses as one worker and one Streams
 * instance) and of {@code tagscope bench --scale-out} (how long it takes on 1 + 1 and 2 + 2).
 *
 * <p>Scale-out needs nothing of Tagscope's own: a probe's stimuli share one partition (key
 * probeId), so one worker at a time infers a probe, in frame order; a layer's activations share one
 * partition (key probeId/layer), so one Streams task holds that layer's frame buffer.
 *
 * <pre>{@code
 * try (ScaleOut s = ScaleOut.load(WorkerSettings.defaults(model).withLayers(ScaleOut.LAYERS), 2)) {
 *   List<ScaleOut.Probe> probes = s.probes(images, 4);
 *   ScaleOut.Result r = s.run(bootstrap, new ScaleOut.Instances(4, 2, 2), probes, Duration.ofMinutes(2));
 * }
 * }</pre>
 */
final class ScaleOut implements AutoCloseable {
  /** Probes published at once. */
  static final int PROBES = 4;
  /** Images per probe (each probe its own images). */
  static final int IMAGES_PER_PROBE = 3;
  /** The bundled model's taps used by default: its first convolution and its deepest block. */
  static final String LAYERS = "conv1,layer3.4";
  /** Stimulus frames per second of the probes. */
  static final double FPS = 120;
  /** FFT window, frames: 6 and 7.5 Hz fall on bins 4 and 5 (bin width 1.5 Hz). */
  static final int WINDOW = 80;
  /** Frames between window starts. */
  static final int HOP = 40;
  /** Frames each image is shown: windows start at imageFrame 0, 40 and 80. */
  static final int FRAMES_PER_IMAGE = 160;

  private final WorkerSettings settings;
  private final List<ActivationModel> models;

  /**
   * How many instances of each stage run, and the partitions of every topic.
   *
   * @param partitions partitions of each Tagscope topic (at least 1)
   * @param workers inference workers in the consumer group (at least 1)
   * @param streams spectral-stream instances of the Streams application (at least 1)
   */
  record Instances(int partitions, int workers, int streams) {
    /** @throws IllegalArgumentException naming the first field below 1 */
    Instances {
      String low = partitions < 1 ? "partitions" : workers < 1 ? "workers" : streams < 1 ? "streams" : null;
      if (low != null) {
        throw new IllegalArgumentException(low + " must be at least 1, got " + partitions + " partitions, " + workers
            + " workers, " + streams + " Streams instances");
      }
    }

    @Override
    public String toString() {
      return workers + (workers == 1 ? " worker + " : " workers + ") + streams + " Streams instance" + (streams == 1 ? "" : "s")
          + ", " + partitions + (partitions == 1 ? " partition" : " partitions");
    }
  }

  /**
   * One probe: its plan and the images it shows.
   *
   * @param plan the built plan
   * @param images its images, in order
   */
  record Probe(ProbePlan plan, List<Image> images) {
    /** @return windows the probe yields: images x windows per image x layers */
    long expectedWindows() {
      return (long) images.size() * plan.geometry().windowsPerImage() * plan.spec().getLayers().size();
    }
  }

  /**
   * What a run took and who did the work.
   *
   * @param seconds from the first producer's start to the last window back on the tag-responses topic, s
   * @param frames stimulus frames published, all probes
   * @param windows windows collected from the tag-responses topic
   * @param workerFrames per worker, frames it inferred and committed ({@value InferenceWorker#FRAMES_METER})
   * @param streamsRecords per Streams instance, activation records it consumed ({@value SpectralService#FRAMES_METER})
   */
  record Result(double seconds, long frames, long windows, List<Double> workerFrames, List<Double> streamsRecords) {}

  private ScaleOut(WorkerSettings settings, List<ActivationModel> models) {
    this.settings = settings;
    this.models = models;
  }

  /**
   * Loads one model per worker, so that no two workers share an ONNX Runtime session.
   *
   * @param settings the workers' settings (model, taps, batch); intra-op threads 0 means the cores
   *     divided among {@code maxWorkers}, at least 1 each, so that the workers do not overbook the
   *     cores
   * @param maxWorkers the most workers a {@link #run} will use
   * @return the loaded models; close to release them
   * @throws IllegalArgumentException when {@code maxWorkers < 1} or the model cannot be loaded
   */
  static ScaleOut load(WorkerSettings settings, int maxWorkers) {
    if (maxWorkers < 1) {
      throw new IllegalArgumentException("maxWorkers must be at least 1, got " + maxWorkers);
    }
    int threads = settings.intraOpThreads() > 0 ? settings.intraOpThreads()
        : Math.max(1, Runtime.getRuntime().availableProcessors() / maxWorkers);
    WorkerSettings each = settings.withIntraOpThreads(threads);
    List<ActivationModel> models = new ArrayList<>();
    try {
      for (int i = 0; i < maxWorkers; i++) {
        models.add(ActivationModel.load(each.modelConfig()));
      }
    } catch (RuntimeException e) {
      models.forEach(ActivationModel::close);
      throw e;
    }
    return new ScaleOut(each, models);
  }

  /** @return ONNX Runtime intra-op threads of each worker's model */
  int threadsPerWorker() {
    return settings.intraOpThreads();
  }

  /** @return the models' name, as the probes and the worker group carry it */
  String modelName() {
    return models.get(0).name();
  }

  /** @return the tapped layers, in model order */
  List<String> layers() {
    return models.get(0).tappedLayers().stream().map(TappedLayer::name).toList();
  }

  /**
   * The {@value #PROBES} probes: probe {@code k} shows images {@code k*n .. k*n+n-1} of
   * {@code images} ({@code n} = {@value #IMAGES_PER_PROBE}), 6 and 7.5 Hz on the left and right
   * halves at {@value #FPS} fps, windows of {@value #WINDOW} frames every {@value #HOP} frames,
   * {@value #FRAMES_PER_IMAGE} frames per image (3 windows), harmonics and IM up to order 2, every
   * tapped layer. The probe ids are chosen so that their stimuli land on distinct partitions of a
   * {@code partitions}-partition topic ({@link #probeIds}): with ids drawn at random two probes
   * could share a partition, and one worker of two would get nothing to do.
   *
   * @param images at least {@value #PROBES} x {@value #IMAGES_PER_PROBE} images of one shape
   * @param partitions the partitions the probes are spread over
   * @return the probes, plans built (one stimulus time origin for all)
   * @throws IllegalArgumentException when there are too few images
   */
  List<Probe> probes(List<Image> images, int partitions) {
    if (images.size() < PROBES * IMAGES_PER_PROBE) {
      throw new IllegalArgumentException("the scale-out probes need " + PROBES * IMAGES_PER_PROBE + " images, got " + images.size());
    }
    long start = System.currentTimeMillis();
    List<Probe> out = new ArrayList<>();
    List<String> ids = probeIds(PROBES, partitions);
    for (int k = 0; k < PROBES; k++) {
      List<Image> own = List.copyOf(images.subList(k * IMAGES_PER_PROBE, (k + 1) * IMAGES_PER_PROBE));
      Image first = own.get(0);
      ProbePlan plan = ProbePlan.builder().probeId(ids.get(k)).model(modelName()).layers(layers()).startTimeMs(start)
          .fps(FPS).windowFrames(WINDOW).hopFrames(HOP).framesPerImage(FRAMES_PER_IMAGE).maxHarmonic(2).maxImOrder(2)
          .imageShape(first.channels(), first.height(), first.width()).imageCount(own.size()).build();
      out.add(new Probe(plan, own));
    }
    return out;
  }

  /**
   * Probe ids {@code scaleout-<i>} whose records the producer's default partitioner (murmur2 of the
   * key's UTF-8 bytes, modulo the partitions) puts on distinct partitions, as far as there are
   * partitions; then round again.
   *
   * @param count ids wanted
   * @param partitions partitions of the stimuli topic
   * @return the ids, in the order found
   */
  static List<String> probeIds(int count, int partitions) {
    List<String> ids = new ArrayList<>();
    Set<Integer> used = new HashSet<>();
    for (int i = 0; ids.size() < count; i++) {
      if (used.size() == partitions) {
        used.clear();
      }
      String id = "scaleout-" + i;
      if (used.add(partition(id, partitions))) {
        ids.add(id);
      }
    }
    return ids;
  }

  /**
   * The partition the producer's default partitioner gives a string key.
   *
   * @param key the record key
   * @param partitions partitions of the topic
   * @return {@code toPositive(murmur2(utf8(key))) % partitions}
   */
  static int partition(String key, int partitions) {
    return Utils.toPositive(Utils.murmur2(key.getBytes(StandardCharsets.UTF_8))) % partitions;
  }

  /**
   * Creates the topics (when missing) with {@code n.partitions()} partitions, starts
   * {@code n.streams()} Streams instances and {@code n.workers()} workers, waits until both groups
   * are stable with every member holding partitions, publishes every probe at once (one producer
   * each) and waits until all their windows are back.
   *
   * @param bootstrap the cluster; topics that exist keep their partitions
   * @param n how many of each, and the partitions
   * @param probes the probes ({@link #probes})
   * @param stall longest wait without a new window, and for each group to settle
   * @return the timing and the per-instance counts
   * @throws IllegalArgumentException when {@code n.workers()} exceeds the models loaded
   * @throws IllegalStateException when a service fails, a group does not settle, or windows stall
   * @throws InterruptedException when interrupted
   */
  Result run(String bootstrap, Instances n, List<Probe> probes, Duration stall) throws InterruptedException {
    return run(bootstrap, n, probes, stall, false);
  }

  /**
   * As {@link #run(String, Instances, List, Duration)}; with {@code scaleWhileRunning} only one
   * worker and one Streams instance run when the probes start, and the others join right after (the
   * workers first), so both groups rebalance while frames flow. How much work a joiner gets then
   * depends on how fast it joins.
   *
   * @param bootstrap the cluster; topics that exist keep their partitions
   * @param n how many of each, and the partitions
   * @param probes the probes ({@link #probes})
   * @param stall longest wait without a new window, and for each group to settle
   * @param scaleWhileRunning start the second and later instances while the probes run
   * @return the timing and the per-instance counts
   * @throws IllegalArgumentException when {@code n.workers()} exceeds the models loaded
   * @throws IllegalStateException when a service fails, a group does not settle, or windows stall
   * @throws InterruptedException when interrupted
   */
  Result run(String bootstrap, Instances n, List<Probe> probes, Duration stall, boolean scaleWhileRunning)
      throws InterruptedException {
    if (n.workers() > models.size()) {
      throw new IllegalArgumentException("workers: " + n.workers() + " asked, " + models.size() + " models loaded");
    }
    List<MeterRegistry> workerRegistries = registries(n.workers());
    List<MeterRegistry> streamsRegistries = registries(n.streams());
    MeterRegistry producers = new SimpleMeterRegistry();
    List<MeterRegistry> all = new ArrayList<>(workerRegistries);
    all.addAll(streamsRegistries);
    all.add(producers);
    StageThroughput throughput = new StageThroughput(all, StageThroughput.pipelineStages(layers().size()));
    try (Admin admin = Admin.create(KafkaClientPolicy.admin().bootstrapServers(bootstrap).build());
         ServiceRunner runner = ServiceRunner.install()) {
      Topics.createAll(admin, n.partitions(), (short) 1);
      int first = scaleWhileRunning ? 1 : Integer.MAX_VALUE;
      startInstances(runner, bootstrap, 0, Math.min(first, n.streams()), streamsRegistries, 0, Math.min(first, n.workers()),
          workerRegistries, stall);
      if (!scaleWhileRunning) {
        awaitGroup(admin, SpectralService.APPLICATION_ID, n.streams(), stall);
        awaitGroup(admin, settings.groupIdFor(modelName()), n.workers(), stall);
      }
      List<TagResponseCollector> collectors = new ArrayList<>();
      long t0 = System.nanoTime();
      long windows = 0;
      long frames = 0;
      try {
        for (Probe p : probes) {
          collectors.add(new TagResponseCollector(bootstrap, Map.of(), p.plan().probeId(), p.plan().startTimeMs()));
        }
        for (Probe p : probes) {
          runner.start(ProducerService.builder().bootstrapServers(bootstrap).images(p.images()).plan(p.plan())
              .registry(producers).build());
          frames += p.plan().totalFrames();
        }
        if (scaleWhileRunning) { // the workers first: they join faster, and work is left for them
          startInstances(runner, bootstrap, 1, 1, streamsRegistries, 1, n.workers(), workerRegistries, stall);
          startInstances(runner, bootstrap, 1, n.streams(), streamsRegistries, 1, 1, workerRegistries, stall);
        }
        for (int k = 0; k < probes.size(); k++) {
          WindowWait.await(collectors.get(k), probes.get(k).expectedWindows(), throughput, runner, stall, false);
          windows += collectors.get(k).windows();
        }
      } finally {
        collectors.forEach(TagResponseCollector::close);
      }
      double seconds = (System.nanoTime() - t0) / 1e9;
      return new Result(seconds, frames, windows, counts(workerRegistries, InferenceWorker.FRAMES_METER),
          counts(streamsRegistries, SpectralService.FRAMES_METER));
    }
  }

  /** Starts Streams instances {@code s0..s1-1}, then workers {@code w0..w1-1}, each with its registry. */
  private void startInstances(ServiceRunner runner, String bootstrap, int s0, int s1, List<MeterRegistry> streamsRegistries,
                              int w0, int w1, List<MeterRegistry> workerRegistries, Duration timeout) throws InterruptedException {
    for (int i = s0; i < s1; i++) {
      // each instance makes a state folder of its own (SpectralService's default), deleted on close
      runner.start(new SpectralService(bootstrap, Map.of(), streamsRegistries.get(i)), timeout);
    }
    for (int i = w0; i < w1; i++) {
      // distinct instance ids, hence distinct transactional ids: no worker fences another
      runner.start(new InferenceWorker(bootstrap, settings.withInstanceId("scaleout-" + i), models.get(i),
          workerRegistries.get(i)), timeout);
    }
  }

  private static List<MeterRegistry> registries(int n) {
    List<MeterRegistry> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      out.add(new SimpleMeterRegistry());
    }
    return out;
  }

  private static List<Double> counts(List<MeterRegistry> registries, String counter) {
    return registries.stream().map(r -> StageThroughput.total(r, counter)).toList();
  }

  /**
   * Waits until a consumer group is stable with {@code members} members that each hold partitions,
   * so that data published from then on is shared out rather than taken by the first member in.
   */
  private static void awaitGroup(Admin admin, String group, int members, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    String last = "not described yet";
    while (System.nanoTime() < deadline) {
      try {
        ConsumerGroupDescription d = admin.describeConsumerGroups(List.of(group)).describedGroups().get(group).get();
        List<Integer> held = d.members().stream().map(MemberDescription::assignment).map(a -> a.topicPartitions().size()).toList();
        if (d.groupState() == GroupState.STABLE && held.size() == members && held.stream().allMatch(h -> h > 0)) {
          return;
        }
        last = d.groupState() + ", partitions per member " + held;
      } catch (ExecutionException e) {
        last = e.getCause().toString();
      }
      Thread.sleep(100);
    }
    throw new IllegalStateException("group " + group + " did not settle with " + members + " members holding partitions within "
        + timeout.toSeconds() + " s (last: " + last + "); are there fewer partitions than instances?");
  }

  /** Closes the models. */
  @Override
  public void close() {
    models.forEach(ActivationModel::close);
  }
}
