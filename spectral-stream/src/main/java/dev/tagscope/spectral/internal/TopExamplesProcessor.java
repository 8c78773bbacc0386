package dev.tagscope.spectral.internal;

import dev.tagscope.schemas.TopExamples;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueStore;

/**
 * Keeps the top examples of each model@version/layer: folds every completed image (one image's
 * {@code TopExamples}, {@link TopExamplesMath#ofImage}) into the layer's kept set
 * ({@link TopExamplesMath#merge}) in a state store, and forwards the merged set once per image,
 * stamped with that image's stimulus time (the time of the last image folded in, as the schema
 * says). The store is changelogged, so under exactly-once an image is folded in exactly once.
 * Memory: one set per model@version/layer, at most k examples per filter.
 */
public final class TopExamplesProcessor implements Processor<String, TopExamples, String, TopExamples> {
  private final String storeName;
  private final int k;
  private ProcessorContext<String, TopExamples> context;
  private KeyValueStore<String, TopExamples> store;

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
  }

  @Override
  public void process(Record<String, TopExamples> record) {
    if (record.key() == null || record.value() == null) {
      return; // the window processor never sends these; an internal topic carries nothing else
    }
    TopExamples merged = TopExamplesMath.merge(store.get(record.key()), record.value(), k);
    store.put(record.key(), merged);
    context.forward(record.withValue(merged));
  }
}
