/**
 * The contract between the services: the Avro records (generated from {@code src/main/avro}),
 * the typed topic registry ({@link dev.tagscope.schemas.Topics}, one immutable
 * {@link dev.tagscope.schemas.TopicSpec} per topic with its key and value serdes), the serde
 * with schema history ({@link dev.tagscope.schemas.AvroSerde},
 * {@link dev.tagscope.schemas.SchemaHistory}: records written by any earlier schema version stay
 * readable) and the dead-letter record builder ({@link dev.tagscope.schemas.DeadLetters}).
 * Topic names and serdes are written here once and nowhere else.
 */
package dev.tagscope.schemas;
