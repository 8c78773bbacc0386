package dev.tagscope.embedded;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tagscope.schemas.TopicSpec;
import dev.tagscope.schemas.Topics;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;

class EmbeddedKafkaBrokerIntegrationTest {

  @Test
  void createsTopicsAndRoundTripsTransactionalRecordsOnLoopback() throws Exception {
    try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start()) {
      assertTrue(broker.bootstrapServers().startsWith("127.0.0.1:"), broker.bootstrapServers());
      broker.createTopics();
      broker.createTopics(); // idempotent: a second call must not fail

      try (Admin admin = broker.admin()) {
        Set<String> names = admin.listTopics().names().get();
        for (TopicSpec<?, ?> t : Topics.ALL) {
          assertTrue(names.contains(t.name()), "missing topic " + t.name());
        }
        ConfigResource probes = new ConfigResource(ConfigResource.Type.TOPIC, Topics.PROBES.name());
        Config config = admin.describeConfigs(List.of(probes)).all().get().get(probes);
        assertEquals("compact", config.get("cleanup.policy").value());
        // Stimulus-time stamps may run hours ahead of the wall clock in an unpaced probe.
        assertEquals(Long.toString(Long.MAX_VALUE), config.get("message.timestamp.after.max.ms").value());
      }

      String topic = Topics.TAG_RESPONSES.name();
      try (KafkaProducer<String, String> producer = new KafkaProducer<>(Map.of(
          "bootstrap.servers", broker.bootstrapServers(), "transactional.id", "embedded-test"),
          new StringSerializer(), new StringSerializer())) {
        producer.initTransactions();
        producer.beginTransaction();
        producer.send(new ProducerRecord<>(topic, "k", "committed"));
        producer.commitTransaction();
        producer.beginTransaction();
        producer.send(new ProducerRecord<>(topic, "k", "aborted"));
        producer.flush();
        producer.abortTransaction();
      }
      try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(Map.of(
          "bootstrap.servers", broker.bootstrapServers(), "isolation.level", "read_committed"),
          new StringDeserializer(), new StringDeserializer())) {
        TopicPartition tp = new TopicPartition(topic, 0);
        consumer.assign(List.of(tp));
        consumer.seekToBeginning(List.of(tp));
        java.util.List<String> seen = new java.util.ArrayList<>();
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (seen.isEmpty() && System.nanoTime() < deadline) {
          ConsumerRecords<String, String> records = consumer.poll(Duration.ofMillis(200));
          records.forEach(r -> seen.add(r.value()));
        }
        assertEquals(List.of("committed"), seen, "read_committed must see the committed record only");
      }
    }
  }
}
