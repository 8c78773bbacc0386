package dev.tagscope.spectral;

import static dev.tagscope.spectral.Fixtures.bytes;
import static dev.tagscope.spectral.Fixtures.frame;
import static dev.tagscope.spectral.Fixtures.probe;
import static dev.tagscope.spectral.Fixtures.timestamp;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tagscope.schemas.ActivationFrame;
import dev.tagscope.schemas.DeadLetter;
import dev.tagscope.schemas.DeadLetters;
import dev.tagscope.schemas.FilterImportance;
import dev.tagscope.schemas.FilterResponse;
import dev.tagscope.schemas.ImportanceBucket;
import dev.tagscope.schemas.LayerImportance;
import dev.tagscope.schemas.ProbeSpec;
import dev.tagscope.schemas.SignalBin;
import dev.tagscope.schemas.TagResponse;
import dev.tagscope.schemas.Topics;
import dev.tagscope.spectral.internal.WindowProcessor;
import dev.tagscope.tagging.spectral.LayerAccumulator;
import dev.tagscope.tagging.spectral.WindowAnalyzer;
import dev.tagscope.tagging.spectral.WindowResult;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.function.IntFunction;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.test.TestRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SpectralTopologyTest {
  @TempDir
  Path stateDir;

  SimpleMeterRegistry registry;
  TopologyTestDriver driver;
  TestInputTopic<String, ProbeSpec> probes;
  TestInputTopic<String, byte[]> activations;
  TestOutputTopic<String, TagResponse> tags;
  TestOutputTopic<String, LayerImportance> importance;
  TestOutputTopic<byte[], DeadLetter> dlq;

  @BeforeEach
  void start() {
    open(SpectralSettings::of, WindowAnalyzer::analyze);
  }

  /** (Re)creates the driver with settings made from a fresh registry and the given window analysis. */
  void open(Function<SimpleMeterRegistry, SpectralSettings> settings, WindowProcessor.Analysis analysis) {
    if (driver != null) {
      driver.close();
    }
    registry = new SimpleMeterRegistry();
    driver = Fixtures.driver(settings.apply(registry), analysis, stateDir);
    probes = driver.createInputTopic(Topics.PROBES.name(), Topics.PROBES.keySerde().serializer(), Topics.PROBES.valueSerde().serializer());
    activations = driver.createInputTopic(Topics.ACTIVATIONS.name(), new StringSerializer(), new ByteArraySerializer());
    tags = Fixtures.tagResponses(driver);
    importance = driver.createOutputTopic(Topics.IMPORTANCE.name(), Topics.IMPORTANCE.keySerde().deserializer(),
        Topics.IMPORTANCE.valueSerde().deserializer());
    dlq = Fixtures.deadLetters(driver);
  }

  @AfterEach
  void stop() {
    driver.close();
  }

  /** Sends frames [from, to) of one image; frameIndex = image * F + imageFrame. */
  void sendImage(String probe, String layer, String image, int imageNo, int framesPerImage, int from, int to,
                 IntFunction<List<Float>> values, int... missing) {
    for (int i = from; i < to; i++) {
      final int fi = i;
      if (java.util.Arrays.stream(missing).anyMatch(m -> m == fi)) {
        continue;
      }
      long frameIndex = (long) imageNo * framesPerImage + i;
      activations.pipeInput(Topics.probeLayerKey(probe, layer), bytes(frame(probe, image, layer, frameIndex, i, values.apply(i))),
          timestamp(frameIndex));
    }
  }

  /**
   * Sends frames [from, to) of one image as records of consecutive frames, the run lengths taken
   * in turn from {@code runLengths}; each record is stamped with its last frame's stimulus time.
   */
  void sendImageInRuns(String probe, String layer, String image, int imageNo, int framesPerImage, int from, int to,
                       IntFunction<List<Float>> values, int... runLengths) {
    int i = from;
    for (int r = 0; i < to; r++) {
      int n = Math.min(runLengths[r % runLengths.length], to - i);
      List<Float> v = new ArrayList<>();
      for (int t = 0; t < n; t++) {
        v.addAll(values.apply(i + t));
      }
      long frameIndex = (long) imageNo * framesPerImage + i;
      activations.pipeInput(Topics.probeLayerKey(probe, layer), bytes(Fixtures.run(probe, image, layer, frameIndex, i, n, v)),
          timestamp(frameIndex + n - 1));
      i += n;
    }
  }

  static int idx(List<SignalBin> bins, String label) {
    for (int s = 0; s < bins.size(); s++) {
      if (bins.get(s).getLabel().equals(label)) {
        return s;
      }
    }
    throw new AssertionError(label);
  }

  double counter(String name) {
    return registry.get(name).counter().count();
  }

  double late(String outcome) {
    return registry.get("tagscope.spectral.late.frames").tag("outcome", outcome).counter().count();
  }

  void sendFrame(String probe, String layer, String image, long frameIndex, int imageFrame, List<Float> values) {
    activations.pipeInput(Topics.probeLayerKey(probe, layer), bytes(frame(probe, image, layer, frameIndex, imageFrame, values)),
        timestamp(frameIndex));
  }

  void assertFrameBufferEmpty() {
    KeyValueStore<Object, Object> frames = driver.getKeyValueStore(SpectralTopology.FRAME_STORE);
    try (KeyValueIterator<Object, Object> it = frames.all()) {
      assertFalse(it.hasNext(), "frame buffer empty after the last frame");
    }
  }

  /** Filter 0's amplitude at f1 of each window: the sinusoid of threeFilters() has 0.5 in every full window. */
  static List<Double> f1Amplitudes(List<TagResponse> out) {
    return out.stream().map(t -> t.getFilters().get(0).getAmplitude().get(idx(t.getSignalBins(), "f1"))).toList();
  }

  @Test
  void sinusoidFramesGiveTheirAmplitudesAndImportanceRanksTheBiggerResponseFirst() {
    probes.pipeInput("p1", probe("p1", "fmnist", 240, 240, 240));
    sendImage("p1", "conv1", "img0", 0, 240, 0, 240, Fixtures.threeFilters());
    List<TestRecord<String, TagResponse>> out = tags.readRecordsToList();
    assertEquals(1, out.size());
    TestRecord<String, TagResponse> rec = out.get(0);
    assertEquals("p1/conv1", rec.key());
    assertEquals(timestamp(239), rec.timestamp(), "stimulus time of the completing frame");
    TagResponse t = rec.value();
    assertEquals("fmnist", t.getModel());
    assertEquals("img0", t.getImageId());
    assertEquals(0, t.getWindowStartFrame());
    assertEquals(0.5, t.getBinWidthHz(), 0);
    List<SignalBin> bins = t.getSignalBins();
    assertEquals(3, t.getFilters().size());
    // activations are floats: amplitudes come back to float precision
    assertEquals(0.5, t.getFilters().get(0).getAmplitude().get(idx(bins, "f1")), 1e-6);
    assertEquals(0.0, t.getFilters().get(0).getAmplitude().get(idx(bins, "f2")), 1e-6);
    assertEquals(0.2, t.getFilters().get(1).getAmplitude().get(idx(bins, "f2")), 1e-6);
    assertEquals(0.1, t.getFilters().get(1).getAmplitude().get(idx(bins, "f1+f2")), 1e-6);
    assertEquals(0.0, t.getFilters().get(2).getAmplitude().get(idx(bins, "f1")), 1e-6);
    assertEquals(121, t.getFilters().get(0).getSpectrum().size());
    assertEquals(0.5, t.getFilters().get(0).getSpectrum().get(12), 1e-6);

    TestRecord<String, LayerImportance> imp = importance.readRecord();
    assertEquals("fmnist/conv1", imp.key());
    assertEquals(timestamp(239), imp.value().getUpdatedAtMs());
    assertEquals(1, imp.value().getWindowsSeen());
    List<FilterImportance> fs = imp.value().getFilters();
    assertEquals(1, fs.get(0).getRank());
    assertEquals(2, fs.get(1).getRank());
    assertEquals(3, fs.get(2).getRank());
    assertEquals(1.0, fs.get(0).getImportance(), 1e-12);
    assertEquals(0.3 / 0.5, fs.get(1).getImportance(), 1e-5);
    assertEquals(0.1, fs.get(1).getIntermodulation(), 1e-5);
    assertTrue(importance.isEmpty());
    assertEquals(240, counter("tagscope.spectral.frames"));
    assertEquals(1, counter("tagscope.spectral.windows"));
    assertTrue(dlq.isEmpty());
  }

  @Test
  void hopEmitsEveryWindowAndImportanceAccumulates() {
    // F = 480, W = 240, hop = 60: 1 + (480 - 240) / 60 = 5 windows per image
    probes.pipeInput("p2", probe("p2", "fmnist", 240, 60, 480));
    sendImage("p2", "conv1", "a", 0, 480, 0, 480, Fixtures.threeFilters());
    sendImage("p2", "conv1", "b", 1, 480, 0, 480, Fixtures.threeFilters());
    List<TagResponse> out = tags.readValuesToList();
    assertEquals(10, out.size());
    List<Integer> starts = new ArrayList<>();
    for (TagResponse t : out.subList(0, 5)) {
      starts.add(t.getWindowStartFrame());
    }
    assertEquals(List.of(0, 60, 120, 180, 240), starts);
    assertEquals("b", out.get(9).getImageId());
    for (TagResponse t : out) {
      // a continuous sinusoid: every window sees the same amplitude
      assertEquals(0.5, t.getFilters().get(0).getAmplitude().get(idx(t.getSignalBins(), "f1")), 1e-6);
    }
    List<LayerImportance> imps = importance.readValuesToList();
    assertEquals(10, imps.size());
    assertEquals(10, imps.get(9).getWindowsSeen());
    assertEquals(0.5, imps.get(9).getFilters().get(0).getScore(), 1e-5);
    assertEquals(10, counter("tagscope.spectral.windows"));
    assertEquals(0, counter("tagscope.spectral.skipped.windows"));
    // buffers freed after each image's last frame
    KeyValueStore<Object, Object> frames = driver.getKeyValueStore(SpectralTopology.FRAME_STORE);
    try (KeyValueIterator<Object, Object> it = frames.all()) {
      assertFalse(it.hasNext(), "frame buffer empty after the last frame");
    }
  }

  @Test
  void missingFrameSkipsItsWindowsOnly() {
    probes.pipeInput("p3", probe("p3", "fmnist", 240, 120, 480)); // windows at 0, 120, 240
    // frame 100 lies in window 0 only; frame 479 (the end of window 240) is missing too
    sendImage("p3", "conv1", "a", 0, 480, 0, 479, Fixtures.threeFilters(), 100);
    sendImage("p3", "conv1", "b", 1, 480, 0, 240, Fixtures.threeFilters());
    List<TagResponse> out = tags.readValuesToList();
    assertEquals(List.of(120, 0), out.stream().map(TagResponse::getWindowStartFrame).toList());
    assertEquals(List.of("a", "b"), out.stream().map(TagResponse::getImageId).toList());
    assertEquals(2, counter("tagscope.spectral.skipped.windows"));
    assertEquals(2, counter("tagscope.spectral.windows"));
  }

  @Test
  void badRecordsGoToTheDlqAndTheStreamGoesOn() {
    probes.pipeInput("p4", probe("p4", "fmnist", 240, 240, 240));
    IntFunction<List<Float>> good = Fixtures.threeFilters();
    sendImage("p4", "conv1", "a", 0, 240, 0, 10, good);
    // 1. garbage bytes
    byte[] garbage = "not avro".getBytes(StandardCharsets.UTF_8);
    activations.pipeInput("p4/conv1", garbage, timestamp(10));
    // 2. NaN in filter 1
    activations.pipeInput("p4/conv1", bytes(frame("p4", "a", "conv1", 10, 10, List.of(1f, Float.NaN, 0f))), timestamp(10));
    // 3. wrong filter count
    activations.pipeInput("p4/conv1", bytes(frame("p4", "a", "conv1", 10, 10, List.of(1f, 2f))), timestamp(10));
    // 4. unknown probe
    activations.pipeInput("nope/conv1", bytes(frame("nope", "a", "conv1", 10, 10, List.of(1f, 2f, 3f))), timestamp(10));
    sendImage("p4", "conv1", "a", 0, 240, 10, 240, good);

    List<TestRecord<byte[], DeadLetter>> dead = dlq.readRecordsToList();
    assertEquals(4, dead.size());
    DeadLetter g = dead.get(0).value();
    assertEquals("spectral-stream", g.getStage());
    assertEquals(Topics.ACTIVATIONS.name(), g.getSourceTopic());
    assertEquals(10, g.getSourceOffset());
    assertEquals(java.nio.ByteBuffer.wrap(garbage), g.getValue());
    assertEquals("p4/conv1", new String(dead.get(0).key(), StandardCharsets.UTF_8));
    assertTrue(g.getError().contains("not a readable ActivationFrame"), g.getError());
    assertEquals("spectral-stream", new String(dead.get(0).headers().lastHeader(DeadLetters.HEADER_STAGE).value(), StandardCharsets.UTF_8));
    assertEquals(g.getError(), new String(dead.get(0).headers().lastHeader(DeadLetters.HEADER_ERROR).value(), StandardCharsets.UTF_8));
    String nan = dead.get(1).value().getError();
    assertTrue(nan.contains("filter 1 is NaN") && nan.contains("frameIndex 10"), nan);
    String count = dead.get(2).value().getError();
    assertTrue(count.contains("2 filters in this frame but 3 in earlier frames"), count);
    String unknown = dead.get(3).value().getError();
    assertTrue(unknown.contains("unknown probe 'nope'"), unknown);
    assertEquals(4, registry.get("tagscope.dlq.records").tag("stage", "spectral-stream").counter().count());
    // the stream went on: the window completed with the good frames
    List<TagResponse> out = tags.readValuesToList();
    assertEquals(1, out.size());
    assertEquals(0.5, out.get(0).getFilters().get(0).getAmplitude().get(idx(out.get(0).getSignalBins(), "f1")), 1e-6);
    assertEquals(244, counter("tagscope.spectral.records"));
    assertEquals(243, counter("tagscope.spectral.frames"), "the unreadable record counts as a record, not as a frame");
  }

  @Test
  void unreadableProbeSpecRefusesItsActivations() {
    // a probe whose bytes are not a ProbeSpec: the global store keeps them, activations are refused with the reason
    TestInputTopic<String, byte[]> rawProbes = driver.createInputTopic(Topics.PROBES.name(), new StringSerializer(), new ByteArraySerializer());
    rawProbes.pipeInput("bad", new byte[] {1, 2, 3});
    activations.pipeInput("bad/conv1", bytes(frame("bad", "a", "conv1", 0, 0, List.of(1f))), timestamp(0));
    DeadLetter d = dlq.readValue();
    assertTrue(d.getError().contains("probe 'bad'") && d.getError().contains("not a readable ProbeSpec"), d.getError());
    // a probe published later is picked up
    probes.pipeInput("bad", probe("bad", "fmnist", 240, 240, 240));
    sendImage("bad", "conv1", "a", 0, 240, 0, 240, Fixtures.threeFilters());
    assertEquals(1, tags.readValuesToList().size());
    assertTrue(dlq.isEmpty());
  }

  @Test
  void aFrameOutOfOrderWithinItsImageFillsTheWindowInsteadOfRestartingIt() {
    probes.pipeInput("p5", probe("p5", "fmnist", 240, 240, 240));
    IntFunction<List<Float>> v = Fixtures.threeFilters();
    sendImage("p5", "conv1", "a", 0, 240, 0, 150, v, 100); // frame 100 held back
    sendFrame("p5", "conv1", "a", 100, 100, v.apply(100)); // arrives after frame 149
    sendImage("p5", "conv1", "a", 0, 240, 150, 240, v);
    List<TagResponse> out = tags.readValuesToList();
    assertEquals(1, out.size(), "the window completes with the late frame in place");
    assertEquals(0.5, f1Amplitudes(out).get(0), 1e-6);
    assertEquals(0.2, out.get(0).getFilters().get(1).getAmplitude().get(idx(out.get(0).getSignalBins(), "f2")), 1e-6);
    assertEquals(1, late("buffered"));
    assertEquals(0, counter("tagscope.spectral.skipped.windows"));
    assertTrue(dlq.isEmpty());
    assertFrameBufferEmpty();
  }

  @Test
  void duplicateAndExpiredFramesAreDeadLetteredAndNeverReachAWindow() {
    probes.pipeInput("p6", probe("p6", "fmnist", 240, 120, 480)); // windows at 0, 120, 240
    IntFunction<List<Float>> v = Fixtures.threeFilters();
    List<Float> junk = List.of(100f, -100f, 7f); // would wreck any window it got into
    sendImage("p6", "conv1", "a", 0, 480, 0, 300, v);
    sendFrame("p6", "conv1", "a", 299, 299, junk); // the last frame seen, again
    sendFrame("p6", "conv1", "a", 200, 200, junk); // still buffered for window 120
    sendFrame("p6", "conv1", "a", 50, 50, junk);   // only in window 0, analysed at frame 239
    sendImage("p6", "conv1", "a", 0, 480, 300, 480, v);

    List<TagResponse> out = tags.readValuesToList();
    assertEquals(List.of(0, 120, 240), out.stream().map(TagResponse::getWindowStartFrame).toList());
    List<Double> amps = f1Amplitudes(out);
    for (double a : amps) {
      assertEquals(0.5, a, 1e-6, "no junk frame got into a window: " + amps);
    }
    List<TestRecord<byte[], DeadLetter>> dead = dlq.readRecordsToList();
    assertEquals(3, dead.size());
    String dup299 = dead.get(0).value().getError();
    String dup200 = dead.get(1).value().getError();
    String late50 = dead.get(2).value().getError();
    assertTrue(dup299.startsWith("duplicate frame") && dup299.contains("imageFrame 299"), dup299);
    assertTrue(dup200.startsWith("duplicate frame") && dup200.contains("imageFrame 200"), dup200);
    assertTrue(late50.startsWith("late frame") && late50.contains("imageFrame 50") && late50.contains("after imageFrame 299"), late50);
    assertEquals(java.nio.ByteBuffer.wrap(bytes(frame("p6", "a", "conv1", 50, 50, junk))), dead.get(2).value().getValue());
    assertEquals(2, late("duplicate"));
    assertEquals(1, late("expired"));
    assertEquals(0, late("buffered"));
    assertEquals(3, counter("tagscope.spectral.windows"));
    assertEquals(0, counter("tagscope.spectral.skipped.windows"));
    assertFrameBufferEmpty();
  }

  @Test
  void runsOfFramesGiveExactlyTheWindowsAndTimestampsOfOneFramePerRecord() {
    IntFunction<List<Float>> v = Fixtures.threeFilters();
    probes.pipeInput("p8", probe("p8", "fmnist", 240, 120, 480)); // windows at 0, 120, 240
    sendImage("p8", "conv1", "a", 0, 480, 0, 480, v);
    sendImage("p8", "conv1", "b", 1, 480, 0, 480, v);
    List<TestRecord<String, TagResponse>> single = tags.readRecordsToList();
    List<TestRecord<String, LayerImportance>> singleImportance = importance.readRecordsToList();
    assertEquals(960, counter("tagscope.spectral.records"));

    stateDir = stateDir.resolve("runs");
    open(SpectralSettings::of, WindowAnalyzer::analyze);
    probes.pipeInput("p8", probe("p8", "fmnist", 240, 120, 480));
    // lengths that end inside windows, on window ends (239 = 1+7+32+13+50+119+17) and across hops
    sendImageInRuns("p8", "conv1", "a", 0, 480, 0, 480, v, 1, 7, 32, 13, 50, 119, 17, 2, 100);
    sendImageInRuns("p8", "conv1", "b", 1, 480, 0, 480, v, 480); // the whole image in one record
    List<TestRecord<String, TagResponse>> runs = tags.readRecordsToList();
    List<TestRecord<String, LayerImportance>> runsImportance = importance.readRecordsToList();

    assertEquals(6, single.size(), "3 windows in each of 2 images");
    assertEquals(single.size(), runs.size());
    for (int i = 0; i < single.size(); i++) {
      assertEquals(single.get(i).key(), runs.get(i).key());
      assertEquals(single.get(i).value(), runs.get(i).value(), "window " + i);
      assertEquals(single.get(i).timestamp(), runs.get(i).timestamp(), "window " + i + ": its own last frame's stimulus time");
    }
    assertEquals(singleImportance.size(), runsImportance.size());
    for (int i = 0; i < singleImportance.size(); i++) {
      assertEquals(singleImportance.get(i).value(), runsImportance.get(i).value(), "importance update " + i);
      assertEquals(singleImportance.get(i).timestamp(), runsImportance.get(i).timestamp());
    }
    assertEquals(960, counter("tagscope.spectral.frames"));
    assertEquals(16, counter("tagscope.spectral.records"), "14 runs of image a, one of image b");
    assertTrue(dlq.isEmpty());
    assertFrameBufferEmpty();
  }

  @Test
  void aRunUsesItsGapFillersAndNewFramesAndNamesItsDuplicateAndLateFramesInOneDeadLetter() {
    probes.pipeInput("p9", probe("p9", "fmnist", 240, 120, 480)); // windows at 0, 120, 240
    IntFunction<List<Float>> v = Fixtures.threeFilters();
    List<Float> junk = List.of(100f, -100f, 7f); // would wreck any window it got into
    int[] gap = java.util.stream.IntStream.range(150, 160).toArray();
    sendImage("p9", "conv1", "a", 0, 480, 0, 300, v, gap); // window 0 ends at 239 without 150..159: skipped
    // one record of frames 110..309: 110..119 only in window 0 (late), 120..149 and 160..299 received
    // (duplicates, sent as junk), 150..159 fill the gap of window 120, 300..309 are new
    List<Float> run = new ArrayList<>();
    for (int f = 110; f < 310; f++) {
      run.addAll((f >= 150 && f < 160) || f >= 300 ? v.apply(f) : junk);
    }
    byte[] record = bytes(Fixtures.run("p9", "a", "conv1", 110, 110, 200, run));
    activations.pipeInput(Topics.probeLayerKey("p9", "conv1"), record, timestamp(309));
    sendImage("p9", "conv1", "a", 0, 480, 310, 480, v);

    List<TagResponse> out = tags.readValuesToList();
    assertEquals(List.of(120, 240), out.stream().map(TagResponse::getWindowStartFrame).toList());
    for (double a : f1Amplitudes(out)) {
      assertEquals(0.5, a, 1e-6, "the gap fillers got in, no junk frame did");
    }
    List<TestRecord<byte[], DeadLetter>> dead = dlq.readRecordsToList();
    assertEquals(1, dead.size(), "one record, one dead letter");
    String reason = dead.get(0).value().getError();
    assertTrue(reason.startsWith("duplicate frames: imageFrames 120..149, 160..299 of image 'a' of layer 'conv1' of probe 'p9'"
        + " were already received"), reason);
    assertTrue(reason.contains("late frames: imageFrames 110..119 of image 'a'") && reason.contains("after imageFrame 299"), reason);
    assertTrue(reason.endsWith("(the other 20 of this record's 200 frames were used)"), reason);
    assertEquals(java.nio.ByteBuffer.wrap(record), dead.get(0).value().getValue(), "the whole record's bytes");
    assertEquals(170, late("duplicate"));
    assertEquals(10, late("expired"));
    assertEquals(10, late("buffered"));
    assertEquals(1, counter("tagscope.spectral.skipped.windows"));
    assertFrameBufferEmpty();
  }

  @Test
  void aWindowNeverMixesModelVersionsAndImportanceIsKeptPerVersion() {
    probes.pipeInput("pv", probe("pv", "fmnist", 240, 120, 480)); // windows at 0, 120, 240
    IntFunction<List<Float>> v = Fixtures.threeFilters();
    // image a: frames 0..299 from version v1, then the worker switched to v2 for 300..479
    for (int f = 0; f < 480; f++) {
      ActivationFrame a = frame("pv", "a", "conv1", f, f, v.apply(f));
      a.setModelVersion(f < 300 ? "v1" : "v2");
      activations.pipeInput(Topics.probeLayerKey("pv", "conv1"), bytes(a), timestamp(f));
    }
    sendImageVersioned("pv", "b", 1, v, "v2");
    List<TestRecord<String, TagResponse>> out = tags.readRecordsToList();
    assertEquals(List.of("a:0:v1", "b:0:v2", "b:120:v2", "b:240:v2"), out.stream()
        .map(r -> r.value().getImageId() + ":" + r.value().getWindowStartFrame() + ":" + r.value().getModelVersion()).toList(),
        "the windows of image a that span the switch are not analysed");
    assertEquals(2, counter("tagscope.spectral.skipped.windows"));
    for (double a : f1Amplitudes(out.stream().map(TestRecord::value).toList())) {
      assertEquals(0.5, a, 1e-6);
    }
    var latest = new java.util.LinkedHashMap<String, LayerImportance>();
    importance.readRecordsToList().forEach(r -> latest.put(r.key(), r.value()));
    assertEquals(java.util.Set.of("fmnist@v1/conv1", "fmnist@v2/conv1"), latest.keySet());
    assertEquals(1, latest.get("fmnist@v1/conv1").getWindowsSeen());
    assertEquals("v1", latest.get("fmnist@v1/conv1").getModelVersion());
    assertEquals(3, latest.get("fmnist@v2/conv1").getWindowsSeen());
    assertEquals("v2", latest.get("fmnist@v2/conv1").getModelVersion());
    assertTrue(dlq.isEmpty());
  }

  /** Sends a whole image of 480 frames, every frame of one model version. */
  void sendImageVersioned(String probe, String image, int imageNo, IntFunction<List<Float>> values, String version) {
    for (int f = 0; f < 480; f++) {
      long frameIndex = imageNo * 480L + f;
      ActivationFrame a = frame(probe, image, "conv1", frameIndex, f, values.apply(f));
      a.setModelVersion(version);
      activations.pipeInput(Topics.probeLayerKey(probe, "conv1"), bytes(a), timestamp(frameIndex));
    }
  }

  @Test
  void aLateFrameOfAnEarlierImageIsRefusedAndTheCurrentImageGoesOn() {
    probes.pipeInput("p7", probe("p7", "fmnist", 240, 240, 240));
    IntFunction<List<Float>> v = Fixtures.threeFilters();
    sendImage("p7", "conv1", "a", 0, 240, 0, 240, v);
    sendImage("p7", "conv1", "b", 1, 240, 0, 120, v);
    sendFrame("p7", "conv1", "a", 100, 100, v.apply(100)); // image a again, frameIndex 100 < 359
    sendImage("p7", "conv1", "b", 1, 240, 120, 240, v);
    List<TagResponse> out = tags.readValuesToList();
    assertEquals(List.of("a", "b"), out.stream().map(TagResponse::getImageId).toList());
    assertEquals(0.5, f1Amplitudes(out).get(1), 1e-6);
    DeadLetter d = dlq.readValue();
    assertTrue(d.getError().startsWith("late frame") && d.getError().contains("image 'a'")
        && d.getError().contains("after frameIndex 359 of image 'b'"), d.getError());
    assertTrue(dlq.isEmpty());
    assertEquals(1, late("expired"));
    assertEquals(0, counter("tagscope.spectral.skipped.windows"));
    assertFrameBufferEmpty();
  }

  @Test
  void aProbePublishedAgainWithAChangedSpecStartsOver() {
    ProbeSpec first = probe("p8", "fmnist", 240, 240, 240);
    probes.pipeInput("p8", first);
    IntFunction<List<Float>> v = Fixtures.threeFilters();
    sendImage("p8", "conv1", "img0", 0, 240, 0, 150, i -> List.of(9f, 9f, 9f)); // an unfinished first run
    // the producer publishes the probe again (a new stimulus time origin) and numbers from frame 0
    probes.pipeInput("p8", ProbeSpec.newBuilder(first).setStartTimeMs(first.getStartTimeMs() + 3_600_000L).build());
    sendImage("p8", "conv1", "img0", 0, 240, 0, 240, v);
    List<TagResponse> out = tags.readValuesToList();
    assertEquals(1, out.size());
    assertEquals(0.5, f1Amplitudes(out).get(0), 1e-6, "only frames of the new publication in the window");
    assertTrue(dlq.isEmpty());
    assertEquals(0, late("duplicate") + late("expired"));
    assertFrameBufferEmpty();
  }

  @Test
  void thePlanCacheKeepsTheMostRecentlyUsedProbesAndForgetsDeletedOnes() {
    open(r -> SpectralSettings.of(r).withMaxCachedPlans(2), WindowAnalyzer::analyze);
    for (String id : List.of("A", "B", "C")) {
      probes.pipeInput(id, probe(id, "fmnist", 240, 240, 240));
    }
    long[] next = new long[1];
    Function<String, Void> frameOf = id -> {
      sendFrame(id, "conv1", "img", next[0], (int) next[0], List.of(1f, 2f, 3f));
      next[0]++;
      return null;
    };
    // least recently used goes first: after A, B, A the eldest is B, so C evicts B and A stays
    for (String id : List.of("A", "B", "A", "C", "A")) {
      frameOf.apply(id);
    }
    assertEquals(3, counter("tagscope.spectral.plan.loads"), "A, B and C decoded once each");
    assertEquals(2, registry.get("tagscope.spectral.plans.cached").gauge().value());
    frameOf.apply("B");
    assertEquals(4, counter("tagscope.spectral.plan.loads"), "B was evicted and is decoded again");
    assertEquals(2, registry.get("tagscope.spectral.plans.cached").gauge().value());
    // a tombstone on the compacted probes topic deletes A; its next activation drops the cached plan
    TestInputTopic<String, byte[]> rawProbes = driver.createInputTopic(Topics.PROBES.name(), new StringSerializer(), new ByteArraySerializer());
    rawProbes.pipeInput("A", (byte[]) null);
    frameOf.apply("A");
    assertTrue(dlq.readValue().getError().contains("unknown probe 'A'"));
    assertEquals(1, registry.get("tagscope.spectral.plans.cached").gauge().value());
  }

  @Test
  void aWindowTheCoreRefusesIsDeadLetteredWithTheReasonAndTheLayerGoesOn() {
    AtomicInteger calls = new AtomicInteger();
    // The first window's analysis fails inside the core: LayerAccumulator refuses a tag response
    // that names filter 0 twice. The topology must turn that into a dead letter, not crash.
    open(SpectralSettings::of, (an, series) -> {
      WindowResult r = an.analyze(series);
      if (calls.getAndIncrement() == 0) {
        TagResponse t = r.toTagResponse("p9", "fmnist", "conv1", "a", 0);
        List<FilterResponse> fs = new ArrayList<>(t.getFilters());
        fs.set(1, FilterResponse.newBuilder(fs.get(0)).build());
        t.setFilters(fs);
        new LayerAccumulator(r.signalBins()).add(t);
      }
      return r;
    });
    probes.pipeInput("p9", probe("p9", "fmnist", 240, 240, 240));
    IntFunction<List<Float>> v = Fixtures.threeFilters();
    sendImage("p9", "conv1", "a", 0, 240, 0, 240, v);
    sendImage("p9", "conv1", "b", 1, 240, 0, 240, v);

    List<TestRecord<byte[], DeadLetter>> dead = dlq.readRecordsToList();
    assertEquals(1, dead.size());
    String error = dead.get(0).value().getError();
    assertTrue(error.contains("window at imageFrame 0..239 of image 'a'") && error.contains("filter index 0 appears twice"), error);
    assertEquals(java.nio.ByteBuffer.wrap(bytes(frame("p9", "a", "conv1", 239, 239, v.apply(239)))), dead.get(0).value().getValue());
    assertEquals(239, dead.get(0).value().getSourceOffset());
    List<TagResponse> out = tags.readValuesToList();
    assertEquals(List.of("b"), out.stream().map(TagResponse::getImageId).toList());
    assertEquals(1, counter("tagscope.spectral.windows"));
    assertEquals(1, counter("tagscope.spectral.skipped.windows"));
    assertEquals(1, importance.readValuesToList().size());
    assertFrameBufferEmpty();
  }

  /** One image of one 240-frame window sent as one record stamped {@code atMs}: filter k is 1 + amps[k] sin(2 pi 6 Hz t). */
  void sendWindowAt(String probe, int imageNo, long atMs, double... amps) {
    sendWindowAt(probe, "", imageNo, atMs, amps);
  }

  /** As {@link #sendWindowAt(String, int, long, double...)} from model version {@code version}. */
  void sendWindowAt(String probe, String version, int imageNo, long atMs, double... amps) {
    List<Float> v = new ArrayList<>();
    for (int i = 0; i < 240; i++) {
      for (double a : amps) {
        v.add((float) (1 + a * Math.sin(2 * Math.PI * 6 * i / Fixtures.FPS)));
      }
    }
    ActivationFrame f = Fixtures.run(probe, "img" + imageNo, "conv1", imageNo * 240L, 0, 240, v);
    f.setModelVersion(version);
    activations.pipeInput(Topics.probeLayerKey(probe, "conv1"), bytes(f), atMs);
  }

  @Test
  void eachModelVersionHasBucketsOfItsOwnComparedWithTheFirstVersionsReference() {
    open(r -> SpectralSettings.of(r).withHistory(HistorySettings.defaults().withBucket(Duration.ofSeconds(10), Duration.ZERO)
        .withReference(1, null)), WindowAnalyzer::analyze);
    TestOutputTopic<String, ImportanceBucket> history = driver.createOutputTopic(Topics.IMPORTANCE_HISTORY.name(),
        Topics.IMPORTANCE_HISTORY.keySerde().deserializer(), Topics.IMPORTANCE_HISTORY.valueSerde().deserializer());
    probes.pipeInput("v", probe("v", "fmnist", 240, 240, 240));
    long t0 = Fixtures.START_MS;
    sendWindowAt("v", "v1", 0, t0 + 1000, 0.5, 0.2, 0.1);
    sendWindowAt("v", "v2", 1, t0 + 3000, 0.1, 0.2, 0.5); // the ranking reversed
    sendWindowAt("v", "v2", 2, t0 + 30_000, 0.1, 0.2, 0.5);
    List<TestRecord<String, ImportanceBucket>> got = history.readRecordsToList();
    assertEquals(List.of("fmnist@v1/conv1", "fmnist@v2/conv1"), got.stream().map(TestRecord::key).sorted().toList());
    ImportanceBucket v2 = got.stream().filter(r -> r.key().contains("@v2")).findFirst().orElseThrow().value();
    assertEquals("v2", v2.getModelVersion());
    assertEquals(t0, v2.getBucketStartMs(), "one bucket of time, one record per version");
    assertEquals("v1", v2.getReferenceVersion());
    assertEquals(-1.0, v2.getRho(), 1e-12, "ranks 3, 2, 1 against 1, 2, 3");
  }

  @Test
  void windowsGoIntoTheHistoryBucketOfTheirStimulusTime() {
    open(r -> SpectralSettings.of(r).withHistory(HistorySettings.defaults().withBucket(Duration.ofSeconds(10), Duration.ofSeconds(2))),
        WindowAnalyzer::analyze);
    TestOutputTopic<String, ImportanceBucket> history = driver.createOutputTopic(Topics.IMPORTANCE_HISTORY.name(),
        Topics.IMPORTANCE_HISTORY.keySerde().deserializer(), Topics.IMPORTANCE_HISTORY.valueSerde().deserializer());
    probes.pipeInput("h", probe("h", "fmnist", 240, 240, 240));
    long t0 = Fixtures.START_MS; // a multiple of 10 s
    assertEquals(0, t0 % 10_000);
    sendWindowAt("h", 0, t0 + 1000, 0.5, 0.2, 0.1);
    sendWindowAt("h", 1, t0 + 9999, 0.3, 0.4, 0.1);
    sendWindowAt("h", 2, t0 + 10_000, 0.1, 0.1, 0.4); // bucket [10 s, 20 s)
    sendWindowAt("h", 3, t0 + 11_999, 0.1, 0.1, 0.4);
    assertTrue(history.isEmpty(), "bucket [0, 10 s) open until stream time reaches its end + 2 s grace");
    sendWindowAt("h", 4, t0 + 12_000, 0.1, 0.1, 0.4);
    TestRecord<String, ImportanceBucket> first = history.readRecord();
    assertEquals(Topics.importanceKey("fmnist", "", "conv1"), first.key());
    assertEquals(t0 + 9999, first.timestamp());
    ImportanceBucket b0 = first.value();
    assertEquals(t0, b0.getBucketStartMs());
    assertEquals(10_000, b0.getBucketMs());
    assertEquals(2, b0.getWindowsSeen(), "the windows at 1 s and 9.999 s");
    // the score of a pure sinusoid on its bin is its amplitude (baseline 0): the bucket holds their mean
    assertEquals(0.4, b0.getFilters().get(0).getScore(), 1e-4);
    assertEquals(0.3, b0.getFilters().get(1).getScore(), 1e-4);
    assertEquals(0.1, b0.getFilters().get(2).getScore(), 1e-4);
    assertEquals(1, b0.getFilters().get(0).getRank());
    assertTrue(history.isEmpty());
    sendWindowAt("h", 5, t0 + 5000, 0.9, 0.9, 0.9); // too late for its closed bucket: not in the history
    sendWindowAt("h", 6, t0 + 30_000, 0.1, 0.1, 0.1);
    ImportanceBucket b1 = history.readValue();
    assertEquals(t0 + 10_000, b1.getBucketStartMs());
    assertEquals(3, b1.getWindowsSeen());
    assertEquals(0.4, b1.getFilters().get(2).getScore(), 1e-4);
    assertEquals(1, b1.getFilters().get(2).getRank());
    assertTrue(history.isEmpty(), "the late window opened no bucket of its own");
    assertEquals(7, importance.readValuesToList().get(6).getWindowsSeen(), "the running importance counts every window");
  }
}
