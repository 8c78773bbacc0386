/**
 * What every Tagscope service shares: the lifecycle contract
 * ({@link dev.tagscope.service.TagscopeService}), the Kafka client policy that pins the settings
 * exactly-once depends on ({@link dev.tagscope.service.KafkaClientPolicy}), and the reader that
 * catches up on every partition of a topic ({@link dev.tagscope.service.PartitionCatchUp}). No
 * tagging logic here: the method lives in {@code tagging-core}, the topics in {@code schemas}.
 */
package dev.tagscope.service;
