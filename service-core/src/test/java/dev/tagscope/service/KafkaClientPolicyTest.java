package dev.tagscope.service;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.streams.StreamsConfig;
import org.junit.jupiter.api.Test;

/** Every pinned key, on every kind of client, plain and with Kafka Streams' client prefixes. */
class KafkaClientPolicyTest {

  /** A value other than the pinned one, per pinned key. */
  private static final Map<String, String> BREAKING = Map.of(
      "isolation.level", "read_uncommitted",
      "enable.auto.commit", "true",
      "enable.idempotence", "false",
      "acks", "1",
      "transactional.id", "someone-else",
      "processing.guarantee", "at_least_once");

  private static final Map<String, Supplier<KafkaClientPolicy.Builder>> KINDS = Map.of(
      "grouped consumer", () -> KafkaClientPolicy.readCommittedConsumer("g"),
      "groupless consumer", () -> KafkaClientPolicy.readCommittedConsumer(null),
      "idempotent producer", KafkaClientPolicy::idempotentProducer,
      "transactional producer", () -> KafkaClientPolicy.transactionalProducer("tx-1"),
      "streams", KafkaClientPolicy::streams,
      "admin", KafkaClientPolicy::admin);

  private static List<String> allForms(String key) {
    List<String> out = new ArrayList<>(List.of(key));
    KafkaClientPolicy.STREAMS_CLIENT_PREFIXES.forEach(p -> out.add(p + key));
    return out;
  }

  @Test
  void everyPinnedKeyInEveryFormIsRefusedByEveryKindNamingKeyValuesAndWhy() {
    int refused = 0;
    for (Map.Entry<String, Supplier<KafkaClientPolicy.Builder>> kind : KINDS.entrySet()) {
      for (Map.Entry<String, String> pinned : BREAKING.entrySet()) {
        for (String key : allForms(pinned.getKey())) {
          Map<String, Object> override = Map.of(key, pinned.getValue());
          PinnedSettingException e = assertThrows(PinnedSettingException.class,
              () -> kind.getValue().get().overrides(override), kind.getKey() + " took " + override);
          String m = e.getMessage();
          assertTrue(m.startsWith(key + " "), m);
          assertTrue(m.contains("got " + pinned.getValue()), m);
          assertTrue(m.contains("--kafka " + key + "=" + pinned.getValue()), m);
          assertTrue(m.contains(e.reason()) && !e.reason().isBlank(), m);
          assertEquals(key, e.key());
          assertEquals(pinned.getValue(), e.given());
          if (!key.equals(pinned.getKey())) {
            assertTrue(m.contains("(" + pinned.getKey() + " of Kafka Streams' "), m);
          }
          // the launcher's check, for any client, refuses the same
          assertThrows(PinnedSettingException.class, () -> KafkaClientPolicy.checkOverrides(override));
          refused++;
        }
      }
    }
    assertEquals(KINDS.size() * BREAKING.size() * 7, refused);
  }

  @Test
  void theMessagesSayWhatEachKeyIsPinnedTo() {
    assertEquals("isolation.level is pinned to read_committed, got read_uncommitted: a read_uncommitted consumer also sees"
        + " records of aborted transactions, which breaks exactly-once; remove the override"
        + " (--kafka isolation.level=read_uncommitted)",
        assertThrows(PinnedSettingException.class,
            () -> KafkaClientPolicy.checkOverrides(Map.of("isolation.level", "read_uncommitted"))).getMessage());
    PinnedSettingException acks = assertThrows(PinnedSettingException.class,
        () -> KafkaClientPolicy.idempotentProducer().overrides(Map.of("acks", "1")));
    assertTrue(acks.getMessage().startsWith("acks is pinned to all, got 1: "), acks.getMessage());
    assertEquals("all", acks.pinned().orElseThrow());
    PinnedSettingException guarantee = assertThrows(PinnedSettingException.class,
        () -> KafkaClientPolicy.streams().overrides(Map.of("processing.guarantee", "at_least_once")));
    assertTrue(guarantee.getMessage().startsWith("processing.guarantee is pinned to exactly_once_v2, got at_least_once: "),
        guarantee.getMessage());
    PinnedSettingException prefixed = assertThrows(PinnedSettingException.class,
        () -> KafkaClientPolicy.streams().overrides(Map.of("main.consumer.isolation.level", "read_uncommitted")));
    assertTrue(prefixed.getMessage().startsWith("main.consumer.isolation.level (isolation.level of Kafka Streams' main consumer"
        + " clients) is pinned to read_committed"), prefixed.getMessage());
    PinnedSettingException tx = assertThrows(PinnedSettingException.class,
        () -> KafkaClientPolicy.transactionalProducer("worker-1").overrides(Map.of("transactional.id", "worker-2")));
    assertTrue(tx.getMessage().startsWith("transactional.id is pinned to worker-1, got worker-2: "), tx.getMessage());
    PinnedSettingException txElsewhere = assertThrows(PinnedSettingException.class,
        () -> KafkaClientPolicy.idempotentProducer().overrides(Map.of("transactional.id", "worker-1")));
    assertTrue(txElsewhere.getMessage().startsWith("transactional.id is pinned: Tagscope sets it itself"), txElsewhere.getMessage());
    assertTrue(txElsewhere.pinned().isEmpty());
  }

