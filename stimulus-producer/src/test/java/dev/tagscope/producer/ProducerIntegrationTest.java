package dev.tagscope.producer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tagscope.embedded.EmbeddedKafkaBroker;
import dev.tagscope.schemas.ProbeSpec;
import dev.tagscope.schemas.StimulusFrame;
import dev.tagscope.schemas.TopicSpec;
import dev.tagscope.schemas.Topics;
import dev.tagscope.tagging.PlanException;
import dev.tagscope.tagging.ProbePlan;
import dev.tagscope.testsupport.TopicReads;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The producer against a real broker in the JVM (three partitions per topic, so "one partition" means something). */
class ProducerIntegrationTest {
  private static EmbeddedKafkaBroker broker;

  @BeforeAll
  static void startBroker() {
    broker = EmbeddedKafkaBroker.start();
    broker.createTopics(3);
  }

  @AfterAll
  static void stopBroker() {
    if (broker != null) {
      broker.close();
    }
  }

  private static List<Image> grayImages(int n, int h, int w) {
    List<Image> out = new ArrayList<>();
    for (int k = 0; k < n; k++) {
      byte[] px = new byte[h * w];
      for (int i = 0; i < px.length; i++) {
        px[i] = (byte) (40 + 13 * k + 7 * i);
      }
      out.add(new Image("img" + k, k, 1, h, w, px));
    }
    return out;
  }

  /** Reads every record of a topic with the given key, from the beginning, until {@code expected} arrived. */
  private static <V> List<ConsumerRecord<byte[], byte[]>> read(TopicSpec<String, V> topic, String key, int expected) {
    java.util.function.Predicate<ConsumerRecord<byte[], byte[]>> ofKey =
        r -> key.equals(topic.keySerde().deserializer().deserialize(topic.name(), r.key()));
    return TopicReads.readBytes(broker.bootstrapServers(), topic.name(), true, Duration.ofSeconds(60),
        got -> got.stream().filter(ofKey).count() >= expected).stream().filter(ofKey).collect(Collectors.toList());
  }


  private static StimulusFrame frame(ConsumerRecord<byte[], byte[]> r) {
    return Topics.STIMULI.valueSerde().deserializer().deserialize(Topics.STIMULI.name(), r.value());
  }

