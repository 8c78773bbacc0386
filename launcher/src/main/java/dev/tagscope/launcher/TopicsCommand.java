package dev.tagscope.launcher;

import dev.tagscope.schemas.TopicSpec;
import dev.tagscope.schemas.Topics;
import dev.tagscope.service.KafkaClientPolicy;
import java.util.Map;
import java.util.concurrent.Callable;
import org.apache.kafka.clients.admin.Admin;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code tagscope topics}: creates Tagscope's topics on an external cluster. */
@Command(name = "topics", mixinStandardHelpOptions = true,
    description = "Create every Tagscope topic that is missing (compacted where the contract says so).")
final class TopicsCommand implements Callable<Integer> {
  @Mixin KafkaOptions kafka;

  @Option(names = "--partitions", defaultValue = "4", description = "Partitions per topic (default ${DEFAULT-VALUE}).")
  int partitions;

  @Option(names = "--replication-factor", defaultValue = "1", description = "Replicas per partition (default ${DEFAULT-VALUE}).")
  short replicationFactor;

  @Override
  public Integer call() throws Exception {
    if (partitions < 1) {
      throw new IllegalArgumentException("--partitions must be at least 1");
    }
    Map<String, Object> props = KafkaClientPolicy.admin().bootstrapServers(kafka.required()).overrides(kafka.overrides()).build();
    try (Admin admin = Admin.create(props)) {
      Topics.createAll(admin, partitions, replicationFactor);
    }
    for (TopicSpec<?, ?> t : Topics.ALL) {
      System.out.println(t.name() + (t.compacted() ? " (compacted)" : ""));
    }
    return 0;
  }
}
