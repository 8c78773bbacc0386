package dev.tagscope.spectral;

import static dev.tagscope.spectral.Fixtures.probe;
import static dev.tagscope.spectral.Fixtures.timestamp;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tagscope.schemas.ActivationFrame;
import dev.tagscope.schemas.DeadLetter;
import dev.tagscope.schemas.DeadLetterFitter;
import dev.tagscope.schemas.FilterExamples;
import dev.tagscope.schemas.TopExample;
import dev.tagscope.schemas.TopExamples;
import dev.tagscope.schemas.Topics;
import dev.tagscope.tagging.spectral.WindowAnalyzer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.test.TestRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Top examples under {@link TopologyTestDriver}: activations of known values must give, per
 * model@version/layer and filter, the k images of highest mean activation, computed here from the
 * frames sent (each accepted frame once), ordered highest first, ties by probeId then imageId.
 */
class TopExamplesTopologyTest {
  private static final int F = 80; // frames per image = window = hop: 6 and 7.5 Hz at 120 fps land on bins of an 80-frame window
  private static final int C = 3;
  private static final int K = 2;
  private static final String LAYER = "conv";

  @TempDir
  Path stateDir;

  TopologyTestDriver driver;
  TestInputTopic<String, byte[]> activations;
  TestOutputTopic<String, TopExamples> top;
  TestOutputTopic<byte[], DeadLetter> dlq;
  /** Per model@version/layer, per (probe, image): the sums and frame counts of the frames the stream must accept. */
  final Map<String, Map<List<String>, double[]>> sent = new HashMap<>();
  final Map<List<String>, Integer> frames = new HashMap<>();

  @BeforeEach
  void start() {
    driver = Fixtures.driver(SpectralSettings.of(new SimpleMeterRegistry()).withTopExamples(K), WindowAnalyzer::analyze, stateDir);
    TestInputTopic<String, dev.tagscope.schemas.ProbeSpec> probes =
        driver.createInputTopic(Topics.PROBES.name(), Topics.PROBES.keySerde().serializer(), Topics.PROBES.valueSerde().serializer());
    for (String p : List.of("pA", "pB", "pV")) {
      probes.pipeInput(p, probe(p, "m", F, F, F));
    }
    activations = driver.createInputTopic(Topics.ACTIVATIONS.name(), new StringSerializer(), new ByteArraySerializer());
    top = driver.createOutputTopic(Topics.TOP_EXAMPLES.name(), Topics.TOP_EXAMPLES.keySerde().deserializer(),
        Topics.TOP_EXAMPLES.valueSerde().deserializer());
    dlq = Fixtures.deadLetters(driver);
  }

  @AfterEach
  void stop() {
    driver.close();
  }

  /**
   * Filter c of image {@code image} at imageFrame i: a level per image and filter plus an
   * alternating +-0.25 (so the mean is over every frame, not one); filter 2's level is 1 for every
   * image, so full images tie there.
   */
  static float value(int image, int c, int i) {
    double level = c == 2 ? 1.0 : c == 0 ? 0.5 + 0.37 * image : 3.0 - 0.41 * image;
    return (float) (level + (i % 2 == 0 ? 0.25 : -0.25));
  }

  /**
   * Sends imageFrames [from, to) of an image in records of {@code run} frames and notes them as accepted.
   *
   * @param imageNo the image's position in its probe (frameIndex = imageNo * F + imageFrame) and its value pattern
   */
  void send(String probe, String version, String image, int imageNo, int from, int to, int run) {
    for (int i = from; i < to; i += run) {
      int n = Math.min(run, to - i);
      List<Float> v = new ArrayList<>();
      for (int t = 0; t < n; t++) {
        for (int c = 0; c < C; c++) {
          v.add(value(imageNo, c, i + t));
        }
        note(probe, version, image, imageNo, i + t);
      }
      pipe(probe, version, image, (long) imageNo * F + i, i, n, v);
    }
  }

  void pipe(String probe, String version, String image, long frameIndex, int imageFrame, int n, List<Float> v) {
    ActivationFrame f = Fixtures.run(probe, image, LAYER, frameIndex, imageFrame, n, v);
    f.setModelVersion(version);
    activations.pipeInput(Topics.probeLayerKey(probe, LAYER), Fixtures.bytes(f), timestamp(frameIndex + n - 1));
  }

  void note(String probe, String version, String image, int imageNo, int i) {
    double[] s = sent.computeIfAbsent(Topics.importanceKey("m", version, LAYER), x -> new LinkedHashMap<>())
        .computeIfAbsent(List.of(probe, image), x -> new double[C]);
    for (int c = 0; c < C; c++) {
      s[c] += value(imageNo, c, i);
    }
    frames.merge(List.of(probe, image), 1, Integer::sum);
  }

