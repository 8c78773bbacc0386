package dev.tagscope.dashboard;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tagscope.embedded.EmbeddedKafkaBroker;
import dev.tagscope.schemas.LayerImportance;
import dev.tagscope.schemas.Topics;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;

/** A dashboard started before the topics exist (the demo's start order) picks them up once created. */
class LateTopicsIntegrationTest {

  @Test
  void topicsCreatedAfterStartAreRead() throws Exception {
    HttpClient http = HttpClient.newHttpClient();
    ObjectMapper mapper = new ObjectMapper();
    try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start();
        DashboardService dashboard = new DashboardService(broker.bootstrapServers(),
            DashboardSettings.defaults().withPort(0), new SimpleMeterRegistry()).start()) {
      assertTrue(dashboard.awaitCaughtUp(Duration.ofSeconds(30)), "nothing to catch up with");
      String base = "http://127.0.0.1:" + dashboard.port();
      HttpResponse<String> empty = http.send(HttpRequest.newBuilder(URI.create(base + "/api/layers")).build(),
          HttpResponse.BodyHandlers.ofString());
      assertEquals("[]", empty.body());

      broker.createTopics(1);
      LayerImportance li = Fixtures.importance("late-model", "late-layer", 2, List.of(Fixtures.filter(3, 1, 1.0, 1, 0, 0)));
      try (KafkaProducer<String, LayerImportance> p = new KafkaProducer<>(
          Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers()),
          Topics.IMPORTANCE.keySerde().serializer(), Topics.IMPORTANCE.valueSerde().serializer())) {
        p.send(new ProducerRecord<>(Topics.IMPORTANCE.name(), Topics.modelLayerKey("late-model", "late-layer"), li))
            .get(30, TimeUnit.SECONDS);
      }

      URI uri = URI.create(base + "/api/importance?model=late-model&layer=late-layer");
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      HttpResponse<String> r = http.send(HttpRequest.newBuilder(uri).build(), HttpResponse.BodyHandlers.ofString());
      while (r.statusCode() != 200 && System.nanoTime() < deadline) {
        Thread.sleep(200);
        r = http.send(HttpRequest.newBuilder(uri).build(), HttpResponse.BodyHandlers.ofString());
      }
      assertEquals(200, r.statusCode(), r.body());
      JsonNode body = mapper.readTree(r.body());
      assertEquals(3, body.get("filters").get(0).get("filter").asInt());
      assertEquals(2, body.get("windowsSeen").asLong());
    }
  }
}
