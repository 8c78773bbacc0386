package dev.tagscope.worker;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tagscope.embedded.EmbeddedKafkaBroker;
import dev.tagscope.schemas.ActivationFrame;
import dev.tagscope.schemas.DeadLetter;
import dev.tagscope.schemas.DeadLetterFitter;
import dev.tagscope.schemas.DeadLetters;
import dev.tagscope.schemas.ProbeSpec;
import dev.tagscope.schemas.Reduction;
import dev.tagscope.schemas.Region;
import dev.tagscope.schemas.StimulusFrame;
import dev.tagscope.schemas.Topics;
import dev.tagscope.testsupport.TopicReads;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;

/** The worker against a real broker in the JVM. */
class InferenceWorkerIntegrationTest {
  private static final long START_MS = 1_700_000_000_000L;
  private static final double FPS = 120;
  private static final int DEFAULT_TAPS = 16;

  static ProbeSpec probe(String id, List<String> layers, Reduction reduction) {
    return ProbeSpec.newBuilder()
        .setProbeId(id).setModel("fmnist-resnet32").setStartTimeMs(START_MS).setLayout("halves-lr")
        .setRegions(List.of(
            Region.newBuilder().setName("left").setX0(0).setY0(0).setX1(14).setY1(28).setFrequencyHz(6).setPhaseRad(0).build(),
            Region.newBuilder().setName("right").setX0(14).setY0(0).setX1(28).setY1(28).setFrequencyHz(7.5).setPhaseRad(0).build()))
        .setFps(FPS).setWindowFrames(240).setHopFrames(240).setFramesPerImage(240).setSignalBins(List.of())
        .setLayers(layers).setReduction(reduction)
        .setImageChannels(1).setImageHeight(28).setImageWidth(28).setImageCount(1)
        .build();
  }

  static StimulusFrame frame(String probeId, long index, byte[] pixels, int c, int h, int w) {
    return StimulusFrame.newBuilder()
        .setProbeId(probeId).setImageId("fashion-mnist-test#" + index).setFrameIndex(index).setImageFrame((int) index)
        .setStimulusTimeSeconds(index / FPS).setModulation(List.of(0.75f, 0.75f))
        .setChannels(c).setHeight(h).setWidth(w).setPixels(ByteBuffer.wrap(pixels)).build();
  }

  static long timestamp(long index) {
    return START_MS + Math.round(1000 * index / FPS);
  }

  /** Writes records in one go: key, value bytes, timestamp. */
  static final class Publisher implements AutoCloseable {
    final KafkaProducer<byte[], byte[]> producer;

    Publisher(String bootstrap) {
      producer = new KafkaProducer<>(Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap),
          new ByteArraySerializer(), new ByteArraySerializer());
    }

    void probe(ProbeSpec p) {
      String t = Topics.PROBES.name();
      producer.send(new ProducerRecord<>(t, Topics.PROBES.keySerde().serializer().serialize(t, p.getProbeId()),
          Topics.PROBES.valueSerde().serializer().serialize(t, p)));
    }

    void frame(StimulusFrame f) {
      raw(f.getProbeId(), Topics.STIMULI.valueSerde().serializer().serialize(Topics.STIMULI.name(), f),
          timestamp(f.getFrameIndex()));
    }

    void raw(String key, byte[] value, long ts) {
      String t = Topics.STIMULI.name();
      producer.send(new ProducerRecord<>(t, null, ts, Topics.STIMULI.keySerde().serializer().serialize(t, key), value));
    }

