package dev.tagscope.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.tagscope.embedded.EmbeddedKafkaBroker;
import dev.tagscope.schemas.ComponentKind;
import dev.tagscope.schemas.FilterResponse;
import dev.tagscope.schemas.SignalBin;
import dev.tagscope.schemas.TagResponse;
import dev.tagscope.schemas.Topics;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The demo's reader of tag responses, on a real broker whose topic already holds older probes. */
class TagResponseCollectorIntegrationTest {
  private static final int W = 240;
  private static EmbeddedKafkaBroker broker;

  @BeforeAll
  static void start() throws Exception {
    broker = EmbeddedKafkaBroker.start();
    try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers()))) {
      Topics.createAll(admin, 2, (short) 1);
    }
  }

  @AfterAll
  static void stop() {
    broker.close();
  }

  @Test
  void readsOnlyWhatWasWrittenAtOrAfterTheProbeStartAndWhatComesLater() {
    long t = System.currentTimeMillis();
    // An earlier run under the same probe id (an hour before), another probe, then this run.
    send("p", "old-image", t - 3_600_000L, 0.5);
    send("p", "old-image", t - 3_600_000L + 10, 0.5);
    send("other", "img", t + 5, 4.0);
    send("p", "img-0", t, 2.0);
    send("p", "img-1", t + 2_000, 2.0);
    try (TagResponseCollector c = new TagResponseCollector(broker.bootstrapServers(), Map.of(), "p", t)) {
      pollUntil(c, 2);
      c.poll(Duration.ofSeconds(1)); // nothing older may trickle in afterwards
      assertEquals(2, c.poll(Duration.ofMillis(100)));
      // both windows carry amplitude 2.0 at f1: the hour-old 0.5s were never averaged in
      assertEquals(2.0, c.layers().get("l").meanAmplitude()[0][0], 1e-12);
      send("p", "img-2", t + 4_000, 2.0); // written after the reader started
      pollUntil(c, 3);
    }
    // A reader whose start lies after every record so far starts at today's end, not at the beginning.
    long later = t + 10_000;
    try (TagResponseCollector c = new TagResponseCollector(broker.bootstrapServers(), Map.of(), "p", later)) {
      assertEquals(0, c.poll(Duration.ofMillis(500)));
      send("p", "img-3", later + 1, 1.0);
      pollUntil(c, 1);
      assertEquals(1.0, c.layers().get("l").meanAmplitude()[0][0], 1e-12);
    }
  }

  private static void pollUntil(TagResponseCollector c, long windows) {
    long seen = 0;
    for (int i = 0; i < 60 && seen < windows; i++) {
      seen = c.poll(Duration.ofMillis(500));
    }
    assertEquals(windows, seen);
  }

  private static void send(String probe, String image, long timestamp, double f1Amplitude) {
    Map<String, Object> props = Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers());
    try (KafkaProducer<byte[], byte[]> p = new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer())) {
      String topic = Topics.TAG_RESPONSES.name();
      byte[] value = Topics.TAG_RESPONSES.valueSerde().serializer().serialize(topic, response(probe, image, f1Amplitude));
      p.send(new ProducerRecord<>(topic, null, timestamp, Topics.probeLayerKey(probe, "l").getBytes(), value));
    }
  }

  private static TagResponse response(String probe, String image, double f1) {
    List<SignalBin> bins = List.of(
        SignalBin.newBuilder().setLabel("f1").setKind(ComponentKind.FUNDAMENTAL).setFrequencyHz(6.0).setBin(12).setOrder(1).build(),
        SignalBin.newBuilder().setLabel("f2").setKind(ComponentKind.FUNDAMENTAL).setFrequencyHz(7.5).setBin(15).setOrder(1).build());
    List<Float> spectrum = new ArrayList<>();
    for (int b = 0; b <= W / 2; b++) {
      spectrum.add(b == 12 ? (float) f1 : b == 15 ? 1f : 0f);
    }
    FilterResponse f = FilterResponse.newBuilder().setFilter(0).setAmplitude(List.of(f1, 1.0)).setBaseline(List.of(0.0, 0.0))
        .setSnr(List.of(f1 / 1e-9, 1.0 / 1e-9)).setCorrected(List.of(f1, 1.0)).setSpectrum(spectrum).build();
    return TagResponse.newBuilder().setProbeId(probe).setModel("m").setLayer("l").setImageId(image)
        .setWindowStartFrame(0).setWindowFrames(W).setFps(120).setBinWidthHz(0.5)
        .setSignalBins(bins).setFilters(List.of(f)).build();
  }
}