  /** The expected top K of one filter, computed from what was sent. */
  List<TopExample> expected(String key, int c) {
    List<TopExample> all = new ArrayList<>();
    sent.get(key).forEach((id, s) -> all.add(TopExample.newBuilder().setProbeId(id.get(0)).setImageId(id.get(1))
        .setActivation(s[c] / frames.get(id)).setFrames(frames.get(id)).build()));
    all.sort(Comparator.comparing((TopExample e) -> -e.getActivation()).thenComparing(TopExample::getProbeId)
        .thenComparing(TopExample::getImageId));
    return all.subList(0, Math.min(K, all.size()));
  }

  /**
   * A producer that sends less than the kept set: the set keeps fewer examples per filter (the best
   * ones) and says so in {@code k}, so its record fits; the dead letters of the tag responses, which do
   * not fit either, are cut to the limit too. Without both, the application would retry its transaction
   * for ever (under exactly-once a record the producer refuses aborts it).
   */
  @Test
  void aSetLargerThanTheProducerSendsKeepsItsBestExamplesAndFits() {
    driver.close();
    int limit = 1000; // below both 20 examples x 3 filters and a window's tag response with its key
    driver = Fixtures.driver(SpectralSettings.of(new SimpleMeterRegistry()).withTopExamples(32), WindowAnalyzer::analyze,
        stateDir.resolve("small"), Map.of(StreamsConfig.producerPrefix(ProducerConfig.MAX_REQUEST_SIZE_CONFIG), limit));
    TestInputTopic<String, dev.tagscope.schemas.ProbeSpec> probes =
        driver.createInputTopic(Topics.PROBES.name(), Topics.PROBES.keySerde().serializer(), Topics.PROBES.valueSerde().serializer());
    probes.pipeInput("pA", probe("pA", "m", F, F, F));
    activations = driver.createInputTopic(Topics.ACTIVATIONS.name(), new StringSerializer(), new ByteArraySerializer());
    top = driver.createOutputTopic(Topics.TOP_EXAMPLES.name(), Topics.TOP_EXAMPLES.keySerde().deserializer(),
        Topics.TOP_EXAMPLES.valueSerde().deserializer());
    dlq = Fixtures.deadLetters(driver);
    for (int i = 0; i < 20; i++) {
      send("pA", "v1", "a" + i, i, 0, F, 40);
    }
    List<TestRecord<String, TopExamples>> out = top.readRecordsToList();
    assertEquals(20, out.size(), "one record per image");
    TopExamples last = out.get(19).value();
    assertTrue(last.getK() < 20 && last.getK() >= 1, "k cut below the 20 images: " + last.getK());
    for (TestRecord<String, TopExamples> r : out) {
      byte[] value = Topics.TOP_EXAMPLES.valueSerde().serializer().serialize(Topics.TOP_EXAMPLES.name(), r.value());
      assertTrue(DeadLetterFitter.recordSizeUpperBound(r.key().getBytes(StandardCharsets.UTF_8), value, null) <= limit,
          value.length + " bytes");
    }
    for (int c = 0; c < C; c++) {
      List<TopExample> want = expected("m@v1/conv", c).subList(0, 1); // expected() gives K = 2; the best one must stay
      assertEquals(want.get(0).getImageId(), last.getFilters().get(c).getExamples().get(0).getImageId(), "filter " + c);
      assertEquals(last.getK(), last.getFilters().get(c).getExamples().size(), "filter " + c);
    }
    assertEquals(20, last.getImagesSeen());
    List<TestRecord<byte[], DeadLetter>> dead = dlq.readRecordsToList();
    assertEquals(20, dead.size(), "no window's tag response fits either");
    for (TestRecord<byte[], DeadLetter> d : dead) {
      byte[] value = Topics.DLQ.valueSerde().serializer().serialize(Topics.DLQ.name(), d.value());
      assertTrue(DeadLetterFitter.recordSizeUpperBound(d.key(), value, d.headers()) <= limit, "dead letter of " + value.length
          + " bytes: " + d.value().getError());
    }
  }

