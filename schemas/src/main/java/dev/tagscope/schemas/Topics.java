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
  /** Running per-filter importance, compacted, key model/layer. */
  public static final TopicSpec<String, LayerImportance> IMPORTANCE =
      new TopicSpec<>("tagscope.importance", Serdes.String(), AvroSerde.of(LayerImportance.class), true);
  /** Ranking validation per model/layer, written by {@code tagscope validate} (compacted; layer {@code *} = whole network). */
  public static final TopicSpec<String, LayerValidation> VALIDATION =
      new TopicSpec<>("tagscope.validation", Serdes.String(), AvroSerde.of(LayerValidation.class), true);

  /** Records a stage could not process, key = the original key bytes. */
  public static final TopicSpec<byte[], DeadLetter> DLQ =
      new TopicSpec<>("tagscope.dlq", Serdes.ByteArray(), AvroSerde.of(DeadLetter.class), false);

  /** All topics, in data-flow order. */
  public static final List<TopicSpec<?, ?>> ALL = List.of(PROBES, STIMULI, ACTIVATIONS, TAG_RESPONSES, IMPORTANCE, VALIDATION, DLQ);

  /**
   * Key of the activations and tag-responses topics.
   *
   * @return {@code probeId + "/" + layer}
   */
  public static String probeLayerKey(String probeId, String layer) {
    return probeId + "/" + layer;
  }

  /**
   * Key of the importance topic.
   *
   * @return {@code model + "/" + layer}
   */
  public static String modelLayerKey(String model, String layer) {
    return model + "/" + layer;
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
