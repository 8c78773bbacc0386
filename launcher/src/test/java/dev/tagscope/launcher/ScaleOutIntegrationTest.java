package dev.tagscope.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tagscope.embedded.EmbeddedKafkaBroker;
import dev.tagscope.producer.Image;
import dev.tagscope.producer.ImageLoader;
import dev.tagscope.schemas.FilterResponse;
import dev.tagscope.schemas.TagResponse;
import dev.tagscope.schemas.Topics;
import dev.tagscope.testsupport.ProjectFiles;
import dev.tagscope.testsupport.TopicReads;
import dev.tagscope.worker.WorkerSettings;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;

/**
 * Scale-out the Kafka way ({@link ScaleOut}), shown to work on the embedded broker: four probes at
 * once through two inference workers in one consumer group and two instances of the spectral-stream
 * Streams application, on topics of four partitions. Every probe completes, every window comes
 * exactly once, nothing goes to the dead-letter topic, both instances of each stage did part of the
 * work, and every tag response equals, bit for bit, the one a single worker and a single Streams
 * instance on one-partition topics (a fresh broker) make of the same probes; also when the second
 * worker and Streams instance join while the probes run.
 */
class ScaleOutIntegrationTest {
  private static final int PARTITIONS = 4;
  /** Window starts of a 160-frame image with W = 80 and hop 40. */
  private static final List<Integer> STARTS = List.of(0, 40, 80);
  private static final List<String> LAYERS = List.of("conv1", "layer3.4");

  /** A window of a probe's layer: what at most one tag response may describe. */
  private record WindowKey(String probe, String layer, String image, int start) {
    static WindowKey of(TagResponse t) {
      return new WindowKey(t.getProbeId(), t.getLayer(), t.getImageId(), t.getWindowStartFrame());
    }
  }

  @Test
  void fourProbesOnTwoWorkersAndTwoStreamsInstancesGiveTheSingleInstanceResultsExactlyOnce() throws Exception {
    List<Image> images = ImageLoader.builder().limit(ScaleOut.PROBES * ScaleOut.IMAGES_PER_PROBE).build()
        .load(ProjectFiles.samples());
    WorkerSettings settings = WorkerSettings.defaults(ProjectFiles.bundledModel()).withLayers(String.join(",", LAYERS))
        .withIntraOpThreads(1);
    try (ScaleOut scaleOut = ScaleOut.load(settings, 2)) {
      assertEquals(LAYERS, scaleOut.layers());
      List<ScaleOut.Probe> probes = scaleOut.probes(images, PARTITIONS);
      Set<WindowKey> expected = expectedWindows(probes);
      assertEquals(4 * 3 * STARTS.size() * LAYERS.size(), expected.size(), "4 probes x 3 images x 3 windows x 2 layers");
      Set<Integer> stimuliPartitions = new HashSet<>();
      probes.forEach(p -> stimuliPartitions.add(ScaleOut.partition(p.plan().probeId(), PARTITIONS)));
      assertEquals(PARTITIONS, stimuliPartitions.size(), "one probe per stimuli partition, so both workers get probes");

      Map<WindowKey, TagResponse> single;
      try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start()) {
        ScaleOut.Result r = scaleOut.run(broker.bootstrapServers(), new ScaleOut.Instances(1, 1, 1), probes, Duration.ofMinutes(2));
        assertEquals(expected.size(), r.windows());
        single = exactlyOnce(broker.bootstrapServers(), expected);
      }

      try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start()) {
        ScaleOut.Result r = scaleOut.run(broker.bootstrapServers(), new ScaleOut.Instances(PARTITIONS, 2, 2), probes,
            Duration.ofMinutes(2));
        Map<WindowKey, TagResponse> scaled = exactlyOnce(broker.bootstrapServers(), expected);

        // Both workers and both Streams instances had partitions with data, or this proves nothing.
        long frames = probes.stream().mapToLong(p -> p.plan().totalFrames()).sum();
        assertEquals(4 * 3 * 160, frames);
        assertEquals(2, r.workerFrames().size());
        assertTrue(r.workerFrames().stream().allMatch(f -> f > 0), "frames per worker " + r.workerFrames());
        // the worker counts frames when their transaction commits: the sum is every frame once
        assertEquals(frames, r.workerFrames().stream().mapToDouble(Double::doubleValue).sum(), 0.0,
            "frames per worker " + r.workerFrames());
        assertEquals(2, r.streamsRecords().size());
        assertTrue(r.streamsRecords().stream().allMatch(c -> c > 0), "activation records per Streams instance " + r.streamsRecords());

        for (WindowKey k : expected) {
          assertSameWindow(single.get(k), scaled.get(k), k);
        }
      }

