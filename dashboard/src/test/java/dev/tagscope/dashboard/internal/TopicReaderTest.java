package dev.tagscope.dashboard.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tagscope.dashboard.Fixtures;
import dev.tagscope.schemas.FilterResponse;
import dev.tagscope.schemas.TagResponse;
import dev.tagscope.schemas.Topics;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.MockConsumer;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

class TopicReaderTest {
  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private final DashboardView view = new DashboardView();
  private final MockConsumer<byte[], byte[]> consumer = new MockConsumer<>("earliest");
  private final TopicReader reader = new TopicReader(consumer, view, 3, registry);

  private static ConsumerRecord<byte[], byte[]> record(String topic, int partition, long offset, String key, byte[] value) {
    return new ConsumerRecord<>(topic, partition, offset, key == null ? null : key.getBytes(StandardCharsets.UTF_8), value);
  }

  private double skipped(String topic) {
    return registry.get("tagscope.dashboard.skipped").tag("topic", topic).counter().count();
  }

  private double updates(String type) {
    return registry.get("tagscope.dashboard.updates").tag("type", type).counter().count();
  }

  @Test
  void undecodableAndInconsistentRecordsAreSkippedAndCountedPerTopic() {
    byte[] garbage = "not avro".getBytes(StandardCharsets.UTF_8);
    TagResponse r = Fixtures.tagResponse("p", "m", "l", "img", 1);
    TagResponse inconsistent = TagResponse.newBuilder(r).setFilters(List.of(
        FilterResponse.newBuilder(r.getFilters().get(0)).setAmplitude(List.of(1.0)).build())).build();

    reader.handle(record(Topics.IMPORTANCE.name(), 0, 0, "m/l", garbage));
    reader.handle(record(Topics.IMPORTANCE.name(), 0, 1, "m/l", Topics.IMPORTANCE.valueSerde().serializer().serialize("",
        Fixtures.importance("m", "l", 5, List.of(Fixtures.filter(0, 1, 1.0, 1, 0, 0))))));
    reader.handle(record(Topics.PROBES.name(), 0, 0, "p", garbage));
    reader.handle(record(Topics.TAG_RESPONSES.name(), 0, 0, "p/l",
        Topics.TAG_RESPONSES.valueSerde().serializer().serialize("", inconsistent)));
    reader.handle(record(Topics.TAG_RESPONSES.name(), 0, 1, "p/l", null));
    reader.handle(record(Topics.TAG_RESPONSES.name(), 0, 2, "p/l", Topics.TAG_RESPONSES.valueSerde().serializer().serialize("", r)));

    assertEquals(1, skipped(Topics.IMPORTANCE.name()));
    assertEquals(1, skipped(Topics.PROBES.name()));
    assertEquals(2, skipped(Topics.TAG_RESPONSES.name()));
    assertEquals(1, updates("importance"));
    assertEquals(1, updates("tag-response"));
    assertEquals(0, updates("probe"));
    assertEquals(5, view.importance("m", "", "l").windowsSeen());
    assertEquals(1, view.spectrum("p", "l", 0).responsesSeen());
  }

  @Test
  void undecodableValidationIsSkippedAndCountedAndLaterOnesArrive() {
    byte[] garbage = "not avro either".getBytes(StandardCharsets.UTF_8);
    reader.handle(record(Topics.VALIDATION.name(), 0, 0, "m/l", garbage));
    reader.handle(record(Topics.VALIDATION.name(), 0, 1, "m/l",
        Topics.VALIDATION.valueSerde().serializer().serialize("", Fixtures.validation("m", "l"))));

    assertEquals(1, skipped(Topics.VALIDATION.name()));
    assertEquals(0, skipped(Topics.IMPORTANCE.name()));
    assertEquals(1, updates("validation"));
    assertEquals(0.625, view.validation("m", "l").criteria().get(0).rho());

    reader.handle(record(Topics.VALIDATION.name(), 0, 2, "m/l", null)); // a tombstone forgets it
    assertEquals(2, updates("validation"));
    assertTrue(view.validations("m").isEmpty());
  }

  @Test
  void historyAndAlertsAreDecodedAndBadOnesSkippedAndCountedPerTopic() {
    byte[] garbage = "not a bucket".getBytes(StandardCharsets.UTF_8);
    String key = Topics.importanceKey("m", "v1", "l");
    reader.handle(record(Topics.IMPORTANCE_HISTORY.name(), 0, 0, key, garbage));
    reader.handle(record(Topics.IMPORTANCE_HISTORY.name(), 0, 1, key, null)); // no tombstones on this topic
    reader.handle(record(Topics.IMPORTANCE_HISTORY.name(), 0, 2, key, Topics.IMPORTANCE_HISTORY.valueSerde().serializer()
        .serialize("", Fixtures.bucket("m", "v1", "l", 1_700_000_040_000L, 60_000, "v0", 0.25, 2, 0.5, 3, 1, 2))));
    reader.handle(record(Topics.ALERTS.name(), 0, 0, "m/l", garbage));
    reader.handle(record(Topics.ALERTS.name(), 0, 1, "m/l", Topics.ALERTS.valueSerde().serializer()
        .serialize("", Fixtures.alert(dev.tagscope.schemas.AlertState.RAISED, "m", "v1", "l", 1_700_000_040_000L, 0.25))));

    assertEquals(2, skipped(Topics.IMPORTANCE_HISTORY.name()));
    assertEquals(1, skipped(Topics.ALERTS.name()));
    assertEquals(1, updates("history"));
    assertEquals(1, updates("alert"));
    assertEquals(0.25, view.history("m", "v1", "l", 8).buckets().get(0).rho());
    assertEquals(0, view.history("m", "v1", "l", 8).top().get(0).filter()); // score 3 is the best
    assertEquals("RAISED", view.alerts(null, null, 10).get(0).state());
  }

