package dev.tagscope.embedded;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tagscope.schemas.TopicSpec;
import dev.tagscope.schemas.Topics;
import dev.tagscope.testsupport.TopicReads;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.config.ConfigResource;
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
      java.util.List<String> seen = new java.util.ArrayList<>();
      TopicReads.readBytes(broker.bootstrapServers(), topic, true, Duration.ofSeconds(20), got -> !got.isEmpty())
          .forEach(r -> seen.add(new String(r.value(), java.nio.charset.StandardCharsets.UTF_8)));
      assertEquals(List.of("committed"), seen, "read_committed must see the committed record only");
    }
  }
}
