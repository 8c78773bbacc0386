package dev.tagscope.producer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tagscope.embedded.EmbeddedKafkaBroker;
import dev.tagscope.schemas.TopicSpec;
import dev.tagscope.schemas.Topics;
import dev.tagscope.tagging.ProbePlan;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@link ProducerService} against a broker whose client listener requires SASL/PLAIN: the topics
 * must be created with the producer's credentials, not by an Admin client that only knows the
 * bootstrap servers. The broker has a second, PLAINTEXT listener that only this test uses, to
 * check the result independently of the producer's settings.
 */
class ProducerSecuredClusterIntegrationTest {
  private static EmbeddedKafkaBroker broker;
  private static String saslServers;
  private static String plainServers;

  private static int freePort() {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @BeforeAll
  static void startSecuredBroker() throws IOException {
    int plain = freePort();
    int sasl = freePort();
    int controller = freePort();
    plainServers = "127.0.0.1:" + plain;
    saslServers = "127.0.0.1:" + sasl;
    // The broker's own listeners are replaced, so its bootstrapServers()/admin() (which name the
    // port it picked itself) are not used here; the ports above are.
    Map<String, String> overrides = Map.of(
        "listeners", "PLAINTEXT://" + plainServers + ",SASL_PLAINTEXT://" + saslServers + ",CONTROLLER://127.0.0.1:" + controller,
        "advertised.listeners", "PLAINTEXT://" + plainServers + ",SASL_PLAINTEXT://" + saslServers,
        "controller.quorum.voters", "1@127.0.0.1:" + controller,
        "listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT",
        "sasl.enabled.mechanisms", "PLAIN",
        "listener.name.sasl_plaintext.plain.sasl.jaas.config",
        "org.apache.kafka.common.security.plain.PlainLoginModule required user_alice=\"alice-secret\";");
    broker = EmbeddedKafkaBroker.start(Files.createTempDirectory("tagscope-kafka-sasl-"), true, overrides);
  }

  @AfterAll
  static void stopBroker() {
    if (broker != null) {
      broker.close();
    }
  }

  private static Admin plainAdmin() {
    return Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, plainServers));
  }

  private static long endOffsetSum(Admin admin, TopicSpec<?, ?> topic) throws Exception {
    TopicDescription d = admin.describeTopics(List.of(topic.name())).allTopicNames().get().get(topic.name());
    Map<TopicPartition, OffsetSpec> req = d.partitions().stream()
        .collect(Collectors.toMap(p -> new TopicPartition(topic.name(), p.partition()), p -> OffsetSpec.latest()));
    return admin.listOffsets(req).all().get().values().stream().mapToLong(i -> i.offset()).sum();
  }

  @Test
  void createsTopicsAndPublishesWithTheProducersSaslSettings() throws Exception {
    List<Image> images = new ArrayList<>();
    for (int k = 0; k < 2; k++) {
      images.add(new Image("sasl" + k, k, 1, 2, 2, new byte[] {(byte) k, 10, 20, 30}));
    }
    ProducerService svc = ProducerService.builder()
        .bootstrapServers(saslServers)
        .producerConfig(Map.of(
            "security.protocol", "SASL_PLAINTEXT",
            "sasl.mechanism", "PLAIN",
            "sasl.jaas.config",
            "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"alice\" password=\"alice-secret\";"))
        .images(images)
        .plan(ProbePlan.builder().probeId("sasl-probe").model("m").startTimeMs(System.currentTimeMillis()))
        .createTopics(2)
        .build();

    PublishSummary s = svc.run();

    // 2 images x 240 frames each (framesPerImage defaults to the 240-frame window)
    assertEquals(480, s.frames());
    try (Admin admin = plainAdmin()) {
      Set<String> names = admin.listTopics().names().get();
      for (TopicSpec<?, ?> t : Topics.ALL) {
        assertTrue(names.contains(t.name()), t.name() + " created, topics: " + names);
      }
      int partitions = admin.describeTopics(List.of(Topics.STIMULI.name())).allTopicNames().get()
          .get(Topics.STIMULI.name()).partitions().size();
      assertEquals(2, partitions, "created by the service with its partition count");
      assertEquals(480, endOffsetSum(admin, Topics.STIMULI));
      assertEquals(1, endOffsetSum(admin, Topics.PROBES));
    }
  }
}
