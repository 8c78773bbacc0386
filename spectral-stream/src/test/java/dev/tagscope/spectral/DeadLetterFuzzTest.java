package dev.tagscope.spectral;

import static dev.tagscope.spectral.Fixtures.bytes;
import static dev.tagscope.spectral.Fixtures.frame;
import static dev.tagscope.spectral.Fixtures.probe;
import static dev.tagscope.spectral.Fixtures.timestamp;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.DictionaryFile;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.tagscope.schemas.DeadLetter;
import dev.tagscope.schemas.DeadLetters;
import dev.tagscope.schemas.TagResponse;
import dev.tagscope.schemas.Topics;
import dev.tagscope.schemas.fuzz.Fuzz;
import dev.tagscope.schemas.fuzz.FuzzInput;
import dev.tagscope.schemas.fuzz.FuzzReport;
import dev.tagscope.schemas.fuzz.Outcomes;
import dev.tagscope.schemas.fuzz.Seeds;
import dev.tagscope.tagging.spectral.WindowAnalyzer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.IntFunction;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.test.TestRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Fuzzes the spectral-stream topology with activation records a stranger could put on
 * {@code tagscope.activations}, with Jazzer, under {@link TopologyTestDriver}. An input whose last
 * byte is even is a record's value as it is, grown from valid {@code ActivationFrame}s (of the
 * known probe, of an unknown one, with NaN, with another filter count, out of range) with Avro's
 * huge lengths in the dictionary; one whose last byte is odd is made into a well-formed frame
 * with the field values the rest of it gives (probe, image, indices, any floats), what byte
 * mutations seldom reach: past the decoder into the processor. Each input must
 * be taken, or refused with exactly one record on {@code tagscope.dlq} that carries a non-blank
 * reason (in the value and the {@code tagscope.error} header) and the original key and value bytes
 * untouched; a value that is not an {@code ActivationFrame} at all must be refused. After every
 * input a valid frame of another probe follows and must be taken, and each of its windows must
 * come out on {@code tagscope.tag-responses}: the stream goes on.
 *
 * <p>The suite runs the seed corpus; the {@code fuzz} profile fuzzes ({@code maxExecutions}).
 * One driver serves all inputs of a JVM, as a deployed topology serves all records.
 */
@ExtendWith(FuzzReport.class)
class DeadLetterFuzzTest {
  private static final int W = 240;
  private static final String LAYER = "conv1";
  private static final String CANARY = "canary-probe";
  private static final byte[] KEY = Topics.probeLayerKey("p", LAYER).getBytes(StandardCharsets.UTF_8);

  private static TopologyTestDriver driver;
  private static TestInputTopic<byte[], byte[]> activations;
  private static TestOutputTopic<String, TagResponse> tags;
  private static TestOutputTopic<byte[], DeadLetter> dlq;
  /** Canary frames sent so far. */
  private static long canary;

  @BeforeAll
  static void start() {
    driver = Fixtures.driver(SpectralSettings.of(new SimpleMeterRegistry()), WindowAnalyzer::analyze,
        Fuzz.scratch("tagscope-spectral-fuzz"));
    var probes = driver.createInputTopic(Topics.PROBES.name(), Topics.PROBES.keySerde().serializer(),
        Topics.PROBES.valueSerde().serializer());
    probes.pipeInput("p", probe("p", "m", W, W, W));
    probes.pipeInput(CANARY, probe(CANARY, "m", W, W, W));
    activations = driver.createInputTopic(Topics.ACTIVATIONS.name(), new ByteArraySerializer(), new ByteArraySerializer());
    tags = Fixtures.tagResponses(driver);
    dlq = Fixtures.deadLetters(driver);
  }

  @AfterAll
  static void stop() {
    driver.close();
  }

  @Test
  void seedCorpusIsCurrent() {
    Seeds.check(DeadLetterFuzzTest.class, "activationRecords", seeds());
    Seeds.dictionary(DeadLetterFuzzTest.class, dictionary());
  }

  @DictionaryFile(resourcePath = "DeadLetterFuzzTest.dict")
  @FuzzTest(maxDuration = "", maxExecutions = 100_000)
  void activationRecords(FuzzedDataProvider data) throws Exception {
    FuzzInput in = data.consumeBoolean() ? wellFormed(data) : new FuzzInput("value", data.consumeRemainingAsBytes());
    long t0 = System.nanoTime();
    String outcome = (String) Fuzz.within(in, () -> refuseOrTake(in));
    Outcomes.record("SpectralTopology activations", outcome, System.nanoTime() - t0);
    Fuzz.within(in, DeadLetterFuzzTest::canaryGoesThrough);
  }

  /** A well-formed frame with the field values {@code data} gives. */
  private static FuzzInput wellFormed(FuzzedDataProvider data) {
    String probe = data.pickValue(List.of("p", "zz"));
    String image = data.pickValue(List.of("a", "b", "c"));
    long index = data.consumeLong(-2, 4L * W);
    int imageFrame = data.consumeInt(-2, W + 2);
    int frames = data.consumeBoolean() ? 1 : data.consumeInt(-1, 5);
    int n = data.consumeBoolean() ? 3 * Math.max(1, frames) : data.consumeInt(0, 16);
    List<Float> values = new ArrayList<>();
    for (int k = 0; k < n; k++) {
      values.add(data.consumeFloat());
    }
    return new FuzzInput("run " + probe + " " + image + " " + index + "/" + imageFrame + " x" + frames + " " + values,
        bytes(Fixtures.run(probe, image, LAYER, index, imageFrame, frames, values)));
  }