  @Test
  void theBuiltConfigurationsHoldThePinnedValuesAfterDefaultsAndOverrides() {
    Map<String, Object> consumer = KafkaClientPolicy.readCommittedConsumer("g").bootstrapServers("b:1")
        .set(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest").build();
    assertEquals(Map.of("group.id", "g", "auto.offset.reset", "earliest", "bootstrap.servers", "b:1",
        "isolation.level", "read_committed", "enable.auto.commit", "false"), consumer);
    assertEquals(Map.of("enable.idempotence", "true", "acks", "all"), KafkaClientPolicy.idempotentProducer().build());
    assertEquals(Map.of("enable.idempotence", "true", "acks", "all", "transactional.id", "tx-1"),
        KafkaClientPolicy.transactionalProducer("tx-1").build());
    assertEquals(Map.of(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2),
        KafkaClientPolicy.streams().build());
    assertEquals(Map.of(), KafkaClientPolicy.admin().build());
    assertEquals("read_committed", KafkaClientPolicy.readCommittedConsumer(null).buildProperties().getProperty("isolation.level"));
  }

  @Test
  void otherSettingsPassThroughAndReplaceDefaults() {
    Map<String, Object> user = new HashMap<>();
    user.put("security.protocol", "SASL_SSL");
    user.put("sasl.mechanism", "SCRAM-SHA-512");
    user.put("client.id", "mine");
    user.put("request.timeout.ms", 5000);
    user.put("linger.ms", "20");
    user.put("consumer.max.poll.records", "10");
    user.put("group.id", "their-group");
    for (Supplier<KafkaClientPolicy.Builder> kind : KINDS.values()) {
      Map<String, Object> cfg = kind.get().set("client.id", "tagscope-x").set("linger.ms", 5).overrides(user).build();
      assertEquals("SASL_SSL", cfg.get("security.protocol"));
      assertEquals("SCRAM-SHA-512", cfg.get("sasl.mechanism"));
      assertEquals("mine", cfg.get("client.id"), "an override replaces a default");
      assertEquals(5000, cfg.get("request.timeout.ms"));
      assertEquals("20", cfg.get("linger.ms"));
      assertEquals("10", cfg.get("consumer.max.poll.records"));
    }
    assertEquals("their-group", KafkaClientPolicy.readCommittedConsumer("g").overrides(user).build().get("group.id"));
    assertFalse(KafkaClientPolicy.readCommittedConsumer(null).overrides(user).build().containsKey("group.id"),
        "a consumer without a group never gets one");
    assertEquals("b:1", KafkaClientPolicy.admin().bootstrapServers("b:1").overrides(Map.of("bootstrap.servers", "o:2")).build()
        .get("bootstrap.servers"), "the explicit bootstrap servers win");
    assertEquals("o:2", KafkaClientPolicy.admin().overrides(Map.of("bootstrap.servers", "o:2")).build().get("bootstrap.servers"));
  }

  @Test
  void thePinnedValueItselfIsAcceptedAsKafkaReadsIt() {
    Map<String, Object> same = new HashMap<>();
    same.put("isolation.level", " READ_COMMITTED ");
    same.put("enable.auto.commit", false);
    same.put("enable.idempotence", Boolean.TRUE);
    same.put("acks", "-1");
    same.put("producer.acks", "all");
    same.put("processing.guarantee", "exactly_once_v2");
    KafkaClientPolicy.checkOverrides(same);
    Map<String, Object> cfg = KafkaClientPolicy.idempotentProducer().overrides(same).build();
    assertEquals(Map.of("enable.idempotence", "true", "acks", "all"), cfg, "pinned keys appear only where the kind uses them");
    assertEquals("tx-1", KafkaClientPolicy.transactionalProducer("tx-1").overrides(Map.of("transactional.id", "tx-1")).build()
        .get("transactional.id"));
    // keys are matched exactly, as Kafka matches them: ACKS is no Kafka setting and passes through
    assertEquals("0", KafkaClientPolicy.idempotentProducer().overrides(Map.of("ACKS", "0")).build().get("ACKS"));
  }

  @Test
  void defaultsMayNotSetPinnedKeysAndTheKeysAreKafkasOwn() {
    assertThrows(IllegalArgumentException.class, () -> KafkaClientPolicy.readCommittedConsumer(null).set("isolation.level", "x"));
    assertThrows(IllegalArgumentException.class, () -> KafkaClientPolicy.transactionalProducer(" "));
    assertEquals(List.of(StreamsConfig.CONSUMER_PREFIX, StreamsConfig.MAIN_CONSUMER_PREFIX, StreamsConfig.RESTORE_CONSUMER_PREFIX,
        StreamsConfig.GLOBAL_CONSUMER_PREFIX, StreamsConfig.PRODUCER_PREFIX, StreamsConfig.ADMIN_CLIENT_PREFIX),
        KafkaClientPolicy.STREAMS_CLIENT_PREFIXES);
    assertEquals(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, KafkaClientPolicy.PROCESSING_GUARANTEE);
    for (String key : List.of(ConsumerConfig.ISOLATION_LEVEL_CONFIG, ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG,
        ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, ProducerConfig.ACKS_CONFIG, ProducerConfig.TRANSACTIONAL_ID_CONFIG,
        StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.consumerPrefix(ConsumerConfig.ISOLATION_LEVEL_CONFIG),
        StreamsConfig.producerPrefix(ProducerConfig.ACKS_CONFIG))) {
      assertTrue(KafkaClientPolicy.isPinned(key), key);
    }
    assertFalse(KafkaClientPolicy.isPinned("topic.isolation.level"), "topic. is Streams' prefix for topic configs, not clients");
  }
}
