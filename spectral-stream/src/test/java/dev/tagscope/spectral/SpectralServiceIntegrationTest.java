package dev.tagscope.spectral;

import static dev.tagscope.spectral.Fixtures.bytes;
import static dev.tagscope.spectral.Fixtures.frame;
import static dev.tagscope.spectral.Fixtures.probe;
import static dev.tagscope.spectral.Fixtures.timestamp;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tagscope.embedded.EmbeddedKafkaBroker;
import dev.tagscope.schemas.DeadLetter;
import dev.tagscope.schemas.DeadLetters;
import dev.tagscope.schemas.TopicSpec;
import dev.tagscope.schemas.ImportanceBucket;
import dev.tagscope.schemas.LayerImportance;
import dev.tagscope.schemas.SignalBin;
import dev.tagscope.schemas.TagResponse;
import dev.tagscope.schemas.TopExample;
import dev.tagscope.schemas.TopExamples;
import dev.tagscope.schemas.Topics;
import dev.tagscope.testsupport.TopicReads;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.IntFunction;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SpectralServiceIntegrationTest {
  @TempDir
  Path stateDir;

  @Test
  void analysesActivationsOnARealBrokerWithExactlyOnce() throws Exception {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start()) {
      broker.createTopics();
      String bs = broker.bootstrapServers();
      // 1-s history buckets without grace: the second image's window closes the first one's bucket
      SpectralSettings settings = SpectralSettings.of(registry)
          .withHistory(HistorySettings.defaults().withBucket(Duration.ofSeconds(1), Duration.ZERO));
      try (SpectralService service = new SpectralService(bs, Map.of(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString()), settings)
          .start()) {
        assertTrue(service.awaitRunning(Duration.ofSeconds(60)), "RUNNING in time, state " + service.state());
        try (KafkaProducer<String, byte[]> p = new KafkaProducer<>(Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bs),
            new StringSerializer(), new ByteArraySerializer())) {
          p.send(new ProducerRecord<>(Topics.PROBES.name(), null, Fixtures.START_MS, "it",
              Topics.PROBES.valueSerde().serializer().serialize(Topics.PROBES.name(), probe("it", "fmnist", 240, 240, 240)))).get();
          p.send(new ProducerRecord<>(Topics.ACTIVATIONS.name(), null, timestamp(0), "it/conv1",
              "garbage".getBytes(StandardCharsets.UTF_8))).get();
          IntFunction<List<Float>> values = Fixtures.threeFilters();
          for (int i = 0; i < 480; i++) {
            p.send(new ProducerRecord<>(Topics.ACTIVATIONS.name(), null, timestamp(i), "it/conv1",
                bytes(frame("it", "img" + i / 240, "conv1", i, i % 240, values.apply(i % 240)))));
          }
          p.flush();
        }
        TagResponse tag = readOne(bs, Topics.TAG_RESPONSES.name(), Topics.TAG_RESPONSES.valueSerde().deserializer());
        List<SignalBin> bins = tag.getSignalBins();
        int f1 = 0;
        assertEquals("f1", bins.get(f1).getLabel());
        assertEquals(0.5, tag.getFilters().get(0).getAmplitude().get(f1), 1e-6);
        LayerImportance imp = readOne(bs, Topics.IMPORTANCE.name(), Topics.IMPORTANCE.valueSerde().deserializer());
        assertEquals("fmnist", imp.getModel());
        assertEquals(1, imp.getFilters().get(0).getRank());
        ImportanceBucket bucket = readOne(bs, Topics.IMPORTANCE_HISTORY.name(), Topics.IMPORTANCE_HISTORY.valueSerde().deserializer());
        // the first window ends at frame 239, stimulus time START + 1.992 s: bucket [START + 1 s, START + 2 s)
        assertEquals(Fixtures.START_MS + 1000, bucket.getBucketStartMs());
        assertEquals(1, bucket.getWindowsSeen());
        assertEquals("fmnist", bucket.getModel());
        assertEquals(1, bucket.getFilters().get(0).getRank());
        DeadLetter dead = readOne(bs, Topics.DLQ.name(), Topics.DLQ.valueSerde().deserializer());
        assertTrue(dead.getError().contains("not a readable ActivationFrame"), dead.getError());
        assertEquals(KafkaStreams.State.RUNNING, service.state());
        assertEquals(481, registry.get("tagscope.spectral.records").counter().count(), "every record, the unreadable one too");
        assertEquals(480, registry.get("tagscope.spectral.frames").counter().count(), "the layer-frames of the readable records");
        assertTrue(registry.getMeters().stream().anyMatch(m -> m.getId().getName().startsWith("kafka.stream")),
            "Kafka Streams metrics bound");
      }
    }
  }

  @Test
  void aTagResponseTooLargeForItsTopicGoesToTheDeadLetterTopicAndTheStreamGoesOn() throws Exception {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start()) {
      broker.createTopics();
      String bs = broker.bootstrapServers();
      try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bs))) {
        ConfigResource topic = new ConfigResource(ConfigResource.Type.TOPIC, Topics.TAG_RESPONSES.name());
        assertEquals(Integer.toString(TopicSpec.MAX_MESSAGE_BYTES), admin.describeConfigs(List.of(topic)).all().get()
            .get(topic).get(TopicConfig.MAX_MESSAGE_BYTES_CONFIG).value(), "Tagscope creates its topics with 8 MiB");
      }
      // A producer limit below the window's tag response (2.3 KB; every other record of the application, the dead
      // letter too, is below 1.4 KB), as one above 8 MiB is by default: the processor must dead-letter it.
      Map<String, Object> overrides = Map.of(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString(),
          StreamsConfig.producerPrefix(ProducerConfig.MAX_REQUEST_SIZE_CONFIG), 2000);
      try (SpectralService service = new SpectralService(bs, overrides, SpectralSettings.of(registry)).start()) {
        assertTrue(service.awaitRunning(Duration.ofSeconds(60)), "RUNNING in time, state " + service.state());
        try (KafkaProducer<String, byte[]> p = new KafkaProducer<>(Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bs),
            new StringSerializer(), new ByteArraySerializer())) {
          p.send(new ProducerRecord<>(Topics.PROBES.name(), null, Fixtures.START_MS, "big",
              Topics.PROBES.valueSerde().serializer().serialize(Topics.PROBES.name(), probe("big", "fmnist", 240, 240, 240)))).get();
          IntFunction<List<Float>> values = Fixtures.threeFilters();
          for (int i = 0; i < 240; i++) {
            p.send(new ProducerRecord<>(Topics.ACTIVATIONS.name(), null, timestamp(i), "big/conv1",
                bytes(frame("big", "img0", "conv1", i, i, values.apply(i)))));
          }
          p.flush();
        }
        DeadLetter dead = readOne(bs, Topics.DLQ.name(), Topics.DLQ.valueSerde().deserializer());
        assertTrue(dead.getError().contains("the tag response of the window at imageFrame 0..239 of image 'img0' of layer 'conv1'"
            + " of probe 'big'"), dead.getError());
        assertTrue(dead.getError().contains("max.message.bytes"), "the reason names the fix: " + dead.getError());
        assertEquals(Topics.ACTIVATIONS.name(), dead.getSourceTopic(), "the letter points at the activation record");
        assertEquals(SpectralSettings.STAGE, dead.getStage());
        LayerImportance imp = readOne(bs, Topics.IMPORTANCE.name(), Topics.IMPORTANCE.valueSerde().deserializer());
        assertEquals(1, imp.getWindowsSeen(), "the window's importance is still written");
        assertEquals(KafkaStreams.State.RUNNING, service.state(), "the application goes on");
        assertTrue(TopicReads.readBytes(bs, Topics.TAG_RESPONSES.name(), true, Duration.ofSeconds(2), r -> false).isEmpty(),
            "the oversized tag response is not on its topic");
        assertEquals(1, registry.get(DeadLetters.RECORDS_METER).tag("stage", SpectralSettings.STAGE).counter().count());
      }
    }
  }

  /**
   * The running per-image sums of the top examples survive a restart: half an image's frames go to one
   * instance, which is closed; a second instance with an empty state folder (so it restores from the
   * changelog) gets the other half, and the image's activations are the means over all 240 frames.
   */
  @Test
  void topExamplesOfAnImageSplitAcrossARestartAreTheMeansOverAllItsFrames(@TempDir Path second) throws Exception {
    try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start()) {
      broker.createTopics();
      String bs = broker.bootstrapServers();
      IntFunction<List<Float>> values = Fixtures.threeFilters();
      try (KafkaProducer<String, byte[]> p = new KafkaProducer<>(Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bs),
          new StringSerializer(), new ByteArraySerializer())) {
        p.send(new ProducerRecord<>(Topics.PROBES.name(), null, Fixtures.START_MS, "rs",
            Topics.PROBES.valueSerde().serializer().serialize(Topics.PROBES.name(), probe("rs", "fmnist", 240, 240, 240)))).get();
        try (SpectralService first = new SpectralService(bs, Map.of(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString()),
            SpectralSettings.of(new SimpleMeterRegistry())).start()) {
          assertTrue(first.awaitRunning(Duration.ofSeconds(60)), "RUNNING in time, state " + first.state());
          for (int i = 0; i < 120; i++) {
            p.send(new ProducerRecord<>(Topics.ACTIVATIONS.name(), null, timestamp(i), "rs/conv1",
                bytes(frame("rs", "img0", "conv1", i, i, values.apply(i))))).get();
          }
          // After the first half, a record the processor dead-letters: once its letter is committed, so are the sums.
          p.send(new ProducerRecord<>(Topics.ACTIVATIONS.name(), null, timestamp(120), "rs/conv1",
              "garbage".getBytes(StandardCharsets.UTF_8))).get();
          readOne(bs, Topics.DLQ.name(), Topics.DLQ.valueSerde().deserializer());
        }
        try (SpectralService again = new SpectralService(bs, Map.of(StreamsConfig.STATE_DIR_CONFIG, second.toString()),
            SpectralSettings.of(new SimpleMeterRegistry())).start()) {
          assertTrue(again.awaitRunning(Duration.ofSeconds(60)), "RUNNING in time, state " + again.state());
          for (int i = 120; i < 240; i++) {
            p.send(new ProducerRecord<>(Topics.ACTIVATIONS.name(), null, timestamp(i), "rs/conv1",
                bytes(frame("rs", "img0", "conv1", i, i, values.apply(i))))).get();
          }
          TopExamples top = readOne(bs, Topics.TOP_EXAMPLES.name(), Topics.TOP_EXAMPLES.valueSerde().deserializer());
          for (int c = 0; c < 3; c++) {
            double sum = 0;
            for (int i = 0; i < 240; i++) {
              sum += values.apply(i).get(c);
            }
            TopExample e = top.getFilters().get(c).getExamples().get(0);
            assertEquals("img0", e.getImageId());
            assertEquals(240, e.getFrames(), "filter " + c + ": every frame, both halves");
            assertEquals(sum / 240, e.getActivation(), 1e-6, "filter " + c);
          }
        }
      }
    }
  }

  /** Reads the first committed record of a topic (read_committed: exactly-once output only). */
  private static <V> V readOne(String bs, String topic, Deserializer<V> value) {
    List<ConsumerRecord<byte[], byte[]>> got = TopicReads.readBytes(bs, topic, true, Duration.ofSeconds(60), r -> !r.isEmpty());
    if (got.isEmpty()) {
      throw new AssertionError("nothing committed on " + topic + " within 60 s");
    }
    return value.deserialize(topic, got.get(0).value());
  }

}