    @Override
    public void close() {
      producer.flush();
      producer.close();
    }
  }

  /** Publishes probe {@code probeId} (default taps, MEAN) and its frames {@code 0..frames-1} of {@code images}. */
  private static void publishProbeAndFrames(String bs, String probeId, int frames, byte[][] images) {
    try (Publisher pub = new Publisher(bs)) {
      pub.probe(probe(probeId, List.of(), Reduction.MEAN));
      for (int i = 0; i < frames; i++) {
        pub.frame(frame(probeId, i, images[i], 1, 28, 28));
      }
    }
  }

  /** Every committed record of a topic from the beginning, waiting until at least {@code atLeast} arrived. */
  static List<ConsumerRecord<byte[], byte[]>> readCommitted(String bootstrap, String topic, int atLeast) {
    return read(bootstrap, topic, atLeast, "read_committed");
  }

  private static List<ConsumerRecord<byte[], byte[]>> read(String bootstrap, String topic, int atLeast, String isolation) {
    List<ConsumerRecord<byte[], byte[]>> out = TopicReads.readBytes(bootstrap, topic, "read_committed".equals(isolation),
        Duration.ofSeconds(90), got -> got.size() >= atLeast);
    if (out.size() < atLeast) {
      throw new AssertionError("only " + out.size() + " of " + atLeast + " records arrived on " + topic);
    }
    return out;
  }


  static WorkerSettings settings(String instance) {
    return WorkerSettings.defaults(TestModels.model()).withBatchSize(4).withIntraOpThreads(1)
        .withPollTimeout(Duration.ofMillis(200)).withInstanceId(instance);
  }

  private static String header(ConsumerRecord<?, ?> r, String name) {
    Header h = r.headers().lastHeader(name);
    return h == null ? null : new String(h.value(), StandardCharsets.UTF_8);
  }

  @Test
  void eachFrameBecomesOneActivationPerLayerAndBadRecordsGoToTheDeadLetterTopic() throws Exception {
    byte[][] images = TestModels.sampleImages();
    try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start()) {
      broker.createTopics();
      String bs = broker.bootstrapServers();
      byte[] garbage = "definitely not avro".getBytes(StandardCharsets.UTF_8);
      try (Publisher pub = new Publisher(bs)) {
        pub.probe(probe("p1", List.of(), Reduction.MEAN));
        pub.probe(probe("p2", List.of("layer3.4", "conv1"), Reduction.MAX));
        pub.probe(probe("p3", List.of("fc"), Reduction.MEAN));
        for (int i = 0; i < 10; i++) {
          pub.frame(frame("p1", i, images[i], 1, 28, 28));
          if (i == 4) {
            pub.raw("p1", garbage, timestamp(99));
          }
          if (i == 5) {
            pub.frame(frame("p1", 100, new byte[100], 1, 28, 28)); // 100 pixel bytes for 784
          }
          if (i == 6) {
            pub.frame(frame("ghost", 0, images[0], 1, 28, 28));
          }
        }
        for (int i = 0; i < 3; i++) {
          pub.frame(frame("p2", i, images[20 + i], 1, 28, 28));
        }
        pub.frame(frame("p3", 0, images[0], 1, 28, 28));
      }

      SimpleMeterRegistry registry = new SimpleMeterRegistry();
      int expected = 10 * DEFAULT_TAPS + 3 * 2;
      InferenceWorker worker = new InferenceWorker(bs, settings("it-1"), registry);
      try {
        Thread t = new Thread(worker, "worker-under-test");
        t.start();
        readCommitted(bs, Topics.ACTIVATIONS.name(), expected);
        readCommitted(bs, Topics.DLQ.name(), 4);
        worker.close();
        t.join(30_000);
        assertFalse(t.isAlive());
        assertTrue(worker.failure().isEmpty(), () -> "worker failed: " + worker.failure());
      } finally {
        worker.close(); // idempotent
      }

      // exactly N x layers, no duplicates, keys and values as the model computes them
      List<ConsumerRecord<byte[], byte[]>> acts = readCommitted(bs, Topics.ACTIVATIONS.name(), expected);
      assertEquals(expected, acts.size());
      String topic = Topics.ACTIVATIONS.name();
      Map<String, ActivationFrame> byId = new HashMap<>();
      Map<String, Long> timestamps = new HashMap<>();
      for (ConsumerRecord<byte[], byte[]> r : acts) {
        String key = Topics.ACTIVATIONS.keySerde().deserializer().deserialize(topic, r.key());
        ActivationFrame a = Topics.ACTIVATIONS.valueSerde().deserializer().deserialize(topic, r.value());
        assertEquals(Topics.probeLayerKey(a.getProbeId(), a.getLayer()), key);
        assertEquals("fmnist-resnet32", a.getModel());
        String id = key + "#" + a.getFrameIndex();
        assertTrue(byId.put(id, a) == null, "duplicate " + id);
        timestamps.put(id, r.timestamp());
      }
      try (ActivationModel m = ActivationModel.load(ModelConfig.of(TestModels.model()))) {
        Preprocessor pre = new Preprocessor(m.preprocessing());
        float[] in = new float[10 * pre.inputLength()];
        for (int i = 0; i < 10; i++) {
          pre.apply(images[i], 1, 28, 28, in, i * pre.inputLength());
        }
        Map<String, float[][]> mean = m.run(in, 10, Reduction.MEAN);
        for (TappedLayer layer : m.tappedLayers()) {
          for (int i = 0; i < 10; i++) {
            ActivationFrame a = byId.get("p1/" + layer.name() + "#" + i);
            assertNotNull(a, "p1/" + layer.name() + " frame " + i);
            assertEquals("fashion-mnist-test#" + i, a.getImageId());
            assertEquals(i, a.getImageFrame());
            assertEquals(timestamp(i), timestamps.get("p1/" + layer.name() + "#" + i), "stimulus time stamp");
            float[] got = new float[a.getValues().size()];
            for (int c = 0; c < got.length; c++) {
              got[c] = a.getValues().get(c);
            }
            assertArrayEquals(mean.get(layer.name())[i], got, 1e-5f, layer.name() + " frame " + i);
          }
        }
        float[] in2 = new float[3 * pre.inputLength()];
        for (int i = 0; i < 3; i++) {
          pre.apply(images[20 + i], 1, 28, 28, in2, i * pre.inputLength());
        }
        Map<String, float[][]> max = m.run(in2, 3, Reduction.MAX);
        Set<String> p2Layers = byId.values().stream().filter(a -> a.getProbeId().equals("p2"))
            .map(ActivationFrame::getLayer).collect(Collectors.toSet());
        assertEquals(Set.of("layer3.4", "conv1"), p2Layers, "the probe's subset of layers, with its reduction");
        for (int i = 0; i < 3; i++) {
          ActivationFrame a = byId.get("p2/layer3.4#" + i);
          assertEquals(64, a.getValues().size());
          for (int c = 0; c < 64; c++) {
            assertEquals(max.get("layer3.4")[i][c], a.getValues().get(c), 1e-5f);
          }
        }
      }

      // dead letters: the reason in a header, the original bytes kept
      List<ConsumerRecord<byte[], byte[]>> dlq = readCommitted(bs, Topics.DLQ.name(), 4);
      assertEquals(4, dlq.size());
      Map<String, DeadLetter> letters = new HashMap<>();
      for (ConsumerRecord<byte[], byte[]> r : dlq) {
        assertEquals(InferenceWorker.STAGE, header(r, DeadLetters.HEADER_STAGE));
        assertEquals(Topics.STIMULI.name(), header(r, DeadLetters.HEADER_TOPIC));
        DeadLetter d = Topics.DLQ.valueSerde().deserializer().deserialize(Topics.DLQ.name(), r.value());
        assertEquals(header(r, DeadLetters.HEADER_ERROR), d.getError());
        letters.put(d.getError(), d);
      }
      DeadLetter undecodable = letters.entrySet().stream().filter(e -> e.getKey().contains("cannot decode StimulusFrame"))
          .map(Map.Entry::getValue).findFirst().orElseThrow(() -> new AssertionError(letters.keySet()));
      byte[] kept = new byte[undecodable.getValue().remaining()];
      undecodable.getValue().duplicate().get(kept);
      assertArrayEquals(garbage, kept);
      assertTrue(letters.keySet().stream().anyMatch(e -> e.contains("100 pixel bytes") && e.contains("784")), letters.keySet()::toString);
      assertTrue(letters.keySet().stream().anyMatch(e -> e.contains("unknown probe 'ghost'")), letters.keySet()::toString);
      assertTrue(letters.keySet().stream().anyMatch(e -> e.contains("'fc'") && e.contains("--layers")), letters.keySet()::toString);

      assertEquals(13, registry.get("tagscope.worker.frames").counter().count());
      assertEquals(expected, registry.get("tagscope.worker.activations").counter().count());
      assertEquals(4, registry.get("tagscope.dlq.records").tag("stage", "inference-worker").counter().count());
      assertTrue(registry.get("tagscope.worker.inference").timer().count() >= 4, "at least ceil(13/4) batches");
    }
  }

  @Test
  void consecutiveFramesOfOneImageGoOutAsOneRecordPerLayerPerRun() throws Exception {
    byte[][] images = TestModels.sampleImages();
    int frames = 14; // image "a" is frames 0..9, image "b" frames 10..13
    try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start()) {
      broker.createTopics();
      String bs = broker.bootstrapServers();
      try (Publisher pub = new Publisher(bs)) {
        pub.probe(probe("p1", List.of(), Reduction.MEAN));
        for (int i = 0; i < frames; i++) {
          boolean a = i < 10;
          pub.frame(StimulusFrame.newBuilder(frame("p1", i, images[i], 1, 28, 28))
              .setImageId(a ? "a" : "b").setImageFrame(a ? i : i - 10).build());
        }
      }
      SimpleMeterRegistry registry = new SimpleMeterRegistry();
      InferenceWorker worker = new InferenceWorker(bs, settings("runs-1"), registry); // batch 4
      List<ConsumerRecord<byte[], byte[]>> acts;
      try {
        Thread t = new Thread(worker, "worker-under-test");
        t.start();
        acts = TopicReads.readBytes(bs, Topics.ACTIVATIONS.name(), true, Duration.ofSeconds(90),
            got -> got.stream().mapToInt(r -> decode(r).getFrames()).sum() >= frames * DEFAULT_TAPS);
        worker.close();
        t.join(30_000);
        assertTrue(worker.failure().isEmpty(), () -> "worker failed: " + worker.failure());
      } finally {
        worker.close();
      }

      try (ActivationModel m = ActivationModel.load(ModelConfig.of(TestModels.model()))) {
        Preprocessor pre = new Preprocessor(m.preprocessing());
        float[] in = new float[frames * pre.inputLength()];
        for (int i = 0; i < frames; i++) {
          pre.apply(images[i], 1, 28, 28, in, i * pre.inputLength());
        }
        Map<String, float[][]> mean = m.run(in, frames, Reduction.MEAN);
        Map<String, Integer> seen = new HashMap<>();
        int longest = 0;
        for (ConsumerRecord<byte[], byte[]> r : acts) {
          ActivationFrame a = decode(r);
          int n = a.getFrames();
          int first = (int) a.getFrameIndex();
          longest = Math.max(longest, n);
          assertTrue(n >= 1 && n <= 4, "a run is 1 to batchSize frames: " + n);
          assertEquals(first < 10 ? "a" : "b", a.getImageId());
          assertEquals(first < 10 ? first : first - 10, a.getImageFrame());
          assertTrue(first < 10 == first + n - 1 < 10, "a run never spans two images: " + first + "+" + n);
          assertEquals(timestamp(first + n - 1), r.timestamp(), "stamped with the run's last frame's stimulus time");
          float[][] want = mean.get(a.getLayer());
          int c = want[0].length;
          assertEquals(n * c, a.getValues().size(), "[frames, C]");
          for (int t = 0; t < n; t++) {
            assertTrue(seen.merge(a.getLayer() + "#" + (first + t), 1, Integer::sum) == 1, "frame " + (first + t) + " twice");
            for (int k = 0; k < c; k++) {
              assertEquals(want[first + t][k], a.getValues().get(t * c + k), 1e-5f, a.getLayer() + " frame " + (first + t));
            }
          }
        }
        assertEquals(frames * DEFAULT_TAPS, seen.size(), "every frame of every layer once");
        assertTrue(longest > 1, "some record carried a run");
        assertTrue(acts.size() < frames * DEFAULT_TAPS, acts.size() + " records for " + frames + " frames");
        assertEquals(acts.size(), registry.get(InferenceWorker.ACTIVATIONS_METER).counter().count());
      }
    }
  }

  static ActivationFrame decode(ConsumerRecord<byte[], byte[]> r) {
    return Topics.ACTIVATIONS.valueSerde().deserializer().deserialize(Topics.ACTIVATIONS.name(), r.value());
  }

  @Test
  void aRestartedWorkerNeitherRepeatsNorLosesFrames() throws Exception {
    byte[][] images = TestModels.sampleImages();
    try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start();
         ActivationModel model = ActivationModel.load(settings("x").modelConfig())) {
      broker.createTopics();
      String bs = broker.bootstrapServers();
      publishProbeAndFrames(bs, "r1", 6, images);
      for (int round = 0; round < 2; round++) {
        int framesSoFar = round == 0 ? 6 : 11;
        InferenceWorker worker = new InferenceWorker(bs, settings("restart"), model, new SimpleMeterRegistry());
        try {
          Thread t = new Thread(worker, "worker-round-" + round);
          t.start();
          readCommitted(bs, Topics.ACTIVATIONS.name(), framesSoFar * DEFAULT_TAPS);
          worker.close();
          t.join(30_000);
          assertTrue(worker.failure().isEmpty(), () -> "worker failed: " + worker.failure());
        } finally {
          worker.close(); // idempotent
        }
        if (round == 0) { // frames published while no worker runs
          try (Publisher pub = new Publisher(bs)) {
            for (int i = 6; i < 11; i++) {
              pub.frame(frame("r1", i, images[i], 1, 28, 28));
            }
          }
        }
      }
      List<ConsumerRecord<byte[], byte[]>> acts = readCommitted(bs, Topics.ACTIVATIONS.name(), 11 * DEFAULT_TAPS);
      assertEquals(11 * DEFAULT_TAPS, acts.size(), "every frame once per layer across the restart");
      Set<String> seen = new HashSet<>();
      for (ConsumerRecord<byte[], byte[]> r : acts) {
        ActivationFrame a = Topics.ACTIVATIONS.valueSerde().deserializer().deserialize(Topics.ACTIVATIONS.name(), r.value());
        assertTrue(seen.add(a.getLayer() + "#" + a.getFrameIndex()), "repeated " + a.getLayer() + "#" + a.getFrameIndex());
      }
      for (int i = 0; i < 11; i++) {
        assertTrue(seen.contains("layer2.0#" + i), "frame " + i);
      }
    }
  }

  @Test
  void aFailedTransactionIsAbortedRewoundAndRetried() throws Exception {
    byte[][] images = TestModels.sampleImages();
    try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start();
         ActivationModel model = ActivationModel.load(settings("x").modelConfig())) {
      broker.createTopics();
      String bs = broker.bootstrapServers();
      publishProbeAndFrames(bs, "a1", 7, images);
      SimpleMeterRegistry registry = new SimpleMeterRegistry();
      AtomicInteger commits = new AtomicInteger();
      InferenceWorker worker = new InferenceWorker(bs, settings("abort"), model, registry);
      try {
        worker.beforeCommitForTests(() -> {
          if (commits.getAndIncrement() == 0) {
            throw new KafkaException("injected failure before the first commit");
          }
        });
        Thread t = new Thread(worker, "worker-abort");
        t.start();
        readCommitted(bs, Topics.ACTIVATIONS.name(), 7 * DEFAULT_TAPS);
        worker.close();
        t.join(30_000);
        assertTrue(worker.failure().isEmpty(), () -> "worker failed: " + worker.failure());
      } finally {
        worker.close(); // idempotent
      }
      assertTrue(commits.get() >= 2, "the failed batch was retried");
      List<ConsumerRecord<byte[], byte[]>> committed = readCommitted(bs, Topics.ACTIVATIONS.name(), 7 * DEFAULT_TAPS);
      assertEquals(7 * DEFAULT_TAPS, committed.size());
      Set<String> seen = new HashSet<>();
      for (ConsumerRecord<byte[], byte[]> r : committed) {
        ActivationFrame a = Topics.ACTIVATIONS.valueSerde().deserializer().deserialize(Topics.ACTIVATIONS.name(), r.value());
        assertTrue(seen.add(a.getLayer() + "#" + a.getFrameIndex()), "repeated " + a.getLayer() + "#" + a.getFrameIndex());
      }
      // the aborted attempt did write records; read_uncommitted sees them, read_committed does not
      List<ConsumerRecord<byte[], byte[]>> all = read(bs, Topics.ACTIVATIONS.name(), 7 * DEFAULT_TAPS, "read_uncommitted");
      assertTrue(all.size() >= 8 * DEFAULT_TAPS, "aborted records in the log: " + all.size());
      assertEquals(7, registry.get("tagscope.worker.frames").counter().count(), "counted once, on commit");
    }
  }

  /** Activation records committed so far, checked to hold every frame of {@code probeId} exactly once per tap. */
  private static void assertEachFrameOnce(String bs, String probeId, int frames) {
    List<ConsumerRecord<byte[], byte[]>> acts = readCommitted(bs, Topics.ACTIVATIONS.name(), frames * DEFAULT_TAPS);
    assertEquals(frames * DEFAULT_TAPS, acts.size(), "every frame once per tap");
    Set<String> seen = new HashSet<>();
    for (ConsumerRecord<byte[], byte[]> r : acts) {
      ActivationFrame a = Topics.ACTIVATIONS.valueSerde().deserializer().deserialize(Topics.ACTIVATIONS.name(), r.value());
      assertEquals(probeId, a.getProbeId());
      assertTrue(seen.add(a.getLayer() + "#" + a.getFrameIndex()), "repeated " + a.getLayer() + "#" + a.getFrameIndex());
    }
    for (int i = 0; i < frames; i++) {
      assertTrue(seen.contains("layer2.0#" + i), "frame " + i);
    }
  }

  @Test
  @SuppressWarnings("try") // the workers are closed inside their try on purpose: the assertions after it read their final state
  void twoModelsOnOneClusterEachAnswerOnlyTheirOwnProbesInTheirOwnGroups() throws Exception {
    byte[][] images = TestModels.sampleImages();
    // One file loaded under two names stands for two deployed models.
    WorkerSettings first = settings("pod-1");
    WorkerSettings second = settings("pod-1").withPreprocessing(ModelOverrides.NONE.withName("other-model"));
    try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start();
         ActivationModel a = ActivationModel.load(first.modelConfig());
         ActivationModel b = ActivationModel.load(second.modelConfig())) {
      broker.createTopics();
      String bs = broker.bootstrapServers();
      ProbeSpec forB = ProbeSpec.newBuilder(probe("pb", List.of(), Reduction.MEAN)).setModel("other-model").build();
      try (Publisher pub = new Publisher(bs)) {
        pub.probe(probe("pa", List.of(), Reduction.MEAN));
        pub.probe(forB);
        for (int i = 0; i < 4; i++) { // interleaved, so each worker skips frames inside its batches
          pub.frame(frame("pa", i, images[i], 1, 28, 28));
          if (i < 3) {
            pub.frame(frame("pb", i, images[i], 1, 28, 28));
          }
        }
      }
      SimpleMeterRegistry metersA = new SimpleMeterRegistry();
      SimpleMeterRegistry metersB = new SimpleMeterRegistry();
      try (InferenceWorker wa = new InferenceWorker(bs, first, a, metersA);
           InferenceWorker wb = new InferenceWorker(bs, second, b, metersB)) {
        Thread ta = new Thread(wa, "worker-a");
        Thread tb = new Thread(wb, "worker-b");
        ta.start();
        tb.start();
        List<ConsumerRecord<byte[], byte[]>> acts = readCommitted(bs, Topics.ACTIVATIONS.name(), 7 * DEFAULT_TAPS);
        Map<String, Set<Long>> framesByProbeAndModel = new HashMap<>();
        for (ConsumerRecord<byte[], byte[]> r : acts) {
          ActivationFrame f = Topics.ACTIVATIONS.valueSerde().deserializer().deserialize(Topics.ACTIVATIONS.name(), r.value());
          if (f.getLayer().equals("layer2.0")) {
            assertTrue(framesByProbeAndModel.computeIfAbsent(f.getProbeId() + "/" + f.getModel(), k -> new HashSet<>())
                .add(f.getFrameIndex()), "frame answered twice: " + f.getProbeId() + "#" + f.getFrameIndex());
          }
        }
        assertEquals(Map.of("pa/fmnist-resnet32", Set.of(0L, 1L, 2L, 3L), "pb/other-model", Set.of(0L, 1L, 2L)),
            framesByProbeAndModel);
        assertEquals(7 * DEFAULT_TAPS, acts.size());
        // Each group commits past the frames it skipped, so neither lags behind the other's probes.
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", bs))) {
          TopicPartition tp = new TopicPartition(Topics.STIMULI.name(), 0);
          for (String group : List.of(first.groupIdFor(a.name()), second.groupIdFor(b.name()))) {
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            long committed = -1;
            while (committed < 7 && System.nanoTime() < deadline) {
              var offsets = admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get();
              committed = offsets.containsKey(tp) ? offsets.get(tp).offset() : -1;
              Thread.sleep(100);
            }
            assertEquals(7, committed, "committed offset of " + group);
          }
        }
        wa.close();
        wb.close();
        ta.join(30_000);
        tb.join(30_000);
        assertTrue(wa.failure().isEmpty() && wb.failure().isEmpty(), () -> wa.failure() + " / " + wb.failure());
        assertEquals(3.0, metersA.get("tagscope.worker.frames.skipped").tag("reason", "other-model").counter().count());
        assertEquals(4.0, metersB.get("tagscope.worker.frames.skipped").tag("reason", "other-model").counter().count());
        assertEquals(4.0, metersA.get("tagscope.worker.frames").counter().count());
        assertEquals(3.0, metersB.get("tagscope.worker.frames").counter().count());
        assertEquals(0.0, metersA.get("tagscope.dlq.records").counter().count() + metersB.get("tagscope.dlq.records").counter().count(),
            "a probe for another model is not bad input");
      }
    }
  }

  /** Runs a worker until {@code activations} records are committed, then closes it; it must not have failed. */
  private static void runUntil(InferenceWorker worker, String bs, int activations, int deadLetters) throws Exception {
    try {
      Thread t = new Thread(worker, "worker-under-test");
      t.start();
      readCommitted(bs, Topics.ACTIVATIONS.name(), activations);
      readCommitted(bs, Topics.DLQ.name(), deadLetters);
      worker.close();
      t.join(30_000);
      assertFalse(t.isAlive());
      assertTrue(worker.failure().isEmpty(), () -> "worker failed: " + worker.failure());
    } finally {
      worker.close(); // idempotent
    }
  }

  @Test
  void aTimedOutCommitIsCalledAgainNotAbortedAndCommitsEachFrameOnce() throws Exception {
    byte[][] images = TestModels.sampleImages();
    try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start();
         ActivationModel model = ActivationModel.load(settings("x").modelConfig())) {
      broker.createTopics();
      String bs = broker.bootstrapServers();
      publishProbeAndFrames(bs, "t1", 6, images);
      SimpleMeterRegistry registry = new SimpleMeterRegistry();
      AtomicReference<TimeoutInjectingProducer> producer = new AtomicReference<>();
      WorkerSettings s = settings("commit-retry").withCommitRetries(3).withCommitRetryBackoff(Duration.ofMillis(10));
      // the first sendOffsetsToTransaction and the first two commitTransaction calls time out
      InferenceWorker worker = new InferenceWorker(bs, s, model, registry, p -> {
        producer.set(new TimeoutInjectingProducer(p, 2, 1));
        return producer.get();
      });
      runUntil(worker, bs, 6 * DEFAULT_TAPS, 0);

      TimeoutInjectingProducer p = producer.get();
      assertEquals(2, p.commitTimeouts.get());
      assertEquals(0, p.abortCalls.get(), "a timed-out commit is called again, never aborted");
      assertEquals(p.commitCalls.get() - 2, p.commits.get(), "every other commit call went through");
      assertTrue(p.sendOffsetsCalls.get() >= 2, "the timed-out sendOffsetsToTransaction was called again");
      assertEachFrameOnce(bs, "t1", 6);
      assertEquals(6, registry.get("tagscope.worker.frames").counter().count(), "counted once, on commit");
    }
  }

  @Test
  void aCommitThatKeepsTimingOutStopsTheWorkerAndARestartLosesAndRepeatsNothing() throws Exception {
    byte[][] images = TestModels.sampleImages();
    try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start();
         ActivationModel model = ActivationModel.load(settings("x").modelConfig())) {
      broker.createTopics();
      String bs = broker.bootstrapServers();
      publishProbeAndFrames(bs, "t2", 6, images);
      WorkerSettings s = settings("commit-stuck").withCommitRetries(2).withCommitRetryBackoff(Duration.ofMillis(10));
      AtomicReference<TimeoutInjectingProducer> producer = new AtomicReference<>();
      SimpleMeterRegistry registry = new SimpleMeterRegistry();
      InferenceWorker stuck = new InferenceWorker(bs, s, model, registry, p -> {
        producer.set(new TimeoutInjectingProducer(p, Integer.MAX_VALUE, 0));
        return producer.get();
      });
      try {
        Thread t = new Thread(stuck, "worker-commit-stuck");
        t.start();
        t.join(60_000);
        assertFalse(t.isAlive(), "the worker gives up by itself");
      } finally {
        stuck.close();
      }
      Throwable f = stuck.failure().orElseThrow(() -> new AssertionError("no failure reported"));
      CommitTimeoutException e = assertInstanceOf(CommitTimeoutException.class, f);
      assertEquals(3, e.attempts(), "1 call + 2 retries");
      assertTrue(e.getMessage().contains("timed out 3 times"), e.getMessage());
      assertTrue(e.getMessage().contains("commit-stuck"), "names the instance to restart: " + e.getMessage());
      assertInstanceOf(TimeoutException.class, e.getCause());
      assertEquals(3, producer.get().commitCalls.get());
      assertEquals(0, producer.get().abortCalls.get(), "Kafka refuses an abort after a timed-out commit");
      assertEquals(0, registry.get("tagscope.worker.frames").counter().count());
      assertEquals(0, readCommitted(bs, Topics.ACTIVATIONS.name(), 0).size(), "nothing committed");

      // the same instance again: its transactional.id settles the open transaction, the offsets were not committed
      runUntil(new InferenceWorker(bs, s, model, new SimpleMeterRegistry()), bs, 6 * DEFAULT_TAPS, 0);
      assertEachFrameOnce(bs, "t2", 6);
    }
  }

  private static final Pattern VALUE_NOTE = Pattern.compile("value keeps the first (\\d+) of (\\d+) bytes");
  private static final Pattern LIMIT_NOTE = Pattern.compile("truncated to fit (\\d+) bytes");

  /** Not Avro (no C3 01 marker), so the worker refuses it, and larger than the limits under test. */
  private static byte[] oversizedGarbage(int n) {
    byte[] b = new byte[n];
    new Random(42).nextBytes(b);
    b[0] = 'x';
    return b;
  }

  /** Publishes probe {@code probeId}, frames 0-2, the garbage (stimuli offset 3), frames 3-5. */
  private static void publishAroundGarbage(String bs, String probeId, byte[] garbage) throws Exception {
    byte[][] images = TestModels.sampleImages();
    try (Publisher pub = new Publisher(bs)) {
      pub.probe(probe(probeId, List.of(), Reduction.MEAN));
      for (int i = 0; i < 3; i++) {
        pub.frame(frame(probeId, i, images[i], 1, 28, 28));
      }
      pub.raw(probeId, garbage, timestamp(50));
      for (int i = 3; i < 6; i++) {
        pub.frame(frame(probeId, i, images[i], 1, 28, 28));
      }
    }
  }

  /** Checks the single dead letter: a truncated copy of {@code garbage} within {@code limit} bytes. */
  private static void assertTruncatedDeadLetter(String bs, byte[] garbage, int limit) {
    List<ConsumerRecord<byte[], byte[]>> dlq = readCommitted(bs, Topics.DLQ.name(), 1);
    assertEquals(1, dlq.size());
    ConsumerRecord<byte[], byte[]> r = dlq.get(0);
    int headerBytes = 0;
    for (Header h : r.headers()) {
      headerBytes += h.key().getBytes(StandardCharsets.UTF_8).length + h.value().length;
    }
    assertTrue(r.serializedKeySize() + r.serializedValueSize() + headerBytes <= limit,
        "dead letter of " + (r.serializedKeySize() + r.serializedValueSize() + headerBytes) + " bytes > " + limit);
    DeadLetter d = Topics.DLQ.valueSerde().deserializer().deserialize(Topics.DLQ.name(), r.value());
    assertEquals(InferenceWorker.STAGE, d.getStage());
    assertEquals(Topics.STIMULI.name(), d.getSourceTopic());
    assertEquals(3, d.getSourceOffset());
    assertTrue(d.getError().startsWith("cannot decode StimulusFrame"), d.getError());
    assertEquals(d.getError(), header(r, DeadLetters.HEADER_ERROR));
    assertEquals("3", header(r, DeadLetters.HEADER_OFFSET));
    assertEquals("value", header(r, DeadLetterFitter.HEADER_TRUNCATED));
    assertEquals(Integer.toString(garbage.length), header(r, DeadLetterFitter.HEADER_ORIGINAL_VALUE_BYTES));
    byte[] kept = new byte[d.getValue().remaining()];
    d.getValue().duplicate().get(kept);
    assertTrue(kept.length > 0 && kept.length < garbage.length, "kept " + kept.length);
    assertArrayEquals(Arrays.copyOf(garbage, kept.length), kept, "a prefix of the refused record");
    Matcher m = VALUE_NOTE.matcher(d.getError());
    assertTrue(m.find(), d.getError());
    assertEquals(kept.length, Integer.parseInt(m.group(1)));
    assertEquals(garbage.length, Integer.parseInt(m.group(2)));
    assertArrayEquals("d1".getBytes(StandardCharsets.UTF_8), r.key(), "original key");
  }

  @Test
  void aDeadLetterLargerThanTheProducerAllowsIsTruncatedAndTheStreamGoesOn() throws Exception {
    byte[] garbage = oversizedGarbage(40_000);
    try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start();
         ActivationModel model = ActivationModel.load(settings("x").modelConfig())) {
      broker.createTopics();
      String bs = broker.bootstrapServers();
      publishAroundGarbage(bs, "d1", garbage);
      int limit = 16_384;
      SimpleMeterRegistry registry = new SimpleMeterRegistry();
      WorkerSettings s = settings("dlq-request-size").withClientOverrides(Map.of("max.request.size", Integer.toString(limit)));
      runUntil(new InferenceWorker(bs, s, model, registry), bs, 6 * DEFAULT_TAPS, 1);

      assertEachFrameOnce(bs, "d1", 6);
      assertTruncatedDeadLetter(bs, garbage, limit);
      DeadLetter d = Topics.DLQ.valueSerde().deserializer().deserialize(Topics.DLQ.name(),
          readCommitted(bs, Topics.DLQ.name(), 1).get(0).value());
      assertTrue(d.getError().contains("truncated to fit " + limit + " bytes"), d.getError());
      assertTrue(d.getValue().remaining() > limit / 2, "most of the room goes to the payload: " + d.getValue().remaining());
      assertEquals(1, registry.get("tagscope.dlq.records").tag("stage", "inference-worker").counter().count());
      assertEquals(6, registry.get("tagscope.worker.frames").counter().count());
    }
  }

  private static void setDlqMaxMessageBytes(EmbeddedKafkaBroker broker, int bytes) throws Exception {
    try (Admin admin = broker.admin()) {
      admin.incrementalAlterConfigs(Map.of(new ConfigResource(ConfigResource.Type.TOPIC, Topics.DLQ.name()),
          List.of(new AlterConfigOp(new ConfigEntry("max.message.bytes", Integer.toString(bytes)),
              AlterConfigOp.OpType.SET)))).all().get();
    }
  }

  @Test
  void aDeadLetterTheTopicRefusesAsTooLargeIsCutUntilTheBrokerTakesIt() throws Exception {
    byte[] garbage = oversizedGarbage(40_000);
    try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start();
         ActivationModel model = ActivationModel.load(settings("x").modelConfig())) {
      broker.createTopics();
      int topicLimit = 8192;
      setDlqMaxMessageBytes(broker, topicLimit); // the producer's max.request.size stays at 1 MiB
      String bs = broker.bootstrapServers();
      publishAroundGarbage(bs, "d1", garbage);
      SimpleMeterRegistry registry = new SimpleMeterRegistry();
      runUntil(new InferenceWorker(bs, settings("dlq-topic-size"), model, registry), bs, 6 * DEFAULT_TAPS, 1);

      assertEachFrameOnce(bs, "d1", 6);
      assertTruncatedDeadLetter(bs, garbage, topicLimit);
      DeadLetter d = Topics.DLQ.valueSerde().deserializer().deserialize(Topics.DLQ.name(),
          readCommitted(bs, Topics.DLQ.name(), 1).get(0).value());
      Matcher m = LIMIT_NOTE.matcher(d.getError());
      assertTrue(m.find(), d.getError());
      int learned = Integer.parseInt(m.group(1));
      assertTrue(learned <= topicLimit && learned >= InferenceWorker.MIN_DEAD_LETTER_BYTES, "learned limit " + learned);
      assertEquals(1, registry.get("tagscope.dlq.records").tag("stage", "inference-worker").counter().count());
      assertEquals(6, registry.get("tagscope.worker.frames").counter().count());
    }
  }

  @Test
  void aDeadLetterTopicThatRefusesEvenABareDeadLetterStopsTheWorkerInsteadOfLooping() throws Exception {
    try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start();
         ActivationModel model = ActivationModel.load(settings("x").modelConfig())) {
      broker.createTopics();
      setDlqMaxMessageBytes(broker, 200); // less than a dead letter's stage, coordinates and reason
      String bs = broker.bootstrapServers();
      publishAroundGarbage(bs, "d1", oversizedGarbage(3000));
      InferenceWorker worker = new InferenceWorker(bs, settings("dlq-tiny-topic"), model, new SimpleMeterRegistry());
      try {
        Thread t = new Thread(worker, "worker-dlq-tiny");
        t.start();
        t.join(60_000);
        assertFalse(t.isAlive(), "the worker stops by itself");
      } finally {
        worker.close();
      }
      Throwable f = worker.failure().orElseThrow(() -> new AssertionError("no failure reported"));
      assertInstanceOf(IllegalStateException.class, f);
      assertTrue(f.getMessage().contains("max.message.bytes of " + Topics.DLQ.name()), f.getMessage());
      assertEquals(0, readCommitted(bs, Topics.DLQ.name(), 0).size());
    }
  }

  /**
   * A transaction that runs past {@code transaction.timeout.ms} is aborted by the coordinator, which
   * bumps the producer epoch; the worker's next send is then refused with
   * InvalidProducerEpochException. Kafka keeps that abortable (abortTransaction re-initialises the
   * producer), so the worker must abort, rewind and commit the batch again, not stop.
   */
  @Test
  void aTransactionTheCoordinatorTimedOutIsAbortedAndRetriedNotFatal() throws Exception {
    byte[][] images = TestModels.sampleImages();
    try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start(Files.createTempDirectory("tagscope-kafka-"), true,
            Map.of("transaction.abort.timed.out.transaction.cleanup.interval.ms", "300"));
         ActivationModel real = ActivationModel.load(settings("x").modelConfig())) {
      broker.createTopics();
      String bs = broker.bootstrapServers();
      publishProbeAndFrames(bs, "e1", 6, images);
      // The second model run (second frame of the first transaction, batch size 1) stalls well past
      // the 1 s transaction timeout, as a GC pause or an overloaded host would.
      AtomicInteger runs = new AtomicInteger();
      ActivationModel slow = (ActivationModel) Proxy.newProxyInstance(ActivationModel.class.getClassLoader(),
          new Class<?>[] {ActivationModel.class}, (proxy, method, args) -> {
            if (method.getName().equals("run") && runs.incrementAndGet() == 2) {
              Thread.sleep(4000);
            }
            try {
              return method.invoke(real, args);
            } catch (InvocationTargetException e) {
              throw e.getCause();
            }
          });
      SimpleMeterRegistry registry = new SimpleMeterRegistry();
      WorkerSettings s = settings("epoch-bumped").withBatchSize(1)
          .withClientOverrides(Map.of("transaction.timeout.ms", "1000"));
      runUntil(new InferenceWorker(bs, s, slow, registry), bs, 6 * DEFAULT_TAPS, 0);

      assertTrue(runs.get() > 6, "the timed-out batch was run again: " + runs.get() + " model runs");
      assertEachFrameOnce(bs, "e1", 6);
      assertEquals(6, registry.get("tagscope.worker.frames").counter().count(), "counted once, on commit");
    }
  }
}
