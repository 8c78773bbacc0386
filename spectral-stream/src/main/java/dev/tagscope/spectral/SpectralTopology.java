package dev.tagscope.spectral;

import dev.tagscope.schemas.LayerImportance;
import dev.tagscope.schemas.TopExamples;
import dev.tagscope.schemas.Topics;
import dev.tagscope.spectral.internal.HistoryOut;
import dev.tagscope.spectral.internal.ProbeStoreUpdater;
import dev.tagscope.spectral.internal.Routed;
import dev.tagscope.spectral.internal.StabilityProcessor;
import dev.tagscope.spectral.internal.TopExamplesMath;
import dev.tagscope.spectral.internal.TopExamplesProcessor;
import dev.tagscope.spectral.internal.WindowProcessor;
import dev.tagscope.tagging.spectral.ImportanceMath;
import dev.tagscope.tagging.spectral.WindowAnalyzer;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.common.utils.Utils;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.kstream.Branched;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Named;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.Repartitioned;
import org.apache.kafka.streams.kstream.Suppressed;
import org.apache.kafka.streams.kstream.TimeWindows;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.Stores;
import org.apache.kafka.streams.state.WindowStore;

/**
 * The spectral-stream topology (DESIGN.md section 2):
 *
 * <pre>
 * tagscope.probes ──(global store of raw ProbeSpec bytes)──┐
 * tagscope.activations ──(bytes)──▶ window processor ──┬──▶ tagscope.tag-responses  (key probeId/layer)
 *                     (frame buffer per probe/layer/image)├──▶ one-window LayerImportance ─ groupByKey(model@version/layer)
 *                                                    │   │  ─ reduce(weighted merge) ─▶ tagscope.importance
 *                                                    │   └▶ key model@version/layer ─ repartition(by model/layer)
 *                                                    │      ─ TimeWindows(bucket, grace) reduce(weighted merge)
 *                                                    │      ─ suppress(until the bucket closes) ─ stability processor
 *                                                    │        (store per model/layer: reference, open episode)
 *                                                    │           ├──▶ tagscope.importance-history (key model@version/layer)
 *                                                    │           └──▶ tagscope.alerts (key model/layer; raised / cleared)
 *       (running sum [C] per probe/layer of the image) ├──▶ one image's means ─ key model@version/layer ─ repartition
 *                                                    │      ─ top-examples processor (store per model@version/layer:
 *                                                    │        k best images per filter) ─▶ tagscope.top-examples
 *                                                    └──▶ tagscope.dlq (original bytes + reason headers)
 * </pre>
 *
 * <p>Activations are read as bytes and decoded in the processor, so an unreadable record goes to
 * the dead-letter topic with its original key and value bytes and the stream goes on; so do
 * records of an unknown probe, with NaN or infinite values, or with a filter count different from
 * earlier frames of that (probe, layer), that repeat a frame already received, or that come too
 * late for every window they belong to (see {@link WindowProcessor} for the order rules; a frame
 * out of order never restarts a window). Windows of an image start at imageFrame
 * {@code 0, hop, 2*hop, ...} while {@code start + W <= framesPerImage}; the frame that completes a
 * window triggers its analysis ({@link dev.tagscope.tagging.spectral.WindowAnalyzer}); a window with a
 * missing frame, or one the analysis refuses (then also a dead letter with the reason), is skipped
 * and counted. Decoded probe plans are cached per task up to
 * {@link SpectralSettings#maxCachedPlans()}. Record timestamps are carried from the input
 * (stimulus time); nothing depends on wall-clock time.
 *
 * <p><b>History.</b> The one-window importances are also bucketed per (model, version, layer) in
 * tumbling windows of stimulus time ({@link HistorySettings#bucket()}, epoch-aligned) and merged as
 * the running importance is ({@code ImportanceMath.merge}, weighted by windows). Kafka Streams'
 * own windowing does it: {@code TimeWindows.ofSizeAndGrace} with
 * {@code suppress(untilWindowCloses)} emits each bucket exactly once, final, when the task's stream
 * time passes its end plus {@link HistorySettings#grace()}, with its buffer and window store
 * changelogged under exactly-once; no processor of our own has to keep open buckets or decide when
 * to close them. A window later than that is dropped from the history (Kafka Streams counts it in
 * its {@code dropped-records} metric); a bucket stays open until later windows reach its task (the
 * last bucket of a probe that ends waits for the next probe). Before the buckets the windows are
 * repartitioned by model/layer (the key stays model@version/layer), so the
 * {@link StabilityProcessor stability processor} after them sees every version of a (model, layer)
 * in one task and keeps that layer's reference and alert episode in its store.
 *
 * <p><b>Top examples.</b> The window processor adds every frame it accepts to its image's running
 * sum and, when the image ends, sends the image's per-filter means on
 * ({@link WindowProcessor}, "Top examples"); they are repartitioned by model@version/layer, where the
 * {@link TopExamplesProcessor} folds them into the layer's {@link SpectralSettings#topExamples()} best
 * images per filter ({@link TopExamplesMath}) and publishes the set after each image.
 *
 * <p>Usage: {@code StreamsBuilder b = new StreamsBuilder(); SpectralTopology.build(b, SpectralSettings.of(registry));
 * Topology t = b.build();} — the same under {@code TopologyTestDriver} and against a broker.
 */