  @Test
  void compactedTopicsStartAtTheBeginningAndTagResponsesReplayTheLastRecords() throws Exception {
    TopicPartition probes = new TopicPartition(Topics.PROBES.name(), 0);
    TopicPartition importance = new TopicPartition(Topics.IMPORTANCE.name(), 0);
    TopicPartition tr0 = new TopicPartition(Topics.TAG_RESPONSES.name(), 0);
    TopicPartition tr1 = new TopicPartition(Topics.TAG_RESPONSES.name(), 1);
    TopicPartition validation = new TopicPartition(Topics.VALIDATION.name(), 0);
    TopicPartition history = new TopicPartition(Topics.IMPORTANCE_HISTORY.name(), 0);
    TopicPartition alerts = new TopicPartition(Topics.ALERTS.name(), 0);
    Node node = new Node(1, "127.0.0.1", 9092);
    for (String topic : List.of(Topics.PROBES.name(), Topics.IMPORTANCE.name(), Topics.VALIDATION.name(),
        Topics.IMPORTANCE_HISTORY.name(), Topics.ALERTS.name())) {
      consumer.updatePartitions(topic, List.of(new PartitionInfo(topic, 0, node, new Node[] {node}, new Node[] {node})));
    }
    consumer.updatePartitions(Topics.TAG_RESPONSES.name(), List.of(
        new PartitionInfo(Topics.TAG_RESPONSES.name(), 0, node, new Node[] {node}, new Node[] {node}),
        new PartitionInfo(Topics.TAG_RESPONSES.name(), 1, node, new Node[] {node}, new Node[] {node})));
    // importance and validation: compaction removed their first offsets; tr0 holds 10 records,
    // tr1 only 2 (< replay 3); retention removed the history's first 6 records: it is replayed from 6.
    consumer.updateBeginningOffsets(Map.of(probes, 0L, importance, 2L, tr0, 0L, tr1, 0L, validation, 4L, history, 6L,
        alerts, 0L));
    consumer.updateEndOffsets(Map.of(probes, 1L, importance, 3L, tr0, 10L, tr1, 2L, validation, 5L, history, 8L,
        alerts, 1L));

    Map<TopicPartition, Long> startPositions = new ConcurrentHashMap<>();
    consumer.schedulePollTask(() -> {
      for (TopicPartition tp : List.of(probes, importance, tr0, tr1, validation, history, alerts)) {
        startPositions.put(tp, consumer.position(tp));
      }
      byte[] response = Topics.TAG_RESPONSES.valueSerde().serializer().serialize("",
          Fixtures.tagResponse("p", "m", "l", "img", 1));
      consumer.addRecord(record(probes.topic(), 0, 0, "p", Topics.PROBES.valueSerde().serializer().serialize("",
          Fixtures.probe("p", "m"))));
      consumer.addRecord(record(importance.topic(), 0, 2, "m/l", Topics.IMPORTANCE.valueSerde().serializer().serialize("",
          Fixtures.importance("m", "l", 1, List.of(Fixtures.filter(0, 1, 1.0, 1, 0, 0))))));
      consumer.addRecord(record(validation.topic(), 0, 4, "m/l", Topics.VALIDATION.valueSerde().serializer().serialize("",
          Fixtures.validation("m", "l"))));
      for (long o = 6; o < 8; o++) {
        consumer.addRecord(record(history.topic(), 0, o, "m@v1/l", Topics.IMPORTANCE_HISTORY.valueSerde().serializer()
            .serialize("", Fixtures.bucket("m", "v1", "l", 1_700_000_040_000L + o * 60_000, 60_000, null, null, 0, null, 1, 2))));
      }
      consumer.addRecord(record(alerts.topic(), 0, 0, "m/l", Topics.ALERTS.valueSerde().serializer().serialize("",
          Fixtures.alert(dev.tagscope.schemas.AlertState.RAISED, "m", "v1", "l", 1_700_000_040_000L, 0.25))));
      for (long o = 7; o < 10; o++) {
        consumer.addRecord(record(tr0.topic(), 0, o, "p/l", response));
      }
      for (long o = 0; o < 2; o++) {
        consumer.addRecord(record(tr1.topic(), 1, o, "q/l", Topics.TAG_RESPONSES.valueSerde().serializer().serialize("",
            Fixtures.tagResponse("q", "m", "l", "img", 1))));
      }
    });
    Thread t = new Thread(reader, "reader-under-test");
    t.start();
    try {
      assertTrue(reader.awaitCaughtUp(Duration.ofSeconds(20)), "reader did not catch up");
    } finally {
      reader.stop();
      t.join(10_000);
    }

    assertEquals(Map.of(probes, 0L, importance, 2L, tr0, 7L, tr1, 0L, validation, 4L, history, 6L, alerts, 0L),
        startPositions);
    assertEquals(2, view.history("m", "v1", "l", 8).buckets().size(), "the reader catches up with the history");
    assertEquals(1, view.alerts(null, null, 10).size(), "and with the alerts");
    assertEquals(1, updates("validation"), "the reader catches up with the validation topic too");
    assertEquals("tag", view.validation("m", "l").defaultCriterion());
    assertEquals(5, updates("tag-response"));
    assertEquals(3, view.spectrum("p", "l", 0).responsesSeen());
    assertEquals(2, view.spectrum("q", "l", 0).responsesSeen());
    assertEquals(1, view.probes().size());
    assertFalse(t.isAlive());
    assertTrue(consumer.closed(), "the reader closes its consumer");
  }
}
