package dev.tagscope.spectral;

import static dev.tagscope.spectral.Fixtures.bytes;
import static dev.tagscope.spectral.Fixtures.frame;
import static dev.tagscope.spectral.Fixtures.probe;
import static dev.tagscope.spectral.Fixtures.timestamp;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tagscope.schemas.DeadLetter;
import dev.tagscope.schemas.DeadLetters;
import dev.tagscope.schemas.TagResponse;
import dev.tagscope.schemas.Topics;
import dev.tagscope.schemas.fuzz.Campaign;
import dev.tagscope.schemas.fuzz.Fuzz;
import dev.tagscope.schemas.fuzz.FuzzInput;
import dev.tagscope.schemas.fuzz.Mutations;
import dev.tagscope.schemas.fuzz.Mutations.Seed;
import dev.tagscope.schemas.fuzz.Outcomes;
import dev.tagscope.tagging.spectral.WindowAnalyzer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.IntFunction;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import net.jqwik.api.lifecycle.AfterProperty;
import net.jqwik.api.lifecycle.BeforeProperty;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.test.TestRecord;

/**
 * Fuzzes the spectral-stream topology with activation records a stranger could put on
 * {@code tagscope.activations}: valid {@code ActivationFrame}s (of the known probe, of an
 * unknown one, with NaN, with another filter count, out of range) mutated byte by byte,
 * well-formed frames with odd field values, a valid header before random bytes, and random
 * bytes, under {@link TopologyTestDriver}. Each input must
 * be taken, or refused with exactly one record on {@code tagscope.dlq} that carries a non-blank
 * reason (in the value and the {@code tagscope.error} header) and the original key and value bytes
 * untouched; a value that is not an {@code ActivationFrame} at all must be refused. After every
 * input a valid frame of another probe follows and must be taken, and each of its windows must
 * come out on {@code tagscope.tag-responses}: the stream goes on.
 *
 * <p>The suite tries a few hundred inputs; {@code -Pfuzz} runs the {@link Campaign} count.
 */
class DeadLetterFuzzTest {
  private static final int W = 240;
  private static final String LAYER = "conv1";
  private static final String CANARY = "canary-probe";
  private static final byte[] KEY = Topics.probeLayerKey("p", LAYER).getBytes(StandardCharsets.UTF_8);

  private TopologyTestDriver driver;
  private TestInputTopic<byte[], byte[]> activations;
  private TestOutputTopic<String, TagResponse> tags;
  private TestOutputTopic<byte[], DeadLetter> dlq;
  /** Canary frames sent so far. */
  private long canary;

  @BeforeProperty
  void start() {
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

  @AfterProperty
  void stop() {
    driver.close();
  }

  @Property(tries = 200)
  @Campaign(tries = 100_000)
  void activationRecords(@ForAll("records") FuzzInput in) throws Exception {
    long t0 = System.nanoTime();
    String outcome = (String) Fuzz.within(in, () -> refuseOrTake(in));
    Outcomes.record("SpectralTopology activations", outcome, System.nanoTime() - t0);
    Fuzz.within(in, this::canaryGoesThrough);
  }

  /** @return what became of the input: "taken" or "dead letter: " and its reason with the numbers left out */
  private String refuseOrTake(FuzzInput in) {
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
  private Object canaryGoesThrough() {
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
    String c = reason.replaceAll("'[^']*'", "'…'").replaceAll("\\(.*", "").replaceAll("-?[0-9][0-9.E-]*", "N").trim();
    return c.length() <= 70 ? c : c.substring(0, 69) + "…";
  }

  @Provide
  Arbitrary<FuzzInput> records() {
    IntFunction<List<Float>> values = Fixtures.threeFilters();
    List<Seed> seeds = new ArrayList<>();
    for (int f : new int[] {0, 1, 120, W - 1}) {
      seeds.add(new Seed("frame " + f, bytes(frame("p", "a", LAYER, f, f, values.apply(f)))));
    }
    seeds.add(new Seed("next image", bytes(frame("p", "b", LAYER, W + 3, 3, values.apply(3)))));
    seeds.add(new Seed("two filters", bytes(frame("p", "a", LAYER, 5, 5, List.of(1f, 2f)))));
    seeds.add(new Seed("NaN", bytes(frame("p", "a", LAYER, 6, 6, List.of(1f, Float.NaN, 2f)))));
    seeds.add(new Seed("imageFrame out of range", bytes(frame("p", "a", LAYER, 7, 500, values.apply(7)))));
    seeds.add(new Seed("unknown probe", bytes(frame("zz", "a", LAYER, 0, 0, values.apply(0)))));
    List<byte[]> dictionary = new ArrayList<>(Mutations.hugeAvroVarints());
    dictionary.addAll(Arrays.asList(Mutations.zigZag(0), Mutations.zigZag(W - 1), Mutations.zigZag(W),
        new byte[] {0, 0, (byte) 0xc0, 0x7f}, new byte[] {0, 0, (byte) 0x80, 0x7f}));
    byte[] header = Arrays.copyOf(seeds.get(0).bytes(), 10);
    // well-formed frames with odd field values: what mutations seldom reach, past the decoder into the processor
    Arbitrary<Float> value = Arbitraries.oneOf(Arbitraries.floats(), Arbitraries.of(Float.NaN, Float.POSITIVE_INFINITY, 0f));
    Arbitrary<FuzzInput> frames = Combinators.combine(Arbitraries.of("p", "zz"), Arbitraries.of("a", "b", "c"),
        Arbitraries.longs().between(-2, 4 * W), Arbitraries.integers().between(-2, W + 2),
        Arbitraries.frequencyOf(Tuple.of(3, value.list().ofSize(3)), Tuple.of(1, value.list().ofMaxSize(5))))
        .as((probe, image, index, imageFrame, vs) -> new FuzzInput("frame " + probe + " " + image + " " + index + "/" + imageFrame
            + " " + vs, bytes(frame(probe, image, LAYER, index, imageFrame, vs))));
    return Arbitraries.frequencyOf(
        Tuple.of(3, frames),
        Tuple.of(7, Mutations.of(seeds, dictionary)),
        Tuple.of(2, Mutations.randomAfter("header + random", header, 64)),
        Tuple.of(1, Mutations.randomAfter("random", new byte[0], 32)));
  }
}