  @Test
  void keepsTheKImagesOfHighestMeanActivationPerFilterAndModelVersion() {
    // pB: b0 with a duplicate of a buffered frame (other values, must not count); b1 without its last
    // frame (it ends when b2 starts); b2 whose run carries a duplicate of b2's last frame seen
    send("pB", "v1", "b0", 0, 0, 30, 10);
    List<Float> bogus = new ArrayList<>();
    for (int c = 0; c < C; c++) {
      bogus.add(1000f);
    }
    pipe("pB", "v1", "b0", 12, 12, 1, bogus);
    send("pB", "v1", "b0", 0, 30, F, 10);
    send("pB", "v1", "b1", 1, 0, F - 1, 16);
    send("pB", "v1", "b2", 2, 0, 40, 40);
    List<Float> rerun = new ArrayList<>(bogus); // imageFrame 39 again (bogus), then 40 (real)
    for (int c = 0; c < C; c++) {
      rerun.add(value(2, c, 40));
    }
    note("pB", "v1", "b2", 2, 40);
    pipe("pB", "v1", "b2", 2L * F + 39, 39, 2, rerun);
    send("pB", "v1", "b2", 2, 41, F, 13);
    // pA, after pB: three full images in runs of 7, 32 and single frames
    send("pA", "v1", "a0", 0, 0, F, 7);
    send("pA", "v1", "a1", 1, 0, F, 32);
    send("pA", "v1", "a2", 2, 0, F, 1);
    // pV: another model version, images that would win every filter of v1 were they mixed in
    send("pV", "v2", "x0", 4, 0, F, 80);
    send("pV", "v2", "x1", 5, 0, F, 20);

    List<DeadLetter> dead = dlq.readValuesToList();
    assertEquals(2, dead.stream().filter(d -> d.getError().contains("duplicate")).count(), "the two duplicates refused: " + dead);
    Map<String, List<TestRecord<String, TopExamples>>> out = new HashMap<>();
    for (TestRecord<String, TopExamples> r : top.readRecordsToList()) {
      out.computeIfAbsent(r.key(), x -> new ArrayList<>()).add(r);
    }
    assertEquals(Map.of("m@v1/conv", 6, "m@v2/conv", 2),
        Map.of("m@v1/conv", out.get("m@v1/conv").size(), "m@v2/conv", out.get("m@v2/conv").size()), "one record per image folded in");
    for (String key : List.of("m@v1/conv", "m@v2/conv")) {
      List<TestRecord<String, TopExamples>> recs = out.get(key);
      TestRecord<String, TopExamples> last = recs.get(recs.size() - 1);
      TopExamples t = last.value();
      assertEquals(sent.get(key).size(), t.getImagesSeen(), key);
      assertEquals(K, t.getK());
      assertEquals("m", t.getModel());
      assertEquals(LAYER, t.getLayer());
      assertEquals(key.equals("m@v1/conv") ? "v1" : "v2", t.getModelVersion());
      assertEquals(C, t.getFilters().size());
      for (int c = 0; c < C; c++) {
        FilterExamples fe = t.getFilters().get(c);
        assertEquals(c, fe.getFilter());
        List<TopExample> want = expected(key, c);
        assertEquals(want.size(), fe.getExamples().size(), key + " filter " + c);
        for (int j = 0; j < want.size(); j++) {
          TopExample got = fe.getExamples().get(j);
          String at = key + " filter " + c + " #" + j + ": " + fe.getExamples();
          assertEquals(want.get(j).getProbeId(), got.getProbeId(), at);
          assertEquals(want.get(j).getImageId(), got.getImageId(), at);
          assertEquals(want.get(j).getActivation(), got.getActivation(), 1e-12, at);
          assertEquals(want.get(j).getFrames(), got.getFrames(), at);
        }
      }
    }
    // the last record of v1 is a2's, stamped with a2's last frame; b1 ended with 79 frames when b2 began
    assertEquals(timestamp(2L * F + F - 1), out.get("m@v1/conv").get(5).timestamp());
    assertEquals(F - 1, frames.get(List.of("pB", "b1")));
    assertEquals(F, frames.get(List.of("pB", "b0")), "the duplicate was not counted");
    // filter 2: b1 (79 frames, one more +0.25 than -0.25) first, then a tie at 1.0 of every full image,
    // which pA/a0 wins by probeId and imageId although pB/b0 and pB/b2 came first
    List<TopExample> tie = out.get("m@v1/conv").get(5).value().getFilters().get(2).getExamples();
    assertEquals(List.of("pB/b1", "pA/a0"), tie.stream().map(e -> e.getProbeId() + "/" + e.getImageId()).toList());
    assertEquals(1.0, tie.get(1).getActivation(), 0.0);
    assertEquals(1.0, expected("m@v1/conv", 2).get(1).getActivation(), 0.0);
    // v2 never saw v1's images, nor v1 v2's
    assertTrue(out.get("m@v2/conv").get(1).value().getFilters().stream().flatMap(f -> f.getExamples().stream())
        .allMatch(e -> e.getProbeId().equals("pV")));
    assertFalse(out.get("m@v1/conv").get(5).value().getFilters().stream().flatMap(f -> f.getExamples().stream())
        .anyMatch(e -> e.getProbeId().equals("pV")));
  }
}