      // Scaling out while the probes run: the second worker and Streams instance join right after
      // the producers start, both groups rebalance with frames in flight, and still no window is
      // lost, doubled or changed. (How much the joiners do depends on how fast they join: not asserted.)
      try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start()) {
        ScaleOut.Result r = scaleOut.run(broker.bootstrapServers(), new ScaleOut.Instances(PARTITIONS, 2, 2), probes,
            Duration.ofMinutes(2), true);
        assertEquals(expected.size(), r.windows());
        assertEquals(4 * 3 * 160, r.workerFrames().stream().mapToDouble(Double::doubleValue).sum(), 0.0,
            "frames committed per worker " + r.workerFrames() + ": each frame once, rebalance or not");
        Map<WindowKey, TagResponse> joined = exactlyOnce(broker.bootstrapServers(), expected);
        for (WindowKey k : expected) {
          assertSameWindow(single.get(k), joined.get(k), k);
        }
      }
    }
  }

  /** Every (probe, layer, image, window start) the geometry yields: 3 windows per 160-frame image. */
  private static Set<WindowKey> expectedWindows(List<ScaleOut.Probe> probes) {
    Set<WindowKey> out = new HashSet<>();
    for (ScaleOut.Probe p : probes) {
      for (String layer : LAYERS) {
        for (Image image : p.images()) {
          for (int start : STARTS) {
            out.add(new WindowKey(p.plan().probeId(), layer, image.id(), start));
          }
        }
      }
    }
    return out;
  }

  /**
   * Reads the tag-responses topic to its end (read_committed) and asserts that it holds exactly the
   * expected windows, each once, under the key probeId/layer; and that the dead-letter topic is empty.
   */
  private static Map<WindowKey, TagResponse> exactlyOnce(String bootstrap, Set<WindowKey> expected) {
    List<ConsumerRecord<String, TagResponse>> records =
        TopicReads.readCommitted(bootstrap, Topics.TAG_RESPONSES, Duration.ofSeconds(30), got -> got.size() >= expected.size());
    Map<WindowKey, TagResponse> byWindow = new HashMap<>();
    for (ConsumerRecord<String, TagResponse> r : records) {
      TagResponse t = r.value();
      assertEquals(Topics.probeLayerKey(t.getProbeId(), t.getLayer()), r.key());
      TagResponse before = byWindow.put(WindowKey.of(t), t);
      assertEquals(null, before, "window doubled: " + WindowKey.of(t));
    }
    assertEquals(expected, byWindow.keySet(), "every window of every probe, nothing else");
    List<ConsumerRecord<byte[], byte[]>> dead = TopicReads.readBytes(bootstrap, Topics.DLQ.name(), true, Duration.ofSeconds(10), got -> true);
    assertEquals(List.of(), dead.stream().map(d -> Topics.DLQ.valueSerde().deserializer().deserialize(Topics.DLQ.name(), d.value())
        .getError()).toList(), "dead letters");
    return byWindow;
  }

  /**
   * The same window from both runs, bit for bit: a frame's activations do not depend on which
   * worker inferred it or with which other frames it was batched (ONNX Runtime on one intra-op
   * thread computes each image of a batch alone), and a window's analysis only on its frames. The
   * first measure that differs is named; the last check covers every other field.
   */
  private static void assertSameWindow(TagResponse want, TagResponse got, WindowKey k) {
    assertEquals(want.getSignalBins(), got.getSignalBins(), k.toString());
    assertEquals(want.getFilters().size(), got.getFilters().size(), k.toString());
    for (int i = 0; i < want.getFilters().size(); i++) {
      FilterResponse w = want.getFilters().get(i);
      FilterResponse g = got.getFilters().get(i);
      String where = k + " filter " + w.getFilter();
      assertEquals(w.getFilter(), g.getFilter(), where);
      assertEquals(w.getAmplitude(), g.getAmplitude(), where + " amplitudes");
      assertEquals(w.getBaseline(), g.getBaseline(), where + " baselines");
      assertEquals(w.getCorrected(), g.getCorrected(), where + " corrected amplitudes");
      assertEquals(w.getSnr(), g.getSnr(), where + " SNRs");
      assertEquals(w.getSpectrum(), g.getSpectrum(), where + " spectrum");
    }
    assertEquals(want, got, k.toString());
  }
}