  /** @return what became of the input: "taken" or "dead letter: " and its reason with the numbers left out */
  private static String refuseOrTake(FuzzInput in) {
    activations.pipeInput(KEY, in.bytes(), timestamp(0));
    List<TestRecord<byte[], DeadLetter>> dead = dlq.readRecordsToList();
    boolean readable = readable(in.bytes());
    assertTrue(dead.size() <= 1, "one input, " + dead.size() + " dead letters");
    if (dead.isEmpty()) {
      assertTrue(readable, "a value that is not an ActivationFrame was taken");
      tags.readRecordsToList(); // the windows it completed, if any
      return "taken";
    }
    DeadLetter d = dead.get(0).value();
    assertFalse(d.getError().isBlank(), "a dead letter without a reason");
    assertEquals(d.getError(), new String(dead.get(0).headers().lastHeader(DeadLetters.HEADER_ERROR).value(), StandardCharsets.UTF_8));
    assertEquals(SpectralSettings.STAGE, d.getStage());
    assertArrayEquals(in.bytes(), d.getValue().array(), "the dead letter's value is the original bytes");
    assertArrayEquals(KEY, dead.get(0).key(), "the dead letter's key is the original key");
    if (!readable) {
      assertTrue(d.getError().startsWith("value is not a readable ActivationFrame"), d.getError());
    }
    return "dead letter: " + category(d.getError());
  }

  /** One valid frame of the canary probe: never refused, and the frame that ends a window gives one tag response. */
  private static Object canaryGoesThrough() {
    long i = canary++;
    int imageFrame = (int) (i % W);
    activations.pipeInput(Topics.probeLayerKey(CANARY, LAYER).getBytes(StandardCharsets.UTF_8),
        bytes(frame(CANARY, "c" + i / W, LAYER, i, imageFrame, Fixtures.threeFilters().apply(imageFrame))), timestamp(i));
    assertTrue(dlq.isEmpty(), () -> "a valid frame after a fuzz input was refused: " + dlq.readValue().getError());
    long windows = tags.readRecordsToList().stream().filter(r -> r.key().startsWith(CANARY + "/")).count();
    assertEquals(imageFrame == W - 1 ? 1 : 0, windows, "tag responses of the canary after its frame " + imageFrame);
    return null;
  }

  private static boolean readable(byte[] value) {
    try {
      Topics.ACTIVATIONS.valueSerde().deserializer().deserialize(Topics.ACTIVATIONS.name(), value);
      return true;
    } catch (SerializationException e) {
      return false;
    }
  }

  /** A reason without its numbers and quoted names, so that reasons of one kind count together. */
  static String category(String reason) {
    String c = reason.replaceAll("'[^']*'", "'…'").replaceAll("(?s)\\(.*", "").replaceAll("\\s+", " ").replaceAll("-?[0-9][0-9.E-]*", "N").trim();
    return c.length() <= 70 ? c : c.substring(0, 69) + "…";
  }

  /** Values as they are (last byte 0), and well-formed frames made of random bytes (last byte 1). */
  static Map<String, byte[]> seeds() {
    IntFunction<List<Float>> values = Fixtures.threeFilters();
    Map<String, byte[]> out = new LinkedHashMap<>();
    for (int f : new int[] {0, 1, 120, W - 1}) {
      out.put("frame-" + f, bytes(frame("p", "a", LAYER, f, f, values.apply(f))));
    }
    out.put("next-image", bytes(frame("p", "b", LAYER, W + 3, 3, values.apply(3))));
    out.put("two-filters", bytes(frame("p", "a", LAYER, 5, 5, List.of(1f, 2f))));
    out.put("nan", bytes(frame("p", "a", LAYER, 6, 6, List.of(1f, Float.NaN, 2f))));
    out.put("image-frame-out-of-range", bytes(frame("p", "a", LAYER, 7, 500, values.apply(7))));
    List<Float> run = new ArrayList<>();
    for (int f = 100; f < 104; f++) {
      run.addAll(values.apply(f));
    }
    out.put("run-of-4", bytes(Fixtures.run("p", "a", LAYER, 100, 100, 4, run)));
    out.put("run-values-not-divisible", bytes(Fixtures.run("p", "a", LAYER, 100, 100, 5, run)));
    out.put("unknown-probe", bytes(frame("zz", "a", LAYER, 0, 0, values.apply(0))));
    out.put("not-an-activation-frame", Topics.PROBES.valueSerde().serializer().serialize(Topics.PROBES.name(), probe("p", "m", W, W, W)));
    out.replaceAll((name, value) -> Seeds.withChoices(value, 0));
    Random r = new Random(11);
    for (int k = 0; k < 4; k++) {
      byte[] b = new byte[40];
      r.nextBytes(b);
      out.put("well-formed-" + k, Seeds.withChoices(b, 1));
    }
    return out;
  }

  static List<byte[]> dictionary() {
    List<byte[]> tokens = new ArrayList<>(Seeds.hugeAvroVarints());
    tokens.addAll(Arrays.asList(Seeds.zigZag(0), Seeds.zigZag(W - 1), Seeds.zigZag(W),
        new byte[] {0, 0, (byte) 0xc0, 0x7f}, new byte[] {0, 0, (byte) 0x80, 0x7f}));
    tokens.add(Arrays.copyOf(bytes(frame("p", "a", LAYER, 0, 0, List.of())), 10));
    return tokens;
  }
}
