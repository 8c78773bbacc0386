package dev.tagscope.producer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tagscope.embedded.EmbeddedKafkaBroker;
import dev.tagscope.schemas.DeadLetter;
import dev.tagscope.schemas.DeadLetters;
import dev.tagscope.schemas.ProbeImage;
import dev.tagscope.schemas.ProbeSpec;
import dev.tagscope.schemas.StimulusFrame;
import dev.tagscope.schemas.Topics;
import dev.tagscope.tagging.ProbePlan;
import dev.tagscope.testsupport.TopicReads;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Live traffic against a real broker in the JVM: requests written by a plain producer, as a
 * deployment would, probed by the producer service; stimuli, dead letters and the committed offsets
 * read back read_committed.
 */
class LiveTrafficIntegrationTest {
  private static final int H = 6;
  private static final int W = 5;
  private static final int F = 240; // frames per image, the default window
  private static EmbeddedKafkaBroker broker;

  @BeforeAll
  static void startBroker() {
    broker = EmbeddedKafkaBroker.start();
    broker.createTopics(1);
  }

  @AfterAll
  static void stopBroker() {
    if (broker != null) {
      broker.close();
    }
  }

  private static void createTopic(String name) throws Exception {
    try (Admin admin = broker.admin()) {
      admin.createTopics(List.of(new NewTopic(name, 1, (short) 1))).all().get();
    }
  }

