package dev.tagscope.producer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.tagscope.service.PinnedSettingException;
import dev.tagscope.tagging.ProbePlan;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Which producer settings the topic-creating Admin client gets (no broker needed). */
class ProducerServiceTest {

  @Test
  void adminGetsTheProducersConnectionAndSecuritySettingsButNoProducerOnlyOnes() {
    String jaas = "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"u\" password=\"p\";";
    Map<String, Object> producer = new HashMap<>();
    producer.put("bootstrap.servers", "kafka-1:9093");
    producer.put("security.protocol", "SASL_SSL");
    producer.put("sasl.mechanism", "SCRAM-SHA-512");
    producer.put("sasl.jaas.config", jaas);
    producer.put("ssl.truststore.location", "/etc/kafka/truststore.p12");
    producer.put("ssl.truststore.password", "changeit");
    producer.put("ssl.endpoint.identification.algorithm", "https");
    producer.put("client.id", "stimuli-1");
    producer.put("config.providers", "file");
    producer.put("config.providers.file.class", "org.apache.kafka.common.config.provider.FileConfigProvider");
    // producer-only settings: an Admin client has no use for them
    producer.put("acks", "all");
    producer.put("linger.ms", 5);
    producer.put("enable.idempotence", true);
    producer.put("compression.type", "lz4");
    producer.put("key.serializer", "org.apache.kafka.common.serialization.ByteArraySerializer");
    producer.put("transactional.id", "tx-1");

    Map<String, Object> expected = new HashMap<>();
    expected.put("bootstrap.servers", "kafka-1:9093");
    expected.put("security.protocol", "SASL_SSL");
    expected.put("sasl.mechanism", "SCRAM-SHA-512");
    expected.put("sasl.jaas.config", jaas);
    expected.put("ssl.truststore.location", "/etc/kafka/truststore.p12");
    expected.put("ssl.truststore.password", "changeit");
    expected.put("ssl.endpoint.identification.algorithm", "https");
    expected.put("client.id", "stimuli-1");
    expected.put("config.providers", "file");
    expected.put("config.providers.file.class", "org.apache.kafka.common.config.provider.FileConfigProvider");
    assertEquals(expected, ProducerService.adminConfig(producer));
  }

  @Test
  void pinnedProducerSettingsAreRefusedBeforeAnythingIsBuiltOrSent() {
    for (Map.Entry<String, Object> pinned : Map.<String, Object>of("acks", "1", "enable.idempotence", false,
        "transactional.id", "tx-1").entrySet()) {
      PinnedSettingException e = assertThrows(PinnedSettingException.class, () -> ProducerService.builder()
          .bootstrapServers("127.0.0.1:1").producerConfig(Map.of(pinned.getKey(), pinned.getValue()))
          .images(java.util.List.of(new Image("x", null, 1, 28, 28, new byte[784]))).plan(ProbePlan.builder().model("m")).build());
      assertEquals(pinned.getKey(), e.key());
      assertThrows(PinnedSettingException.class, () -> new StimulusPublisher(
          Map.of("bootstrap.servers", "127.0.0.1:1", pinned.getKey(), pinned.getValue()), new SimpleMeterRegistry()));
    }
  }
}
