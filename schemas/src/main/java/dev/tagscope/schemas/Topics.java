package dev.tagscope.schemas;

import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.serialization.Serdes;

/**
 * The typed registry of Tagscope's topics (DESIGN.md section 2). Every stage takes names
 * and serdes from here, never from string literals of its own.
 */
public final class Topics {
  private Topics() {}

  /** Days {@link #IMPORTANCE_HISTORY} keeps its buckets. */
  public static final int HISTORY_RETENTION_DAYS = 30;
  /** Days {@link #ALERTS} keeps its alerts. */
  public static final int ALERTS_RETENTION_DAYS = 90;

  /** Probe plans, compacted, key probeId. */
  public static final TopicSpec<String, ProbeSpec> PROBES =
      new TopicSpec<>("tagscope.probes", Serdes.String(), AvroSerde.of(ProbeSpec.class), true);
  /** Contrast-modulated frames, key probeId. */
  public static final TopicSpec<String, StimulusFrame> STIMULI =
      new TopicSpec<>("tagscope.stimuli", Serdes.String(), AvroSerde.of(StimulusFrame.class), false);
  /** Reduced layer responses, one per layer per frame, key probeId/layer. */
  public static final TopicSpec<String, ActivationFrame> ACTIVATIONS =
      new TopicSpec<>("tagscope.activations", Serdes.String(), AvroSerde.of(ActivationFrame.class), false);
  /** Per-window spectra and signal-bin measures, key probeId/layer. */
  public static final TopicSpec<String, TagResponse> TAG_RESPONSES =
      new TopicSpec<>("tagscope.tag-responses", Serdes.String(), AvroSerde.of(TagResponse.class), false);
  /** Running per-filter importance, compacted, key {@link #importanceKey model@version/layer}. */
  public static final TopicSpec<String, LayerImportance> IMPORTANCE =
      new TopicSpec<>("tagscope.importance", Serdes.String(), AvroSerde.of(LayerImportance.class), true);
  /**
   * Per-filter importance per (model, version, layer) and time bucket of stimulus time, with the
   * ranking's stability against the reference; key {@link #importanceKey model@version/layer}; kept
   * {@value #HISTORY_RETENTION_DAYS} days (by stimulus time).
   */
  public static final TopicSpec<String, ImportanceBucket> IMPORTANCE_HISTORY =
      new TopicSpec<>("tagscope.importance-history", Serdes.String(), AvroSerde.of(ImportanceBucket.class), false,
          java.time.Duration.ofDays(HISTORY_RETENTION_DAYS).toMillis());
  /** Rank-stability alerts, raised once per episode and cleared, key model/layer; kept {@value #ALERTS_RETENTION_DAYS} days. */
  public static final TopicSpec<String, RankAlert> ALERTS =
      new TopicSpec<>("tagscope.alerts", Serdes.String(), AvroSerde.of(RankAlert.class), false,
          java.time.Duration.ofDays(ALERTS_RETENTION_DAYS).toMillis());
  /**
   * One unmodulated source image per probe image, key {@code probeId + "/" + imageId} ({@link #probeImageKey});
   * the dashboard shows top examples, with their labels, from it. Kept {@value #HISTORY_RETENTION_DAYS} days, not
   * compacted: nearly every key is new (a continuous probe's cycles, every sampled live request), so compaction
   * would keep every image for ever.
   */
  public static final TopicSpec<String, ProbeImage> PROBE_IMAGES =
      new TopicSpec<>("tagscope.probe-images", Serdes.String(), AvroSerde.of(ProbeImage.class), false,
          java.time.Duration.ofDays(HISTORY_RETENTION_DAYS).toMillis());

  /** Per filter the probed images that excite it most, key {@link #importanceKey}; compacted (the latest set wins). */
  public static final TopicSpec<String, TopExamples> TOP_EXAMPLES =
      new TopicSpec<>("tagscope.top-examples", Serdes.String(), AvroSerde.of(TopExamples.class), true);

  /** Ranking validation per model/layer, written by {@code tagscope validate} (compacted; layer {@code *} = whole network). */
  public static final TopicSpec<String, LayerValidation> VALIDATION =
      new TopicSpec<>("tagscope.validation", Serdes.String(), AvroSerde.of(LayerValidation.class), true);

  /** Records a stage could not process, key = the original key bytes. */
  public static final TopicSpec<byte[], DeadLetter> DLQ =
      new TopicSpec<>("tagscope.dlq", Serdes.ByteArray(), AvroSerde.of(DeadLetter.class), false);

  /** All topics, in data-flow order. */
  public static final List<TopicSpec<?, ?>> ALL =
      List.of(PROBES, STIMULI, PROBE_IMAGES, ACTIVATIONS, TAG_RESPONSES, IMPORTANCE, IMPORTANCE_HISTORY, ALERTS,
          TOP_EXAMPLES, VALIDATION, DLQ);

  /**
   * Key of the activations and tag-responses topics.
   *
   * @return {@code probeId + "/" + layer}
   */
  public static String probeLayerKey(String probeId, String layer) {
    return probeId + "/" + layer;
  }

  /**
   * Key of the probe-images topic.
   *
   * @return {@code probeId + "/" + imageId}
   */
  public static String probeImageKey(String probeId, String imageId) {
    return probeId + "/" + imageId;
  }

  /**
   * Key of the validation and alerts topics, and of a model's layer across its versions.
   *
   * @return {@code model + "/" + layer}
   */
  public static String modelLayerKey(String model, String layer) {
    return model + "/" + layer;
  }

  /**
   * Key of the importance and importance-history topics: one model version's layer.
   *
   * @param model the model's name
   * @param version the model's version; null or empty when the workers did not say
   * @param layer the layer
   * @return {@code model + "@" + version + "/" + layer}, or {@code model + "/" + layer} without a version
   *     (the key records of workers that did not say had before versions existed)
   */
  public static String importanceKey(String model, String version, String layer) {
    return version == null || version.isEmpty() ? modelLayerKey(model, layer) : model + "@" + version + "/" + layer;
  }

  /**
   * Creates every missing topic; existing topics are left as they are.
   *
   * @param admin an admin client of the target cluster
   * @param partitions partitions for each new topic
   * @param replicationFactor replication factor for each new topic
   * @throws IllegalArgumentException when {@code partitions} or {@code replicationFactor} is below 1
   *     ({@link TopicSpec#checkLayout(int, short)}), before the cluster is asked
   * @throws IllegalStateException when the cluster refuses a creation, with the broker's reason
   * @throws InterruptedException when interrupted while waiting for the cluster
   */
  public static void createAll(Admin admin, int partitions, short replicationFactor) throws InterruptedException {
    TopicSpec.checkLayout(partitions, replicationFactor);
    try {
      Set<String> existing = admin.listTopics().names().get();
      List<NewTopic> missing = ALL.stream()
          .filter(t -> !existing.contains(t.name()))
          .map(t -> t.newTopic(partitions, replicationFactor))
          .collect(Collectors.toList());
      if (!missing.isEmpty()) {
        admin.createTopics(missing).all().get();
      }
    } catch (ExecutionException e) {
      if (!(e.getCause() instanceof org.apache.kafka.common.errors.TopicExistsException)) {
        throw new IllegalStateException("cannot create Tagscope topics: " + e.getCause().getMessage(), e.getCause());
      }
    }
  }
}
