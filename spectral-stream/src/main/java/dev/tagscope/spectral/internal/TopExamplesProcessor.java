package dev.tagscope.spectral.internal;

import dev.tagscope.schemas.TopExamples;
import dev.tagscope.schemas.Topics;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the top examples of each model@version/layer: folds every completed image (one image's
 * {@code TopExamples}, {@link TopExamplesMath#ofImage}) into the layer's kept set
 * ({@link TopExamplesMath#merge}) in a state store, and forwards the merged set once per image,
 * stamped with that image's stimulus time (the time of the last image folded in, as the schema
 * says). The store is changelogged, so under exactly-once an image is folded in exactly once.
 * Memory: one set per model@version/layer, at most k examples per filter, fewer when the set's
 * record would be larger than the producer sends ({@link #fitted}).
 */
public final class TopExamplesProcessor implements Processor<String, TopExamples, String, TopExamples> {
  private static final Logger LOG = LoggerFactory.getLogger(TopExamplesProcessor.class);
  private final String storeName;
  private final int k;
  private ProcessorContext<String, TopExamples> context;
  private KeyValueStore<String, TopExamples> store;
  private RecordLimit limit;
  private final Serializer<TopExamples> serializer = Topics.TOP_EXAMPLES.valueSerde().serializer();

  /**
   * @param storeName the store of kept sets, key model@version/layer
   * @param k most examples kept per filter
   */
  public TopExamplesProcessor(String storeName, int k) {
    this.storeName = storeName;
    this.k = k;
  }

  @Override
  public void init(ProcessorContext<String, TopExamples> context) {
    this.context = context;
    this.store = context.getStateStore(storeName);
    this.limit = RecordLimit.of(context, "spectral-top-examples-processor");
  }

  @Override
  public void process(Record<String, TopExamples> record) {
    if (record.key() == null || record.value() == null) {
      return; // the window processor never sends these; an internal topic carries nothing else
    }
    TopExamples merged = fitted(record.key(), TopExamplesMath.merge(store.get(record.key()), record.value(), k));
    store.put(record.key(), merged);
    context.forward(record.withValue(merged));
  }

  /**
   * The set, with fewer examples per filter when its record would be larger than the producer sends:
   * the same set goes to the changelog and the output topic, and under exactly-once a record the
   * producer refuses aborts the transaction for ever. Only layers of very many filters at a large k
   * get here (8 MiB hold about 100,000 examples); the record's {@code k} then says how many were kept.
   */
  private TopExamples fitted(String key, TopExamples set) {
    int size = limit.size(key, serializer.serialize(Topics.TOP_EXAMPLES.name(), set));
    int kept = set.getK();
    while (size > limit.maxBytes() && kept > 1) {
      kept = Math.max(1, Math.min(kept - 1, (int) (kept * 0.95 * limit.maxBytes() / size)));
      set = TopExamplesMath.merge(null, set, kept);
      size = limit.size(key, serializer.serialize(Topics.TOP_EXAMPLES.name(), set));
    }
    if (kept < k) {
      LOG.warn("top examples of {} keep {} of {} per filter: more would exceed the producer's max.request.size of {} bytes",
          key, kept, k, limit.maxBytes());
    }
    return set;
  }

}
