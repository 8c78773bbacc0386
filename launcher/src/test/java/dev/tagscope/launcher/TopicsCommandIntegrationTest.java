package dev.tagscope.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tagscope.embedded.EmbeddedKafkaBroker;
import dev.tagscope.schemas.Topics;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import org.apache.kafka.clients.admin.Admin;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** {@code tagscope topics} on a real broker: creates what is missing, prints what every topic has. */
class TopicsCommandIntegrationTest {
  @Test
  void createsMissingTopicsWithThePartitionsAskedAndSaysWhichExistedWithFewer() throws Exception {
    try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start(); Admin admin = broker.admin()) {
      admin.createTopics(List.of(Topics.STIMULI.newTopic(1, (short) 1))).all().get();
      java.io.ByteArrayOutputStream printed = new java.io.ByteArrayOutputStream();
      java.io.PrintStream stdout = System.out;
      StringWriter err = new StringWriter();
      int rc;
      try {
        System.setOut(new java.io.PrintStream(printed, true, java.nio.charset.StandardCharsets.UTF_8));
        CommandLine cl = TagscopeCommand.commandLine();
        cl.setErr(new PrintWriter(err));
        rc = cl.execute("topics", "--bootstrap-servers", broker.bootstrapServers(), "--partitions", "3");
      } finally {
        System.setOut(stdout);
      }
      assertEquals(0, rc, err.toString());
      List<String> lines = printed.toString(java.nio.charset.StandardCharsets.UTF_8).lines().toList();
      assertEquals(Topics.ALL.size(), lines.size(), String.join("\n", lines));
      assertEquals("tagscope.probes: 3 partitions, compacted", lines.get(0));
      assertTrue(lines.get(1).startsWith("tagscope.stimuli: 1 partition; it existed with fewer than --partitions 3"
          + " (kafka-topics.sh --alter --topic tagscope.stimuli --partitions 3 adds them"), lines.get(1));
      assertEquals("tagscope.probe-images: 3 partitions", lines.get(2));
      assertEquals("tagscope.activations: 3 partitions", lines.get(3));
      assertEquals(3, admin.describeTopics(List.of(Topics.DLQ.name())).allTopicNames().get().get(Topics.DLQ.name())
          .partitions().size());
    }
  }
}
