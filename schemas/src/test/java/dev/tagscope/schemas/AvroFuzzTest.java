package dev.tagscope.schemas;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.DictionaryFile;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.tagscope.schemas.fuzz.Fuzz;
import dev.tagscope.schemas.fuzz.FuzzInput;
import dev.tagscope.schemas.fuzz.FuzzReport;
import dev.tagscope.schemas.fuzz.Seeds;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificRecord;
import org.apache.avro.util.RandomData;
import org.apache.kafka.common.errors.SerializationException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Fuzzes the deserializers of every topic in {@link Topics#ALL}, keys and values, with Jazzer:
 * bytes a stranger could put on the topic, grown from a seed corpus of records of every released
 * schema version and the reproducers of the bugs fuzzing found ({@link AvroBounds}), with Avro's
 * length prefixes that claim 2<sup>31</sup> items in the dictionary. The input's last byte picks
 * the topic. Each input must decode or be refused with Kafka's {@link SerializationException}
 * naming the topic, within {@link Fuzz#LIMIT}; an {@link OutOfMemoryError} or any other exception
 * is a finding.
 *
 * <p>The suite runs the seed corpus; the {@code fuzz} profile fuzzes ({@code maxExecutions}).
 *
 * @see AvroBounds
 */
@ExtendWith(FuzzReport.class)
class AvroFuzzTest {
  /** The record class on each topic's values; a topic added to {@link Topics#ALL} must be added here. */
  static final Map<TopicSpec<?, ?>, Class<? extends SpecificRecord>> RECORDS = Map.ofEntries(
      Map.entry(Topics.PROBES, ProbeSpec.class), Map.entry(Topics.STIMULI, StimulusFrame.class),
      Map.entry(Topics.PROBE_IMAGES, ProbeImage.class), Map.entry(Topics.ACTIVATIONS, ActivationFrame.class),
      Map.entry(Topics.TAG_RESPONSES, TagResponse.class), Map.entry(Topics.IMPORTANCE, LayerImportance.class),
      Map.entry(Topics.IMPORTANCE_HISTORY, ImportanceBucket.class), Map.entry(Topics.ALERTS, RankAlert.class),
      Map.entry(Topics.TOP_EXAMPLES, TopExamples.class), Map.entry(Topics.VALIDATION, LayerValidation.class),
      Map.entry(Topics.DLQ, DeadLetter.class));

  private static final int TOPICS = Topics.ALL.size();

  @Test
  void everyTopicHasARecordClass() {
    assertEquals(Set.copyOf(Topics.ALL), RECORDS.keySet(), "add the record class of a new topic to AvroFuzzTest.RECORDS");
  }

  @Test
  void seedCorpusIsCurrent() {
    Seeds.check(AvroFuzzTest.class, "values", valueSeeds());
    Seeds.check(AvroFuzzTest.class, "keys", keySeeds());
    Seeds.dictionary(AvroFuzzTest.class, dictionary());
  }

  @DictionaryFile(resourcePath = "AvroFuzzTest.dict")
  @FuzzTest(maxDuration = "", maxExecutions = 450_000)
  void values(FuzzedDataProvider data) {
    TopicSpec<?, ?> topic = Topics.ALL.get(data.consumeInt(0, TOPICS - 1));
    decode(topic, " value", data.consumeRemainingAsBytes(), topic.valueSerde().deserializer()::deserialize);
  }

  @DictionaryFile(resourcePath = "AvroFuzzTest.dict")
  @FuzzTest(maxDuration = "", maxExecutions = 100_000)
  void keys(FuzzedDataProvider data) {
    TopicSpec<?, ?> topic = Topics.ALL.get(data.consumeInt(0, TOPICS - 1));
    decode(topic, " key", data.consumeRemainingAsBytes(), topic.keySerde().deserializer()::deserialize);
  }

  private interface Deserialize {
    Object apply(String topic, byte[] data);
  }

  private static void decode(TopicSpec<?, ?> t, String part, byte[] bytes, Deserialize d) {
    String topic = t.name();
    Fuzz.check(new FuzzInput(topic + part, bytes), topic + part, () -> d.apply(topic, bytes), m -> m.contains(topic),
        SerializationException.class);
  }

  /**
   * Random records of every released version of each topic's value schema, single-object encoded,
   * and the reproducers of {@link AvroBoundsTest}.
   */
  static Map<String, byte[]> valueSeeds() {
    Map<String, byte[]> out = new LinkedHashMap<>();
    for (int i = 0; i < TOPICS; i++) {
      TopicSpec<?, ?> t = Topics.ALL.get(i);
      Schema current = SpecificData.get().getSchema(RECORDS.get(t));
      List<Schema> versions = SchemaHistory.versions(current.getName());
      for (int v = 0; v < versions.size(); v++) {
        int n = 0;
        for (Object datum : new RandomData(versions.get(v), 2, 7L + v)) {
          try {
            byte[] record = SchemaCompatibilityTest.singleObject(versions.get(v), (GenericData.Record) datum);
            out.put(current.getName() + "-v" + (v + 1) + "-" + n++, Seeds.withChoices(record, i));
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          }
        }
      }
    }
    int activations = Topics.ALL.indexOf(Topics.ACTIVATIONS);
    byte[] valid = AvroBoundsTest.validFrame();
    int valuesAt = AvroBoundsTest.valuesAt(valid);
    out.put("repro-string-length-2GB", Seeds.withChoices(cat(Arrays.copyOf(valid, 10), Seeds.zigZag(2_147_483_000L)), activations));
    out.put("repro-array-count-2G", Seeds.withChoices(cat(Arrays.copyOf(valid, valuesAt), Seeds.zigZag(2_147_483_000L)), activations));
    out.put("repro-negative-block-count", Seeds.withChoices(cat(Arrays.copyOf(valid, valuesAt),
        Seeds.zigZag(-1_000_000_000L), Seeds.zigZag(8), new byte[8], new byte[] {0}), activations));
    DeadLetter fixed = DeadLetters.of("s", "e", "t", 0, 0, null, null);
    fixed.setTimestampMs(1_700_000_000_000L);
    byte[] letter = AvroSerde.of(DeadLetter.class).serialize("t", fixed);
    letter[letter.length - 1] = Seeds.zigZag(7)[0];
    out.put("repro-union-branch-7", Seeds.withChoices(letter, Topics.ALL.indexOf(Topics.DLQ)));
    return out;
  }

  static Map<String, byte[]> keySeeds() {
    Map<String, byte[]> out = new LinkedHashMap<>();
    for (int i = 0; i < TOPICS; i++) {
      String name = Topics.ALL.get(i).name().substring("tagscope.".length());
      out.put(name + "-probe-layer", Seeds.withChoices("probe-1/layer1.0".getBytes(StandardCharsets.UTF_8), i));
      out.put(name + "-model-layer", Seeds.withChoices("fmnist-resnet32/*".getBytes(StandardCharsets.UTF_8), i));
      out.put(name + "-not-utf8", Seeds.withChoices(new byte[] {'p', (byte) 0xC0, (byte) 0x80, '/', (byte) 0xED, (byte) 0xA0, (byte) 0x80}, i));
    }
    return out;
  }

  /** The single-object header, the current schemas' fingerprints, lengths and counts no record of a few bytes has. */
  static List<byte[]> dictionary() {
    List<byte[]> tokens = new ArrayList<>(Seeds.hugeAvroVarints());
    tokens.add(new byte[] {(byte) 0xC3, 0x01});
    for (TopicSpec<?, ?> t : Topics.ALL) {
      byte[] fp = new byte[8];
      byte[] record = valueSeedOf(t);
      System.arraycopy(record, 2, fp, 0, 8);
      tokens.add(fp);
    }
    return tokens;
  }

  private static byte[] valueSeedOf(TopicSpec<?, ?> t) {
    Class<? extends SpecificRecord> c = RECORDS.get(t);
    Schema s = SpecificData.get().getSchema(c);
    try {
      return SchemaCompatibilityTest.singleObject(s, (GenericData.Record) new RandomData(s, 1, 1L).iterator().next());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static byte[] cat(byte[]... parts) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (byte[] p : parts) {
      out.write(p, 0, p.length);
    }
    return out.toByteArray();
  }
}
