package dev.tagscope.service;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tagscope.embedded.EmbeddedKafkaBroker;
import dev.tagscope.service.PartitionCatchUp.StartPosition;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewPartitions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The catch-up reader on a real broker: records before the start on several partitions, partitions and topics added later. */
class PartitionCatchUpIntegrationTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(30);
  private static EmbeddedKafkaBroker broker;
  private static KafkaProducer<String, String> producer;

  @BeforeAll
  static void start() {
    broker = EmbeddedKafkaBroker.start();
    producer = new KafkaProducer<>(KafkaClientPolicy.idempotentProducer().bootstrapServers(broker.bootstrapServers()).build(),
        new StringSerializer(), new StringSerializer());
  }

  @AfterAll
  static void stop() {
    producer.close();
    broker.close();
  }

  private static void createTopic(String topic, int partitions) throws Exception {
    try (Admin admin = broker.admin()) {
      admin.createTopics(List.of(new NewTopic(topic, partitions, (short) 1))).all().get(30, TimeUnit.SECONDS);
    }
  }

  /**
   * Creates the topic and writes {@code counts[p]} records {@code p<p>-<i>} to partition p.
   *
   * @return the time of the first record of each partition, epoch ms; record i is i ms later
   */
  private static long createWith(String topic, int partitions, int... counts) throws Exception {
    createTopic(topic, partitions);
    long now = System.currentTimeMillis();
    for (int p = 0; p < counts.length; p++) {
      for (int i = 0; i < counts[p]; i++) {
        send(topic, p, now + i, "p" + p + "-" + i);
      }
    }
    return now;
  }

  private static void send(String topic, int partition, long timestamp, String value) throws Exception {
    producer.send(new ProducerRecord<>(topic, partition, timestamp, null, value)).get(30, TimeUnit.SECONDS);
  }

  private static KafkaConsumer<String, String> consumer() {
    return new KafkaConsumer<>(KafkaClientPolicy.readCommittedConsumer(null).bootstrapServers(broker.bootstrapServers())
        .set(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, "false")
        .set(ConsumerConfig.METADATA_MAX_AGE_CONFIG, "500") // added partitions are seen with the next metadata refresh
        .build(), new StringDeserializer(), new StringDeserializer());
  }

  private static void pollUntil(PartitionCatchUp<String, String> reader, List<ConsumerRecord<String, String>> into,
                                BooleanSupplier done, String what) {
    long deadline = System.nanoTime() + TIMEOUT.toNanos();
    while (!done.getAsBoolean()) {
      assertTrue(System.nanoTime() < deadline, what + "; read so far: " + values(into));
      reader.poll(Duration.ofMillis(100)).forEach(into::add);
    }
  }

  private static List<String> values(List<ConsumerRecord<String, String>> records) {
    List<String> out = new ArrayList<>();
    records.forEach(r -> out.add(r.value()));
    return out;
  }

  private static PartitionCatchUp<String, String> reader(KafkaConsumer<String, String> c, String topic, StartPosition at) {
    return new PartitionCatchUp<>("test", c, Map.of(topic, at), TIMEOUT);
  }

  private static TopicPartition tp(String topic, int p) {
    return new TopicPartition(topic, p);
  }

  @Test
  void fromTheBeginningItCatchesUpWithWhatWasThereAndPicksUpPartitionsAddedLater() throws Exception {
    String t = "catch-up-beginning";
    long now = createWith(t, 3, 5, 3);
    try (KafkaConsumer<String, String> c = consumer()) {
      PartitionCatchUp<String, String> reader = reader(c, t, StartPosition.beginning());
      assertFalse(reader.caughtUpWithStart(), "nothing looked up yet");
      assertEquals(Set.of(), reader.assignNewPartitions());
      assertEquals(Map.of(tp(t, 0), 0L, tp(t, 1), 0L, tp(t, 2), 0L), reader.startOffsets());
      assertEquals(Map.of(tp(t, 0), 5L, tp(t, 1), 3L, tp(t, 2), 0L), reader.endOffsetsAtAssignment(),
          "ends resolved at assignment, not at the first poll");
      assertFalse(reader.caughtUpWithStart());
      send(t, 0, now + 10, "p0-late"); // after the start: the catch-up does not wait for it
      List<ConsumerRecord<String, String>> read = new ArrayList<>();
      pollUntil(reader, read, reader::caughtUpWithStart, "caught up with the start");
      assertTrue(values(read).containsAll(List.of("p0-0", "p0-4", "p1-0", "p1-2")), values(read).toString());
      assertEquals(5L, reader.endOffsetsAtAssignment().get(tp(t, 0)));
      pollUntil(reader, read, () -> values(read).contains("p0-late"), "records written after the start arrive");

      try (Admin admin = broker.admin()) {
        admin.createPartitions(Map.of(t, NewPartitions.increaseTo(4))).all().get(30, TimeUnit.SECONDS);
      }
      send(t, 3, now + 20, "p3-0");
      long deadline = System.nanoTime() + TIMEOUT.toNanos();
      while (!reader.assignment().contains(tp(t, 3))) {
        assertTrue(System.nanoTime() < deadline, "partition 3 not seen");
        reader.poll(Duration.ofMillis(100)).forEach(read::add); // polling refreshes the consumer's metadata
        reader.assignNewPartitions();
      }
      assertEquals(0L, reader.startOffsets().get(tp(t, 3)), "an added partition starts by its topic's rule");
      assertTrue(reader.caughtUpWithStart(), "partitions found later do not hold the start back");
      pollUntil(reader, read, () -> values(read).contains("p3-0"), "the added partition is read");
      assertEquals(1, values(read).stream().filter("p0-0"::equals).count(), "nothing is read twice");
    }
  }

  @Test
  void theLastRecordsOfEachPartition() throws Exception {
    String t = "catch-up-last";
    createWith(t, 3, 6, 1);
    try (KafkaConsumer<String, String> c = consumer()) {
      PartitionCatchUp<String, String> reader = reader(c, t, StartPosition.lastRecords(2));
      reader.assignNewPartitions();
      assertEquals(Map.of(tp(t, 0), 4L, tp(t, 1), 0L, tp(t, 2), 0L), reader.startOffsets(),
          "max(beginning, end - 2): the last two of six, the only one of one, nothing of none");
      List<ConsumerRecord<String, String>> read = new ArrayList<>();
      pollUntil(reader, read, reader::caughtUpWithStart, "caught up with the start");
      assertEquals(Set.of("p0-4", "p0-5", "p1-0"), Set.copyOf(values(read)));
    }
  }

  @Test
  void theFirstRecordAtOrAfterATimeOrTheEndOfTheMomentAndATopicCreatedLater() throws Exception {
    String t = "catch-up-time";
    String late = "catch-up-time-late";
    createTopic(t, 2);
    long t0 = System.currentTimeMillis() - 60_000;
    for (int i = 0; i < 5; i++) {
      send(t, 0, t0 + 1000L * i, "p0-" + i);
    }
    send(t, 1, t0, "p1-old-0");
    send(t, 1, t0 + 1000, "p1-old-1");
    long from = t0 + 2500;
    try (KafkaConsumer<String, String> c = consumer()) {
      PartitionCatchUp<String, String> reader = new PartitionCatchUp<>("test", c,
          Map.of(t, StartPosition.firstAtOrAfter(from), late, StartPosition.firstAtOrAfter(from)), TIMEOUT);
      assertEquals(Set.of(late), reader.assignNewPartitions(), "the missing topic is reported");
      assertEquals(Map.of(tp(t, 0), 3L, tp(t, 1), 2L), reader.startOffsets(),
          "partition 0 at its record of t0 + 3 s; partition 1, with nothing that recent, at its end resolved now");
      send(t, 1, t0 + 3000, "p1-new");
      List<ConsumerRecord<String, String>> read = new ArrayList<>();
      pollUntil(reader, read, () -> values(read).contains("p1-new"), "the record written after the start");
      assertTrue(reader.caughtUpWithStart());

      createTopic(late, 1);
      send(late, 0, t0, "late-old");
      send(late, 0, t0 + 4000, "late-new");
      long deadline = System.nanoTime() + TIMEOUT.toNanos();
      while (!reader.assignNewPartitions().isEmpty()) {
        assertTrue(System.nanoTime() < deadline, "topic " + late + " not seen");
        Thread.sleep(100);
      }
      pollUntil(reader, read, () -> values(read).contains("late-new"), "the topic created later is read");
      assertEquals(Set.of("p0-3", "p0-4", "p1-new", "late-new"), Set.copyOf(values(read)), "nothing before the time");
      assertEquals(4, read.size());
    }
  }

  @Test
  void readToCurrentEndReadsWhatIsThereNow() throws Exception {
    String t = "catch-up-now";
    long now = createWith(t, 2, 1, 1);
    try (KafkaConsumer<String, String> c = consumer()) {
      PartitionCatchUp<String, String> reader = reader(c, t, StartPosition.beginning());
      List<String> seen = new ArrayList<>();
      assertFalse(reader.readToCurrentEnd(TIMEOUT, r -> seen.add(r.value())), "nothing assigned yet");
      reader.assignNewPartitions();
      assertTrue(reader.readToCurrentEnd(TIMEOUT, r -> seen.add(r.value())));
      send(t, 0, now, "c");
      assertTrue(reader.readToCurrentEnd(TIMEOUT, r -> seen.add(r.value())));
      assertEquals(Set.of("p0-0", "p1-0", "c"), Set.copyOf(seen));
      assertEquals(3, seen.size());
    }
  }
}