  /** Writes requests as a deployment would (plain producer, no transactions); returns their offsets. */
  private static List<Long> write(String topic, List<ProducerRecord<byte[], byte[]>> records) throws Exception {
    Map<String, Object> cfg = Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers());
    List<Long> offsets = new ArrayList<>();
    try (KafkaProducer<byte[], byte[]> p = new KafkaProducer<>(cfg, new ByteArraySerializer(), new ByteArraySerializer())) {
      for (ProducerRecord<byte[], byte[]> r : records) {
        offsets.add(p.send(new ProducerRecord<>(topic, 0, r.timestamp(), r.key(), r.value(), r.headers())).get().offset());
      }
    }
    return offsets;
  }

  private static ProducerRecord<byte[], byte[]> request(String key, byte[] value, String... headerNameValue) {
    RecordHeaders h = new RecordHeaders();
    for (int i = 0; i < headerNameValue.length; i += 2) {
      h.add(headerNameValue[i], headerNameValue[i + 1].getBytes(StandardCharsets.UTF_8));
    }
    return new ProducerRecord<>("unused", 0, null, key.getBytes(StandardCharsets.UTF_8), value, h);
  }

  private static ProducerService live(String topic, String group, Sampling sampling, SimpleMeterRegistry registry) {
    return ProducerService.builder().bootstrapServers(broker.bootstrapServers())
        .producerConfig(Map.of("auto.offset.reset", "earliest"))
        .liveTraffic(new LiveTraffic(topic, group, "it-" + group, sampling))
        .plan(ProbePlan.builder().model("m").imageShape(1, H, W))
        .registry(registry).build();
  }

  /** Committed stimulus frames of a probe, in offset order, once at least {@code expected} are there. */
  private static List<ConsumerRecord<byte[], byte[]>> frames(String probeId, int expected) {
    byte[] key = Topics.STIMULI.keySerde().serializer().serialize(Topics.STIMULI.name(), probeId);
    Predicate<ConsumerRecord<byte[], byte[]>> ofProbe = r -> java.util.Arrays.equals(key, r.key());
    return TopicReads.readBytes(broker.bootstrapServers(), Topics.STIMULI.name(), true, Duration.ofSeconds(60),
        got -> got.stream().filter(ofProbe).count() >= expected).stream().filter(ofProbe).collect(Collectors.toList());
  }

  private static StimulusFrame frame(ConsumerRecord<byte[], byte[]> r) {
    return Topics.STIMULI.valueSerde().deserializer().deserialize(Topics.STIMULI.name(), r.value());
  }

  private static byte[] bytes(ByteBuffer b) {
    ByteBuffer d = b.duplicate();
    byte[] out = new byte[d.remaining()];
    d.get(out);
    return out;
  }

  private static String header(ConsumerRecord<byte[], byte[]> r, String name) {
    Header h = r.headers().lastHeader(name);
    return h == null ? null : new String(h.value(), StandardCharsets.UTF_8);
  }

  private static long committed(String group, String topic) throws Exception {
    try (Admin admin = broker.admin()) {
      OffsetAndMetadata o = admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get()
          .get(new TopicPartition(topic, 0));
      return o == null ? -1 : o.offset();
    }
  }

  private static long awaitCommitted(String group, String topic, long expected) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    long got = committed(group, topic);
    while (got != expected && System.nanoTime() < deadline) {
      Thread.sleep(50);
      got = committed(group, topic);
    }
    return got;
  }

  private static long endOffset(String topic) throws Exception {
    try (Admin admin = broker.admin()) {
      TopicPartition tp = new TopicPartition(topic, 0);
      return admin.listOffsets(Map.of(tp, OffsetSpec.latest())).all().get().get(tp).offset();
    }
  }

  @Test
  void sampledRequestsBecomeStimulusImagesAndBadOnesDeadLetters() throws Exception {
    String topic = "inference.requests";
    createTopic(topic);
    byte[] png0 = TestRequests.encode(TestRequests.grayPicture(0, H, W), "png");
    byte[] raw = new byte[H * W];
    for (int i = 0; i < raw.length; i++) {
      raw[i] = (byte) (250 - 7 * i);
    }
    byte[] garbage = "not an image at all".getBytes(StandardCharsets.US_ASCII);
    byte[] wrongShape = TestRequests.encode(TestRequests.grayPicture(5, H + 1, W), "png");
    byte[] png1 = TestRequests.encode(TestRequests.grayPicture(1, H, W), "png");
    List<ProducerRecord<byte[], byte[]>> requests = List.of(
        request("a", png0, LiveTraffic.HEADER_LABEL, "3"),
        request("b", raw, LiveTraffic.HEADER_SHAPE, "1," + H + "," + W, LiveTraffic.HEADER_LABEL, "4"),
        request("c", garbage),
        request("d", wrongShape),
        request("e", png1));
    assertEquals(List.of(0L, 1L, 2L, 3L, 4L), write(topic, requests));

    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    String probeId;
    try (ProducerService svc = live(topic, "g-main", Sampling.every(1), registry).start()) {
      assertTrue(svc.awaitRunning(Duration.ofSeconds(60)), "running: " + svc.failure());
      probeId = svc.plan().probeId();
      assertTrue(svc.plan().continuous());
      List<ConsumerRecord<byte[], byte[]>> recs = frames(probeId, 3 * F);
      assertEquals(3 * F, recs.size(), "three sampled requests decode, 240 frames each");
      assertEquals(5, awaitCommitted("g-main", topic, 5), "every request's offset committed");
      assertFalse(svc.isFinished(), "live traffic has no end");
      assertTrue(svc.failure().isEmpty());

      // The images as the test knows them, independently of the decoder.
      Map<String, byte[]> expected = new LinkedHashMap<>();
      expected.put(topic + "-0@0", TestRequests.grayPixels(0, H, W));
      expected.put(topic + "-0@1", raw);
      expected.put(topic + "-0@4", TestRequests.grayPixels(1, H, W));
      Integer[] labels = {3, 4, null};
      List<String> ids = new ArrayList<>(expected.keySet());
      ProbePlan plan = svc.plan();
      FrameSynthesizer synth = new FrameSynthesizer(plan);
      long lastIndex = -1;
      for (int n = 0; n < 3 * F; n++) {
        StimulusFrame f = frame(recs.get(n));
        int k = n / F;
        assertEquals(ids.get(k), f.getImageId(), "frame " + n);
        assertEquals(labels[k], f.getLabel(), "label of " + ids.get(k));
        assertEquals(n % F, f.getImageFrame());
        assertTrue(f.getFrameIndex() > lastIndex, "frameIndex only grows");
        if (f.getImageFrame() == 0) {
          assertEquals(0, f.getFrameIndex() % F, "an image starts at a multiple of framesPerImage");
        } else {
          assertEquals(lastIndex + 1, f.getFrameIndex(), "frames of an image are consecutive");
        }
        lastIndex = f.getFrameIndex();
        assertEquals(plan.startTimeMs() + Math.round(1000.0 * f.getFrameIndex() / plan.fps()), recs.get(n).timestamp());
        assertEquals(f.getFrameIndex() / plan.fps(), f.getStimulusTimeSeconds(), 1e-12);
        byte[] px = bytes(f.getPixels());
        byte[] source = expected.get(ids.get(k));
        if (f.getImageFrame() == 0) {
          assertArrayEquals(synthFirstFrame(source), px, "first frame of " + ids.get(k));
        } else if (f.getImageFrame() % 31 == 0) {
          assertArrayEquals(synth.render(new Image("x", null, 1, H, W, source), f.getFrameIndex()), px);
        }
      }

      // Each probed request's ProbeImage, committed with its frames: the decoded pixels and the label header.
      Map<String, ProbeImage> probeImages = new HashMap<>();
      TopicReads.readCommitted(broker.bootstrapServers(), Topics.PROBE_IMAGES, Duration.ofSeconds(30), got -> got.size() >= 3)
          .forEach(r -> probeImages.put(r.key(), r.value()));
      for (int k = 0; k < 3; k++) {
        ProbeImage pi = probeImages.get(Topics.probeImageKey(probeId, ids.get(k)));
        assertNotNull(pi, "ProbeImage of " + ids.get(k) + " in " + probeImages.keySet());
        assertEquals(labels[k], pi.getLabel(), "label of " + ids.get(k));
        assertEquals(List.of(1, H, W), List.of(pi.getChannels(), pi.getHeight(), pi.getWidth()));
        assertArrayEquals(expected.get(ids.get(k)), bytes(pi.getPixels()), "unmodulated pixels of " + ids.get(k));
      }

      // The spec: continuous, of the declared shape.
      List<ConsumerRecord<byte[], byte[]>> specs = TopicReads.readBytes(broker.bootstrapServers(), Topics.PROBES.name(), true,
          Duration.ofSeconds(30), got -> !got.isEmpty());
      ProbeSpec spec = specs.stream().map(r -> Topics.PROBES.valueSerde().deserializer().deserialize(Topics.PROBES.name(), r.value()))
          .filter(s -> s.getProbeId().equals(probeId)).findFirst().orElseThrow();
      assertTrue(spec.getContinuous());
      assertEquals(-1, spec.getImageCount());
      assertEquals(List.of(1, H, W), List.of(spec.getImageChannels(), spec.getImageHeight(), spec.getImageWidth()));

      // Meters count what committed.
      assertEquals(3.0, registry.get(LiveTrafficPublisher.REQUESTS_METER).tag("outcome", "probed").counter().count());
      assertEquals(2.0, registry.get(LiveTrafficPublisher.REQUESTS_METER).tag("outcome", "refused").counter().count());
      assertEquals(2.0, registry.get(DeadLetters.RECORDS_METER).tag("stage", ProducerService.STAGE).counter().count());
      assertEquals(3.0 * F, registry.get(StimulusPublisher.FRAMES_METER).counter().count());
    }

    // The bad requests are dead letters with their original bytes and the reason.
    List<ConsumerRecord<byte[], byte[]>> dlq = TopicReads.readBytes(broker.bootstrapServers(), Topics.DLQ.name(), true,
        Duration.ofSeconds(30), got -> got.size() >= 2).stream()
        .filter(r -> topic.equals(header(r, DeadLetters.HEADER_TOPIC))).toList();
    assertEquals(2, dlq.size());
    byte[][] originals = {garbage, wrongShape};
    String[] keys = {"c", "d"};
    String[] reasons = {"neither a PNG", "PNG image of shape [C,7,5], but the probe's images are [1,6,5]"};
    for (int i = 0; i < 2; i++) {
      ConsumerRecord<byte[], byte[]> r = dlq.get(i);
      DeadLetter letter = Topics.DLQ.valueSerde().deserializer().deserialize(Topics.DLQ.name(), r.value());
      assertEquals(keys[i], new String(r.key(), StandardCharsets.UTF_8));
      assertArrayEquals(originals[i], bytes(letter.getValue()));
      assertArrayEquals(keys[i].getBytes(StandardCharsets.UTF_8), bytes(letter.getKey()));
      assertEquals(ProducerService.STAGE, header(r, DeadLetters.HEADER_STAGE));
      assertEquals(Long.toString(2 + i), header(r, DeadLetters.HEADER_OFFSET));
      assertEquals("0", header(r, DeadLetters.HEADER_PARTITION));
      assertTrue(header(r, DeadLetters.HEADER_ERROR).contains(reasons[i]), header(r, DeadLetters.HEADER_ERROR));
      assertEquals(letter.getError(), header(r, DeadLetters.HEADER_ERROR));
    }

    // The requests topic holds what the test wrote, nothing more.
    assertEquals(5, endOffset(topic));
    List<ConsumerRecord<byte[], byte[]>> back = TopicReads.readBytes(broker.bootstrapServers(), topic, false,
        Duration.ofSeconds(30), got -> got.size() >= 5);
    assertEquals(5, back.size());
    for (int i = 0; i < 5; i++) {
      assertArrayEquals(requests.get(i).value(), back.get(i).value());
    }
  }

  @Test
  void everyKthSampleAndARestartResumesAtTheCommittedOffsetWithoutRepeats() throws Exception {
    String topic = "inference.requests.k";
    createTopic(topic);
    List<ProducerRecord<byte[], byte[]>> first = new ArrayList<>();
    for (int k = 0; k < 6; k++) {
      first.add(request("r" + k, TestRequests.encode(TestRequests.grayPicture(k, H, W), "png")));
    }
    write(topic, first);
    String firstProbe;
    try (ProducerService svc = live(topic, "g-k", Sampling.every(2), new SimpleMeterRegistry()).start()) {
      assertTrue(svc.awaitRunning(Duration.ofSeconds(60)));
      firstProbe = svc.plan().probeId();
      List<String> ids = frames(firstProbe, 3 * F).stream().map(r -> frame(r).getImageId()).distinct().toList();
      assertEquals(List.of(topic + "-0@0", topic + "-0@2", topic + "-0@4"), ids);
      assertEquals(6, awaitCommitted("g-k", topic, 6));
    }
    // Two more requests while no probe runs; the next run of the group starts at offset 6 and counts afresh.
    write(topic, List.of(request("r6", TestRequests.encode(TestRequests.grayPicture(6, H, W), "png")),
        request("r7", TestRequests.encode(TestRequests.grayPicture(7, H, W), "png"))));
    try (ProducerService svc = live(topic, "g-k", Sampling.every(2), new SimpleMeterRegistry()).start()) {
      assertTrue(svc.awaitRunning(Duration.ofSeconds(60)));
      List<ConsumerRecord<byte[], byte[]>> recs = frames(svc.plan().probeId(), F);
      assertEquals(8, awaitCommitted("g-k", topic, 8));
      assertEquals(List.of(topic + "-0@6"), recs.stream().map(r -> frame(r).getImageId()).distinct().toList());
      StimulusFrame f0 = frame(recs.get(0));
      assertArrayEquals(
          synthFirstFrame(TestRequests.grayPixels(6, H, W)), bytes(f0.getPixels()), "the request at offset 6, decoded");
      assertNull(f0.getLabel());
    }
    assertEquals(3 * F, frames(firstProbe, 3 * F).size(), "the first probe's frames stay as they were");
  }

  /** An image's first frame: frameIndex a multiple of the window, phase 0, so every pixel is scaled by 0.75. */
  private static byte[] synthFirstFrame(byte[] source) {
    byte[] out = new byte[source.length];
    for (int p = 0; p < out.length; p++) {
      out[p] = (byte) Math.floor((source[p] & 0xff) * 0.75 + 0.5);
    }
    return out;
  }
}
