package dev.tagscope.worker;

import static dev.tagscope.worker.InferenceWorkerIntegrationTest.decode;
import static dev.tagscope.worker.InferenceWorkerIntegrationTest.frame;
import static dev.tagscope.worker.InferenceWorkerIntegrationTest.probe;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tagscope.embedded.EmbeddedKafkaBroker;
import dev.tagscope.schemas.ActivationFrame;
import dev.tagscope.schemas.ProbeSpec;
import dev.tagscope.schemas.Reduction;
import dev.tagscope.schemas.Topics;
import dev.tagscope.testsupport.TopicReads;
import dev.tagscope.worker.InferenceWorkerIntegrationTest.Publisher;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A hot model swap against a real broker in the JVM: the watched file is replaced while the worker runs. */
class ModelSwapIntegrationTest {
  private static final int TAPS = 16;

  @TempDir Path dir;

  private static String digestVersion(byte[] content) throws Exception {
    StringBuilder sb = new StringBuilder("sha256:");
    for (byte b : MessageDigest.getInstance("SHA-256").digest(content)) {
      sb.append(String.format("%02x", b & 0xFF));
    }
    return sb.substring(0, "sha256:".length() + 12);
  }

  /** Waits for a condition of the running worker, failing after 90 s. */
  private static void await(String what, BooleanSupplier done) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
    while (!done.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out waiting until " + what);
      }
      Thread.sleep(50);
    }
  }

  private static List<ConsumerRecord<byte[], byte[]>> committedActivations(String bs, int layerFrames) {
    List<ConsumerRecord<byte[], byte[]>> got = TopicReads.readBytes(bs, Topics.ACTIVATIONS.name(), true,
        Duration.ofSeconds(90), rs -> rs.stream().mapToInt(r -> decode(r).getFrames()).sum() >= layerFrames);
    assertEquals(layerFrames, got.stream().mapToInt(r -> decode(r).getFrames()).sum(), "layer-frames committed");
    return got;
  }

  /** Each tap's values of frames {@code from..to-1} of the sample images, as a model computes them. */
  private static Map<String, float[][]> expected(Path model, byte[][] images, int from, int to) {
    try (ActivationModel m = ActivationModel.load(ModelConfig.of(model).withIntraOpThreads(1))) {
      Preprocessor pre = new Preprocessor(m.preprocessing());
      float[] in = new float[(to - from) * pre.inputLength()];
      for (int i = from; i < to; i++) {
        pre.apply(images[i], 1, 28, 28, in, (i - from) * pre.inputLength());
      }
      return m.run(in, to - from, Reduction.MEAN);
    }
  }

  @Test
  void aModelFileReplacedAtTheWatchedPathIsSwappedInBetweenTwoTransactions() throws Exception {
    byte[][] images = TestModels.sampleImages();
    Path watched = TestModels.copyBundled(Files.createDirectories(dir.resolve("deploy")), null);
    String versionA = digestVersion(Files.readAllBytes(watched));
    byte[] bytesB = TestModels.bundledWithScaledFirstConv(2f);
    String versionB = digestVersion(bytesB);
    assertNotEquals(versionA, versionB);
    Path copyB = Files.createDirectories(dir.resolve("b")).resolve(watched.getFileName());
    Files.write(copyB, bytesB);
    TestModels.writeCard(copyB, null);

    try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start()) {
      broker.createTopics();
      String bs = broker.bootstrapServers();
      ProbeSpec pinned = ProbeSpec.newBuilder(probe("pinned", List.of(), Reduction.MEAN)).setModelVersion(versionA).build();
      try (Publisher pub = new Publisher(bs)) {
        pub.probe(probe("s", List.of(), Reduction.MEAN));
        pub.probe(pinned);
        for (int i = 0; i < 8; i++) {
          pub.frame(frame("s", i, images[i], 1, 28, 28));
        }
        for (int i = 0; i < 4; i++) {
          pub.frame(frame("pinned", i, images[i], 1, 28, 28));
        }
      }
      SimpleMeterRegistry registry = new SimpleMeterRegistry();
      // 3 records a poll: several transactions on each side of the swap
      WorkerSettings s = WorkerSettings.defaults(watched).withBatchSize(4).withIntraOpThreads(1)
          .withPollTimeout(Duration.ofMillis(200)).withMaxPollRecords(3).withInstanceId("swap-it")
          .withModelWatch(Duration.ofMillis(200));
      InferenceWorker worker = new InferenceWorker(bs, s, registry);
      try {
        Thread t = new Thread(worker, "worker-swap");
        t.start();
        committedActivations(bs, 12 * TAPS);
        assertEquals(versionA, worker.model().version());

        Path incoming = watched.resolveSibling(".incoming.onnx");
        Files.write(incoming, bytesB);
        Files.move(incoming, watched, StandardCopyOption.ATOMIC_MOVE);
        await("the worker swapped", () -> registry.find(InferenceWorker.MODEL_SWAPS_METER).tag("outcome", "swapped")
            .counter().count() == 1);
        assertEquals(versionB, worker.model().version());

        try (Publisher pub = new Publisher(bs)) {
          for (int i = 8; i < 16; i++) {
            pub.frame(frame("s", i, images[i], 1, 28, 28));
          }
          for (int i = 4; i < 8; i++) {
            pub.frame(frame("pinned", i, images[i], 1, 28, 28));
          }
        }
        committedActivations(bs, 20 * TAPS);
        await("the pinned probe's frames were skipped", () -> registry.get("tagscope.worker.frames.skipped")
            .tag("reason", "other-version").counter().count() == 4);
        worker.close();
        t.join(30_000);
        assertFalse(t.isAlive());
        assertTrue(worker.failure().isEmpty(), () -> "worker failed: " + worker.failure());
      } finally {
        worker.close();
      }

      List<ConsumerRecord<byte[], byte[]>> acts = committedActivations(bs, 20 * TAPS);
      Map<String, float[][]> wantA = expected(TestModels.model(), images, 0, 16);
      Map<String, float[][]> wantB = expected(copyB, images, 0, 16);
      assertFalse(java.util.Arrays.equals(wantA.get("conv1")[8], wantB.get("conv1")[8]), "B computes other values");
      Set<String> seen = new HashSet<>();
      Map<Integer, TreeMap<Long, String>> versionByOffset = new HashMap<>();
      for (ConsumerRecord<byte[], byte[]> r : acts) {
        ActivationFrame a = decode(r);
        assertEquals(1, a.getFrames(), "one frame per image here");
        int i = (int) a.getFrameIndex();
        assertTrue(seen.add(a.getProbeId() + "/" + a.getLayer() + "#" + i), "repeated " + a.getProbeId() + "/" + a.getLayer() + "#" + i);
        boolean before = a.getProbeId().equals("pinned") || i < 8;
        assertEquals(before ? versionA : versionB, a.getModelVersion(), a.getProbeId() + " frame " + i);
        assertTrue(a.getProbeId().equals("s") || i < 4, "the pinned probe is not answered by version B");
        float[] got = new float[a.getValues().size()];
        for (int c = 0; c < got.length; c++) {
          got[c] = a.getValues().get(c);
        }
        assertArrayEquals((before ? wantA : wantB).get(a.getLayer())[i], got, 1e-5f, a.getProbeId() + "/" + a.getLayer() + "#" + i);
        versionByOffset.computeIfAbsent(r.partition(), p -> new TreeMap<>()).put(r.offset(), a.getModelVersion());
      }
      assertEquals(20 * TAPS, seen.size(), "every frame of every tap once");

      // A transaction's records are consecutive offsets of a partition; its commit marker takes the next
      // offset. So each run of consecutive offsets is one transaction, and must be of one version.
      int transactions = 0;
      for (TreeMap<Long, String> partition : versionByOffset.values()) {
        List<String> sequence = new ArrayList<>(partition.values());
        int changes = 0;
        for (int k = 1; k < sequence.size(); k++) {
          changes += sequence.get(k).equals(sequence.get(k - 1)) ? 0 : 1;
        }
        assertTrue(changes <= 1, "the version changes once in a partition's committed sequence: " + changes);
        long previous = Long.MIN_VALUE;
        String runVersion = null;
        for (Map.Entry<Long, String> e : partition.entrySet()) {
          if (e.getKey() != previous + 1) {
            transactions++;
            runVersion = e.getValue();
          }
          assertEquals(runVersion, e.getValue(), "a transaction mixes versions at offset " + e.getKey());
          previous = e.getKey();
        }
      }
      assertTrue(transactions >= 4, "several transactions on each side of the swap: " + transactions);
      assertEquals(1, registry.get(InferenceWorker.MODEL_SWAPS_METER).tag("outcome", "swapped").counter().count());
      assertEquals(1, registry.get(InferenceWorker.MODEL_VERSION_METER).tag("version", versionB).gauge().value());
      assertTrue(registry.find(InferenceWorker.MODEL_VERSION_METER).tag("version", versionA).gauges().isEmpty(),
          "the replaced version's gauge is gone");
      assertEquals(20, registry.get(InferenceWorker.FRAMES_METER).counter().count(), "16 frames of s, 4 of the pinned probe");
    }
  }
}
