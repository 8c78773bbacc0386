package dev.tagscope.spectral.internal;

import dev.tagscope.schemas.DeadLetterFitter;
import java.nio.charset.StandardCharsets;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.processor.api.ProcessorContext;

/**
 * The largest record the Streams application's producer sends ({@code max.request.size}, with a
 * {@code producer.} prefix or without; {@link DeadLetterFitter#producerRecordLimit}), for the
 * processors that must keep their output under it: under exactly-once a record the producer
 * refuses puts the transaction in an abortable state, and Kafka Streams would retry it for ever.
 *
 * @param maxBytes the limit, bytes
 */
record RecordLimit(int maxBytes) {

  /**
   * @param context the processor's context (its application settings)
   * @param clientId a name for the producer settings Kafka Streams derives (only in its messages)
   * @return the limit of that application's producer
   */
  static RecordLimit of(ProcessorContext<?, ?> context, String clientId) {
    return new RecordLimit(DeadLetterFitter.producerRecordLimit(
        new StreamsConfig(context.appConfigs()).getProducerConfigs(clientId)));
  }

  /**
   * @param key the record key
   * @param value the serialised value
   * @return the record's size as the producer counts it, upper bound in bytes ({@link DeadLetterFitter#recordSizeUpperBound})
   */
  int size(String key, byte[] value) {
    return DeadLetterFitter.recordSizeUpperBound(key.getBytes(StandardCharsets.UTF_8), value, null);
  }
}