public final class SpectralTopology {
  /** Global store of raw probe spec bytes, key probeId. */
  public static final String PROBE_STORE = "tagscope-spectral-probes";
  /** Persistent frame buffer, key (probe/layer, image, imageFrame). */
  public static final String FRAME_STORE = "tagscope-spectral-frames";
  /** Persistent per (probe, layer) state: filter count, current image, last frame, last frameIndex, spec fingerprint. */
  public static final String LAYER_STORE = "tagscope-spectral-layers";
  /** Running importance per model/layer. */
  public static final String IMPORTANCE_STORE = "tagscope-spectral-importance";
  /** Window store of the open importance buckets, key model@version/layer. */
  public static final String BUCKET_STORE = "tagscope-spectral-buckets";
  /** Per model/layer: the rank reference and whether an alert episode is open ({@link dev.tagscope.spectral.internal.StabilityState}). */
  public static final String STABILITY_STORE = "tagscope-spectral-stability";
  /** Per (probe, layer): the running sum of the current image's accepted frames, key probeId/layer. */
  public static final String IMAGE_SUM_STORE = "tagscope-spectral-image-sums";
  /** Per model@version/layer: the top examples kept ({@code TopExamples}). */
  public static final String TOP_EXAMPLES_STORE = "tagscope-spectral-top-examples";

  private SpectralTopology() {}

  /**
   * Adds the spectral-stream topology to a builder.
   *
   * @param builder the builder (other topologies may share it)
   * @param settings meters and the plan cache size
   */
  public static void build(StreamsBuilder builder, SpectralSettings settings) {
    build(builder, settings, WindowAnalyzer::analyze);
  }