  private static long endOffsetSum(String topic) throws Exception {
    try (var admin = broker.admin()) {
      var parts = admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic).partitions();
      Map<TopicPartition, org.apache.kafka.clients.admin.OffsetSpec> req = parts.stream().collect(Collectors.toMap(
          p -> new TopicPartition(topic, p.partition()), p -> org.apache.kafka.clients.admin.OffsetSpec.latest()));
      return admin.listOffsets(req).all().get().values().stream().mapToLong(i -> i.offset()).sum();
    }
  }

  @Test
  void specThenAllFramesInOrderOnOnePartitionWithStimulusTimestamps() {
    List<Image> images = grayImages(2, 3, 4);
    long start = System.currentTimeMillis() - 60_000; // within the broker's timestamp window
    ProbePlan plan = ProbePlan.builder().probeId("order-probe").model("m").startTimeMs(start)
        .imageShape(1, 3, 4).imageCount(2).build();
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    List<long[]> progress = new ArrayList<>();
    PublishSummary s;
    try (StimulusPublisher pub = new StimulusPublisher(broker.bootstrapServers(), registry)) {
      s = pub.publish(plan, images, false, (sent, total) -> progress.add(new long[] {sent, total}));
      assertTrue(registry.getMeters().stream().anyMatch(m -> m.getId().getName().startsWith("kafka.producer.")),
          "KafkaClientMetrics bound");
    }
    assertEquals(new PublishSummary("order-probe", 480, 2, s.seconds(), false), s);
    assertEquals(480, progress.size());
    assertArrayEquals(new long[] {480, 480}, progress.get(479));
    assertEquals(480.0, registry.get(StimulusPublisher.FRAMES_METER).tag("model", "m").counter().count());
    assertEquals(2.0, registry.get(StimulusPublisher.IMAGES_METER).counter().count());

    List<ConsumerRecord<byte[], byte[]>> specs = read(Topics.PROBES, "order-probe", 1);
    assertEquals(1, specs.size());
    ProbeSpec spec = Topics.PROBES.valueSerde().deserializer().deserialize(Topics.PROBES.name(), specs.get(0).value());
    assertEquals(plan.spec(), spec);

    List<ConsumerRecord<byte[], byte[]>> recs = read(Topics.STIMULI, "order-probe", 480);
    assertEquals(480, recs.size());
    Set<Integer> partitions = new HashSet<>();
    FrameSynthesizer synth = new FrameSynthesizer(plan);
    for (int i = 0; i < 480; i++) {
      ConsumerRecord<byte[], byte[]> r = recs.get(i);
      partitions.add(r.partition());
      StimulusFrame f = frame(r);
      assertEquals(i, f.getFrameIndex());
      assertEquals(i % 240, f.getImageFrame());
      assertEquals("img" + (i / 240), f.getImageId());
      assertEquals(i / 240, f.getLabel());
      assertEquals(start + Math.round(1000.0 * i / 120.0), r.timestamp(), "timestamp of frame " + i);
      if (i % 37 == 0) {
        ByteBuffer px = f.getPixels();
        byte[] got = new byte[px.remaining()];
        px.get(got);
        assertArrayEquals(synth.render(images.get(i / 240), i), got, "pixels of frame " + i);
      }
    }
    assertEquals(1, partitions.size(), "one partition per probe keeps frames in order");
    // offsets strictly increasing = the broker's order is frame order
    for (int i = 1; i < recs.size(); i++) {
      assertTrue(recs.get(i).offset() > recs.get(i - 1).offset());
    }
  }

  @Test
  void pacedRunTakesAboutTheStimulusTime() {
    // 40 frames at 40 fps: the last frame is due 39/40 s after the first
    ProbePlan plan = ProbePlan.builder().probeId("paced-probe").model("m").fps(40).windowFrames(40).frequencies(3, 5)
        .maxHarmonic(2).maxImOrder(2).imageShape(1, 3, 4).imageCount(1).build();
    long t0 = System.nanoTime();
    PublishSummary s;
    try (StimulusPublisher pub = new StimulusPublisher(broker.bootstrapServers(), new SimpleMeterRegistry())) {
      s = pub.publish(plan, grayImages(1, 3, 4), true, null);
    }
    double wall = (System.nanoTime() - t0) / 1e9;
    assertEquals(40, s.frames());
    assertTrue(s.seconds() >= 0.95, "paced run took " + s.seconds() + " s, expected >= 0.975 s of stimulus time");
    assertTrue(wall >= 0.95, "wall " + wall);
    assertEquals(40, read(Topics.STIMULI, "paced-probe", 40).size());
  }

  @Test
  void continuousRunCyclesWithCyclePrefixedIdsUntilStopped() {
    ProbePlan plan = ProbePlan.builder().probeId("cont-probe").model("m").fps(40).windowFrames(40).frequencies(3, 5)
        .maxHarmonic(2).maxImOrder(2).imageShape(1, 3, 4).continuous(true).startTimeMs(System.currentTimeMillis()).build();
    assertEquals(-1, plan.spec().getImageCount());
    PublishSummary s;
    try (StimulusPublisher pub = new StimulusPublisher(broker.bootstrapServers(), new SimpleMeterRegistry())) {
      s = pub.publish(plan, grayImages(2, 3, 4), false, (sent, total) -> {
        assertEquals(-1, total);
        if (sent == 200) {
          pub.stop();
        }
      });
    }
    assertTrue(s.stopped());
    assertEquals(200, s.frames());
    assertEquals(5, s.images());
    List<StimulusFrame> frames = read(Topics.STIMULI, "cont-probe", 200).stream().map(ProducerIntegrationTest::frame).toList();
    assertEquals(200, frames.size());
    assertEquals("c0/img0", frames.get(0).getImageId());
    assertEquals("c0/img1", frames.get(40).getImageId());
    assertEquals("c1/img0", frames.get(80).getImageId());
    assertEquals("c2/img0", frames.get(199).getImageId());
    assertEquals(199, frames.get(199).getFrameIndex());
    assertEquals(39, frames.get(199).getImageFrame());
  }

  @Test
  void interruptStopsAContinuousRun() throws Exception {
    ProbePlan plan = ProbePlan.builder().probeId("intr-probe").model("m").fps(40).windowFrames(40).frequencies(3, 5)
        .maxHarmonic(2).maxImOrder(2).imageShape(1, 3, 4).continuous(true).build();
    PublishSummary[] result = new PublishSummary[1];
    boolean[] flagAfter = new boolean[1];
    Thread t = new Thread(() -> {
      try (StimulusPublisher pub = new StimulusPublisher(broker.bootstrapServers(), new SimpleMeterRegistry())) {
        result[0] = pub.publish(plan, grayImages(1, 3, 4), true, null);
        flagAfter[0] = Thread.currentThread().isInterrupted();
      }
    });
    t.start();
    while (read(Topics.STIMULI, "intr-probe", 3).size() < 3) {
      Thread.onSpinWait();
    }
    t.interrupt();
    t.join(30_000);
    assertFalse(t.isAlive());
    assertNotNull(result[0]);
    assertTrue(result[0].stopped());
    assertTrue(result[0].frames() >= 3);
    assertTrue(flagAfter[0], "interrupt flag restored");
  }

  @Test
  void serviceLoadsIdxBuildsPlanAndPublishes(@TempDir Path dir) throws IOException {
    Path images = TestImages.write(dir.resolve("tiny-images-idx3-ubyte.gz"), TestImages.idxImages(5, 6, 6), true);
    TestImages.write(dir.resolve("tiny-labels-idx1-ubyte.gz"), TestImages.idxLabels(5), true);
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    ProducerService svc = ProducerService.builder()
        .bootstrapServers(broker.bootstrapServers())
        .source(images)
        .images(ImageLoader.builder().limit(3).channels(3))
        .plan(ProbePlan.builder().probeId("svc-probe").model("svc-model").layout("quadrants").startTimeMs(System.currentTimeMillis()))
        .registry(registry)
        .createTopics(3)
        .build();
    PublishSummary s = svc.run();
    assertEquals("svc-probe", s.probeId());
    assertEquals(720, s.frames());
    assertEquals(3, s.images());
    assertEquals(720.0, registry.get(StimulusPublisher.FRAMES_METER).tag("model", "svc-model").counter().count());
    ProbeSpec spec = Topics.PROBES.valueSerde().deserializer().deserialize(Topics.PROBES.name(),
        read(Topics.PROBES, "svc-probe", 1).get(0).value());
    assertEquals(3, spec.getImageChannels());
    assertEquals(6, spec.getImageHeight());
    assertEquals(3, spec.getImageCount());
    assertEquals("quadrants", spec.getLayout());
    assertEquals(4, spec.getRegions().size());
    List<StimulusFrame> frames = read(Topics.STIMULI, "svc-probe", 720).stream().map(ProducerIntegrationTest::frame).toList();
    assertEquals(720, frames.size());
    assertEquals("tiny#2", frames.get(719).getImageId());
    assertEquals(6, frames.get(719).getLabel()); // label k = 3k mod 10
    assertEquals(4, frames.get(0).getModulation().size());
  }

  @Test
  void imagesThatDoNotMatchThePlanAreRefusedBeforeSending() throws Exception {
    ProbePlan plan = ProbePlan.builder().probeId("bad-images").model("m").imageShape(1, 3, 4).imageCount(2).build();
    long probesBefore = endOffsetSum(Topics.PROBES.name());
    try (StimulusPublisher pub = new StimulusPublisher(broker.bootstrapServers(), new SimpleMeterRegistry())) {
      assertThrows(IllegalArgumentException.class, () -> pub.publish(plan, grayImages(1, 3, 4), false, null)); // count
      assertThrows(IllegalArgumentException.class, () -> pub.publish(plan, grayImages(2, 4, 4), false, null)); // shape
      Image a = grayImages(1, 3, 4).get(0);
      assertThrows(IllegalArgumentException.class, () -> pub.publish(plan, List.of(a, a), false, null)); // duplicate id
    }
    assertEquals(probesBefore, endOffsetSum(Topics.PROBES.name()));
  }

  @Test
  void invalidPlanSendsNothing(@TempDir Path dir) throws Exception {
    Path images = TestImages.write(dir.resolve("x-images-idx3-ubyte"), TestImages.idxImages(2, 4, 4), false);
    long probesBefore = endOffsetSum(Topics.PROBES.name());
    long stimuliBefore = endOffsetSum(Topics.STIMULI.name());
    ProducerService svc = ProducerService.builder().bootstrapServers(broker.bootstrapServers()).source(images)
        .plan(ProbePlan.builder().model("m").frequencies(6, 7.3)).build();
    PlanException e = assertThrows(PlanException.class, svc::run);
    assertEquals("windowFrames", e.field());
    assertEquals(probesBefore, endOffsetSum(Topics.PROBES.name()));
    assertEquals(stimuliBefore, endOffsetSum(Topics.STIMULI.name()));
  }

  @Test
  void stoppedBeforePublishingSendsNotEvenTheSpec() throws Exception {
    // ProducerService.stop() during image loading reaches the publisher before publish(): the
    // probe must not appear on the compacted probes topic as a probe that never ran.
    ProbePlan plan = ProbePlan.builder().probeId("stopped-early").model("m").fps(40).windowFrames(40).frequencies(3, 5)
        .maxHarmonic(2).maxImOrder(2).imageShape(1, 3, 4).imageCount(1).startTimeMs(System.currentTimeMillis()).build();
    long probesBefore = endOffsetSum(Topics.PROBES.name());
    long stimuliBefore = endOffsetSum(Topics.STIMULI.name());
    PublishSummary s;
    try (StimulusPublisher pub = new StimulusPublisher(broker.bootstrapServers(), new SimpleMeterRegistry())) {
      pub.stop();
      s = pub.publish(plan, grayImages(1, 3, 4), false, null);
    }
    assertTrue(s.stopped());
    assertEquals(0, s.frames());
    assertEquals(probesBefore, endOffsetSum(Topics.PROBES.name()));
    assertEquals(stimuliBefore, endOffsetSum(Topics.STIMULI.name()));
  }

  @Test
  void unpacedRunWaitsWhenStimulusTimeLeadsTheClockByMoreThanMaxLead() {
    // 80 frames at 40 fps from now: frame 79 is stamped 1.975 s ahead, so with a 0.5 s lead it waits >= 1.475 s
    long t0 = System.nanoTime();
    ProbePlan plan = ProbePlan.builder().probeId("lead-probe").model("m").fps(40).windowFrames(40).frequencies(3, 5)
        .maxHarmonic(2).maxImOrder(2).imageShape(1, 3, 4).imageCount(2).startTimeMs(System.currentTimeMillis()).build();
    PublishSummary s;
    try (StimulusPublisher pub = new StimulusPublisher(broker.bootstrapServers(), new SimpleMeterRegistry())) {
      s = pub.maxLead(Duration.ofMillis(500)).publish(plan, grayImages(2, 3, 4), false, null);
    }
    assertEquals(80, s.frames());
    double wall = (System.nanoTime() - t0) / 1e9;
    assertTrue(wall >= 1.4, "unpaced run with a 0.5 s lead took " + wall + " s");
  }

  @Test
  void framesFarAheadOfTheBrokerClockAreReportedClearly() throws Exception {
    // Tagscope creates its topics with an unbounded message.timestamp.after.max.ms; a topic made by
    // hand keeps Kafka 4's default of 1 hour. Stimulus time 2 h ahead must then fail clearly.
    List<String> topics = List.of(Topics.PROBES.name(), Topics.STIMULI.name());
    setTimestampLead(topics, "3600000");
    try {
      ProbePlan plan = ProbePlan.builder().probeId("future-probe").model("m").imageShape(1, 2, 2).imageCount(1)
          .startTimeMs(System.currentTimeMillis() + 7_200_000L).build();
      try (StimulusPublisher pub = new StimulusPublisher(Map.of("bootstrap.servers", broker.bootstrapServers(),
          "delivery.timeout.ms", 10_000, "request.timeout.ms", 5_000), new SimpleMeterRegistry())) {
        KafkaException e = assertThrows(KafkaException.class, () -> pub.publish(plan, grayImages(1, 2, 2), false, null));
        assertTrue(e.getMessage().contains("message.timestamp.after.max.ms"), e.getMessage());
      }
    } finally {
      setTimestampLead(topics, Long.toString(Long.MAX_VALUE));
    }
  }

  private static void setTimestampLead(List<String> topics, String maxMs) throws Exception {
    try (Admin admin = broker.admin()) {
      Map<ConfigResource, Collection<AlterConfigOp>> ops =
          new HashMap<>();
      for (String t : topics) {
        ops.put(new ConfigResource(ConfigResource.Type.TOPIC, t),
            List.of(new AlterConfigOp(new ConfigEntry(
                "message.timestamp.after.max.ms", maxMs), AlterConfigOp.OpType.SET)));
      }
      admin.incrementalAlterConfigs(ops).all().get();
    }
  }
}
