/**
 * A real Kafka broker in the JVM, for the all-in-one demo and for the tests that check Kafka
 * behaviour: {@link dev.tagscope.embedded.EmbeddedKafkaBroker} starts Kafka's own KRaft server
 * (combined broker and controller) on 127.0.0.1 only, with a temporary log folder it deletes on
 * close. Not a mock: transactions, compaction and consumer groups behave as on a cluster.
 */
package dev.tagscope.embedded;