  /** As {@link #build(StreamsBuilder, SpectralSettings)} with another window analysis (tests of its failures). */
  static void build(StreamsBuilder builder, SpectralSettings settings, WindowProcessor.Analysis analysis) {
    builder.addGlobalStore(
        Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore(PROBE_STORE), Serdes.String(), Serdes.ByteArray())
            .withLoggingDisabled(),
        Topics.PROBES.name(),
        // values stay bytes: a spec that cannot be decoded is refused where its activations arrive
        Consumed.with(Topics.PROBES.keySerde(), Serdes.ByteArray()).withName("spectral-probes-source"),
        () -> new ProbeStoreUpdater(PROBE_STORE));
    builder.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(FRAME_STORE), Serdes.Bytes(), Serdes.ByteArray()));
    builder.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(LAYER_STORE), Serdes.String(), Serdes.ByteArray()));
    builder.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(IMAGE_SUM_STORE), Serdes.String(),
        Serdes.ByteArray()));

    // Keys and values as bytes: a refused record goes to the DLQ with its original bytes, untouched.
    KStream<byte[], byte[]> activations = builder.stream(Topics.ACTIVATIONS.name(),
        Consumed.with(Serdes.ByteArray(), Serdes.ByteArray()).withName("spectral-activations-source"));
    KStream<byte[], Routed> routed = activations.process(
        () -> new WindowProcessor(settings, PROBE_STORE, FRAME_STORE, LAYER_STORE, IMAGE_SUM_STORE, analysis),
        Named.as("spectral-window-processor"), FRAME_STORE, LAYER_STORE, IMAGE_SUM_STORE);
    Map<String, KStream<byte[], Routed>> branches = routed.split(Named.as("spectral-"))
        .branch((k, v) -> v instanceof Routed.Dead, Branched.as("dlq"))
        .branch((k, v) -> v instanceof Routed.Examples, Branched.as("images"))
        .defaultBranch(Branched.as("windows"));

    builder.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(TOP_EXAMPLES_STORE),
        Topics.TOP_EXAMPLES.keySerde(), Topics.TOP_EXAMPLES.valueSerde()));
    branches.get("spectral-images")
        .map((k, v) -> {
          Routed.Examples e = (Routed.Examples) v;
          return KeyValue.pair(e.key(), e.examples());
        }, Named.as("spectral-images-map"))
        .repartition(Repartitioned.<String, TopExamples>as("spectral-top-examples")
            .withKeySerde(Topics.TOP_EXAMPLES.keySerde()).withValueSerde(Topics.TOP_EXAMPLES.valueSerde()))
        .process(() -> new TopExamplesProcessor(TOP_EXAMPLES_STORE, settings.topExamples()), Named.as("spectral-top-examples-processor"),
            TOP_EXAMPLES_STORE)
        .to(Topics.TOP_EXAMPLES.name(), Produced.with(Topics.TOP_EXAMPLES.keySerde(), Topics.TOP_EXAMPLES.valueSerde())
            .withName("spectral-top-examples-sink"));

    branches.get("spectral-dlq")
        .map((k, v) -> {
          Routed.Dead d = (Routed.Dead) v;
          return KeyValue.pair(d.key(), d.letter());
        }, Named.as("spectral-dlq-map"))
        .to(Topics.DLQ.name(), Produced.with(Topics.DLQ.keySerde(), Topics.DLQ.valueSerde()).withName("spectral-dlq-sink"));

    KStream<byte[], Routed> windows = branches.get("spectral-windows");
    // The processor serialised each tag response (and dead-lettered one too large to send).
    windows.filter((k, v) -> ((Routed.Window) v).tag() != null, Named.as("spectral-tag-fits"))
        .map((k, v) -> {
          Routed.Window w = (Routed.Window) v;
          return KeyValue.pair(w.tagKey(), w.tag());
        }, Named.as("spectral-tag-map"))
        .to(Topics.TAG_RESPONSES.name(), Produced.with(Topics.TAG_RESPONSES.keySerde(), Serdes.ByteArray())
            .withName("spectral-tag-sink"));

    windows.map((k, v) -> {
          Routed.Window w = (Routed.Window) v;
          return KeyValue.pair(w.importanceKey(), w.importance());
        }, Named.as("spectral-importance-map"))
        .groupByKey(Grouped.with("spectral-importance", Topics.IMPORTANCE.keySerde(), Topics.IMPORTANCE.valueSerde()))
        .reduce(ImportanceMath::merge, Named.as("spectral-importance-reduce"),
            Materialized.<String, LayerImportance, KeyValueStore<Bytes, byte[]>>as(IMPORTANCE_STORE)
                .withKeySerde(Topics.IMPORTANCE.keySerde())
                .withValueSerde(Topics.IMPORTANCE.valueSerde()))
        .toStream(Named.as("spectral-importance-stream"))
        .to(Topics.IMPORTANCE.name(), Produced.with(Topics.IMPORTANCE.keySerde(), Topics.IMPORTANCE.valueSerde())
            .withName("spectral-importance-sink"));

    buildHistory(builder, windows.mapValues(v -> ((Routed.Window) v).importance(), Named.as("spectral-history-values")), settings);
  }

  /**
   * The history part of the topology, from one-window importances on: buckets, stability, alerts.
   * Package-private so that tests can feed it one-window importances of their own making.
   *
   * @param builder the builder that holds {@code windowImportance}
   * @param windowImportance one-window importances (LayerImportance of one window, timestamp =
   *     the window's stimulus time), any key
   * @param settings meters and the history settings
   * @param <K> the input key type (ignored)
   */
  static <K> void buildHistory(StreamsBuilder builder, KStream<K, LayerImportance> windowImportance, SpectralSettings settings) {
    HistorySettings h = settings.history();
    builder.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(STABILITY_STORE), Serdes.String(),
        Serdes.ByteArray()));
    Map<String, KStream<String, HistoryOut>> out = windowImportance
        .selectKey((k, v) -> Topics.importanceKey(v.getModel(), v.getModelVersion(), v.getLayer()), Named.as("spectral-history-key"))
        .repartition(Repartitioned.<String, LayerImportance>as("spectral-history")
            .withKeySerde(Topics.IMPORTANCE_HISTORY.keySerde()).withValueSerde(Topics.IMPORTANCE.valueSerde())
            .withStreamPartitioner(SpectralTopology::byModelLayer))
        .groupByKey(Grouped.with("spectral-history-group", Topics.IMPORTANCE_HISTORY.keySerde(), Topics.IMPORTANCE.valueSerde()))
        .windowedBy(TimeWindows.ofSizeAndGrace(h.bucket(), h.grace()))
        .reduce(ImportanceMath::merge, Named.as("spectral-history-reduce"),
            Materialized.<String, LayerImportance, WindowStore<Bytes, byte[]>>as(BUCKET_STORE)
                .withKeySerde(Topics.IMPORTANCE_HISTORY.keySerde())
                .withValueSerde(Topics.IMPORTANCE.valueSerde()))
        .suppress(Suppressed.untilWindowCloses(Suppressed.BufferConfig.unbounded()).withName("spectral-history-suppress"))
        .toStream(Named.as("spectral-history-closed"))
        .process(() -> new StabilityProcessor(h, settings.registry(), STABILITY_STORE), Named.as("spectral-stability-processor"),
            STABILITY_STORE)
        .split(Named.as("spectral-history-"))
        .branch((k, v) -> v instanceof HistoryOut.Alert, Branched.as("alerts"))
        .defaultBranch(Branched.as("buckets"));
    out.get("spectral-history-alerts")
        .mapValues(v -> ((HistoryOut.Alert) v).alert(), Named.as("spectral-alerts-map"))
        .to(Topics.ALERTS.name(), Produced.with(Topics.ALERTS.keySerde(), Topics.ALERTS.valueSerde()).withName("spectral-alerts-sink"));
    out.get("spectral-history-buckets")
        .mapValues(v -> ((HistoryOut.Bucket) v).bucket(), Named.as("spectral-history-map"))
        .to(Topics.IMPORTANCE_HISTORY.name(), Produced.with(Topics.IMPORTANCE_HISTORY.keySerde(), Topics.IMPORTANCE_HISTORY.valueSerde())
            .withName("spectral-history-sink"));
  }

  /**
   * Partitions one-window importances by model/layer, as Kafka's default partitioner would that
   * key (murmur2), so that every version of a (model, layer) meets in one task.
   */
  private static Optional<Set<Integer>> byModelLayer(String topic, String key, LayerImportance value, int partitions) {
    byte[] k = Topics.modelLayerKey(value.getModel(), value.getLayer()).getBytes(StandardCharsets.UTF_8);
    return Optional.of(Set.of(Utils.toPositive(Utils.murmur2(k)) % partitions));
  }
}
