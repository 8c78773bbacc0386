package dev.tagscope.launcher;

import dev.tagscope.schemas.TopicSpec;
import dev.tagscope.schemas.Topics;
import dev.tagscope.service.KafkaClientPolicy;
import java.util.Map;
import java.util.concurrent.Callable;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.TopicDescription;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code tagscope topics}: creates Tagscope's topics on an external cluster, then prints each
 * topic with the partitions it has. A topic that already existed keeps its partitions; when it
 * has fewer than {@code --partitions} asked for, the line says so and how to add more.
 */
@Command(name = "topics", mixinStandardHelpOptions = true,
    description = "Create every Tagscope topic that is missing (compacted where the contract says so) and print each"
        + " topic's partitions.")
final class TopicsCommand implements Callable<Integer> {
  @Mixin KafkaOptions kafka;

  @Option(names = "--partitions", defaultValue = "4", description = "Partitions per new topic: at most this many workers"
      + " (and Streams instances) share the work (default ${DEFAULT-VALUE}).")
  int partitions;

  @Option(names = "--replication-factor", defaultValue = "1", description = "Replicas per partition (default ${DEFAULT-VALUE}).")
  short replicationFactor;

  @Override
  public Integer call() throws Exception {
    if (partitions < 1) {
      throw new IllegalArgumentException("--partitions must be at least 1, got " + partitions
          + "; give at least as many as the workers or Streams instances you mean to run (default 4)");
    }
    if (replicationFactor < 1) {
      throw new IllegalArgumentException("--replication-factor must be at least 1, got " + replicationFactor
          + "; 1 on a single broker, up to the number of brokers on a cluster (default 1)");
    }
    Map<String, Object> props = KafkaClientPolicy.admin().bootstrapServers(kafka.required()).overrides(kafka.overrides()).build();
    try (Admin admin = Admin.create(props)) {
      Topics.createAll(admin, partitions, replicationFactor);
      Map<String, TopicDescription> described =
          admin.describeTopics(Topics.ALL.stream().map(TopicSpec::name).toList()).allTopicNames().get();
      for (TopicSpec<?, ?> t : Topics.ALL) {
        int has = described.get(t.name()).partitions().size();
        String line = t.name() + ": " + has + (has == 1 ? " partition" : " partitions") + (t.compacted() ? ", compacted" : "");
        if (has < partitions) {
          // A key's partition is its hash modulo the count: adding partitions moves keys, so a running
          // probe's later frames would land apart from its earlier ones (and its Streams state).
          line += "; it existed with fewer than --partitions " + partitions + " (kafka-topics.sh --alter --topic " + t.name()
              + " --partitions " + partitions + " adds them; do it while no probe runs)";
        }
        System.out.println(line);
      }
    }
    return 0;
  }
}
