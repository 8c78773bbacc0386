package dev.tagscope.spectral;

import dev.tagscope.schemas.LayerImportance;
import dev.tagscope.schemas.Topics;
import dev.tagscope.spectral.internal.ProbeStoreUpdater;
import dev.tagscope.spectral.internal.Routed;
import dev.tagscope.spectral.internal.WindowProcessor;
import dev.tagscope.tagging.spectral.ImportanceMath;
import dev.tagscope.tagging.spectral.WindowAnalyzer;
import java.util.Map;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.kstream.Branched;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Named;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.Stores;

/**
 * The spectral-stream topology (DESIGN.md section 2):
 *
 * <pre>
 * tagscope.probes ──(global store of raw ProbeSpec bytes)──┐
 * tagscope.activations ──(bytes)──▶ window processor ──┬──▶ tagscope.tag-responses  (key probeId/layer)
 *                     (frame buffer per probe/layer/image)├──▶ one-window LayerImportance ─ groupByKey(model/layer)
 *                                                    │      ─ reduce(weighted merge) ─▶ tagscope.importance
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

    // Keys and values as bytes: a refused record goes to the DLQ with its original bytes, untouched.
    KStream<byte[], byte[]> activations = builder.stream(Topics.ACTIVATIONS.name(),
        Consumed.with(Serdes.ByteArray(), Serdes.ByteArray()).withName("spectral-activations-source"));
    KStream<byte[], Routed> routed = activations.process(
        () -> new WindowProcessor(settings, PROBE_STORE, FRAME_STORE, LAYER_STORE, analysis), Named.as("spectral-window-processor"),
        FRAME_STORE, LAYER_STORE);
    Map<String, KStream<byte[], Routed>> branches = routed.split(Named.as("spectral-"))
        .branch((k, v) -> v instanceof Routed.Dead, Branched.as("dlq"))
        .defaultBranch(Branched.as("windows"));

    branches.get("spectral-dlq")
        .map((k, v) -> {
          Routed.Dead d = (Routed.Dead) v;
          return KeyValue.pair(d.key(), d.letter());
        }, Named.as("spectral-dlq-map"))
        .to(Topics.DLQ.name(), Produced.with(Topics.DLQ.keySerde(), Topics.DLQ.valueSerde()).withName("spectral-dlq-sink"));

    KStream<byte[], Routed> windows = branches.get("spectral-windows");
    windows.map((k, v) -> {
          Routed.Window w = (Routed.Window) v;
          return KeyValue.pair(w.tagKey(), w.tag());
        }, Named.as("spectral-tag-map"))
        .to(Topics.TAG_RESPONSES.name(), Produced.with(Topics.TAG_RESPONSES.keySerde(), Topics.TAG_RESPONSES.valueSerde())
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
  }
}
