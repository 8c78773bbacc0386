package dev.tagscope.schemas;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.tagscope.schemas.fuzz.Campaign;
import dev.tagscope.schemas.fuzz.Fuzz;
import dev.tagscope.schemas.fuzz.FuzzInput;
import dev.tagscope.schemas.fuzz.Mutations;
import dev.tagscope.schemas.fuzz.Mutations.Seed;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.apache.avro.Schema;
import org.apache.avro.SchemaNormalization;
import org.apache.avro.generic.GenericData;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificRecord;
import org.apache.avro.util.RandomData;
import org.apache.kafka.common.errors.SerializationException;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;

/**
 * Fuzzes the deserializers of every topic in {@link Topics#ALL}, keys and values, with bytes a
 * stranger could put on the topic: records of every released schema version mutated byte by
 * byte (length prefixes that claim 2<sup>31</sup> items among the edits), a valid header before
 * random bytes, and plain random bytes. Each input must decode or be refused with Kafka's
 * {@link SerializationException} naming the topic, within {@link Fuzz#LIMIT}; an
 * {@link OutOfMemoryError} or any other exception fails the property with the input in hex.
 *
 * <p>The suite tries a few hundred inputs; {@code -Pfuzz} runs the {@link Campaign} counts.
 *
 * @see AvroBounds
 */
class AvroFuzzTest {
  /** The record class on each topic's values; a topic added to {@link Topics#ALL} must be added here. */
  static final Map<TopicSpec<?, ?>, Class<? extends SpecificRecord>> RECORDS = Map.of(
      Topics.PROBES, ProbeSpec.class, Topics.STIMULI, StimulusFrame.class, Topics.ACTIVATIONS, ActivationFrame.class,
      Topics.TAG_RESPONSES, TagResponse.class, Topics.IMPORTANCE, LayerImportance.class,
      Topics.VALIDATION, LayerValidation.class, Topics.DLQ, DeadLetter.class);

  /** One input for one topic's key or value deserializer. */
  record Case(TopicSpec<?, ?> topic, boolean key, FuzzInput input) {
    String decoder() {
      return topic.name() + (key ? " key" : " value");
    }

    @Override
    public String toString() {
      return decoder() + ": " + input;
    }
  }

  @Example
  void everyTopicHasARecordClass() {
    assertEquals(Set.copyOf(Topics.ALL), RECORDS.keySet(), "add the record class of a new topic to AvroFuzzTest.RECORDS");
  }

  @Property(tries = 1000)
  @Campaign(tries = 700_000)
  void valuesOfEveryTopic(@ForAll("values") Case c) {
    decode(c, c.topic().valueSerde().deserializer()::deserialize);
  }

  @Property(tries = 200)
  @Campaign(tries = 100_000)
  void keysOfEveryTopic(@ForAll("keys") Case c) {
    decode(c, c.topic().keySerde().deserializer()::deserialize);
  }

  private interface Deserialize {
    Object apply(String topic, byte[] data);
  }

  private static void decode(Case c, Deserialize d) {
    String topic = c.topic().name();
    Fuzz.check(c.input(), c.decoder(), () -> d.apply(topic, c.input().bytes()), m -> m.contains(topic),
        SerializationException.class);
  }

  @Provide
  Arbitrary<Case> values() {
    List<byte[]> dictionary = new ArrayList<>(Mutations.hugeAvroVarints());
    dictionary.add(new byte[] {(byte) 0xC3, 0x01});
    SEEDS.values().forEach(seeds -> seeds.forEach(s -> dictionary.add(java.util.Arrays.copyOfRange(s.bytes(), 2, 10))));
    List<Arbitrary<Case>> perTopic = Topics.ALL.stream().map(t -> {
      List<Seed> seeds = SEEDS.get(t);
      byte[] header = java.util.Arrays.copyOf(seeds.get(0).bytes(), 10);
      return Arbitraries.frequencyOf(
          Tuple.of(6, Mutations.of(seeds, dictionary)),
          Tuple.of(2, Mutations.randomAfter("header + random", header, 256)),
          Tuple.of(1, Mutations.randomAfter("random", new byte[0], 64))).map(in -> new Case(t, false, in));
    }).collect(Collectors.toList());
    return Arbitraries.oneOf(perTopic);
  }

  @Provide
  Arbitrary<Case> keys() {
    List<Seed> seeds = List.of(new Seed("probe/layer", "probe-1/layer1.0".getBytes(StandardCharsets.UTF_8)),
        new Seed("model/layer", "fmnist-resnet32/*".getBytes(StandardCharsets.UTF_8)));
    List<Arbitrary<Case>> perTopic = Topics.ALL.stream().map(t -> Arbitraries.oneOf(
        Mutations.of(seeds, List.of(new byte[] {(byte) 0xC0, (byte) 0x80}, new byte[] {(byte) 0xED, (byte) 0xA0, (byte) 0x80})),
        Mutations.randomAfter("random", new byte[0], 64)).map(in -> new Case(t, true, in))).collect(Collectors.toList());
    return Arbitraries.oneOf(perTopic);
  }

  /** Valid values of each topic: random records of every released version of its schema, single-object encoded. */
  static final Map<TopicSpec<?, ?>, List<Seed>> SEEDS = seeds();

  private static Map<TopicSpec<?, ?>, List<Seed>> seeds() {
    Map<TopicSpec<?, ?>, List<Seed>> out = new LinkedHashMap<>();
    for (TopicSpec<?, ?> t : Topics.ALL) {
      Schema current = SpecificData.get().getSchema(RECORDS.get(t));
      List<Seed> seeds = new ArrayList<>();
      List<Schema> versions = SchemaHistory.versions(current.getName());
      for (int v = 0; v < versions.size(); v++) {
        int n = 0;
        for (Object datum : new RandomData(versions.get(v), 6, 7L + v)) {
          try {
            seeds.add(new Seed(current.getName() + " v" + (v + 1) + "#" + n++,
                SchemaCompatibilityTest.singleObject(versions.get(v), (GenericData.Record) datum)));
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          }
        }
      }
      // the current schema's fingerprint heads the list: the header of the random bodies
      byte[] fp = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(SchemaNormalization.parsingFingerprint64(current)).array();
      seeds.sort((a, b) -> Boolean.compare(!matches(a.bytes(), fp), !matches(b.bytes(), fp)));
      out.put(t, List.copyOf(seeds));
    }
    return out;
  }

  private static boolean matches(byte[] record, byte[] fingerprint) {
    return java.util.Arrays.equals(record, 2, 10, fingerprint, 0, 8);
  }
}
