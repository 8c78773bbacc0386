package dev.tagscope.launcher;

import dev.tagscope.service.KafkaClientPolicy;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Option;

/** Options that say which Kafka cluster to use and how to reach it. */
public final class KafkaOptions {
  @Option(names = "--bootstrap-servers", paramLabel = "HOST:PORT[,...]",
      description = "Kafka cluster to use. The demo starts an embedded broker on 127.0.0.1 when this is omitted.")
  String bootstrapServers;

  @Option(names = "--kafka", paramLabel = "KEY=VALUE",
      description = "Extra Kafka client property for every client (repeatable), e.g. --kafka security.protocol=SSL. "
          + "The settings exactly-once depends on (isolation.level, enable.auto.commit, enable.idempotence, acks, "
          + "transactional.id, processing.guarantee) are pinned and refused.")
  List<String> kafkaProperties = List.of();

  /**
   * Extra client properties from {@code --kafka KEY=VALUE}, checked against
   * {@link KafkaClientPolicy}: every command calls this before it starts anything, so a pinned
   * key fails the command at once, whichever client it was meant for.
   *
   * @return the properties in the order given
   * @throws IllegalArgumentException when an entry has no {@code =}
   * @throws dev.tagscope.service.PinnedSettingException when an entry changes a pinned setting
   *     (plain or with a Kafka Streams client prefix), naming the key, the pinned value and why
   */
  Map<String, Object> overrides() {
    Map<String, Object> out = new LinkedHashMap<>();
    for (String kv : kafkaProperties) {
      int eq = kv.indexOf('=');
      if (eq <= 0) {
        throw new IllegalArgumentException("--kafka: expected KEY=VALUE, got '" + kv + "'");
      }
      out.put(kv.substring(0, eq).trim(), kv.substring(eq + 1).trim());
    }
    KafkaClientPolicy.checkOverrides(out);
    return out;
  }

  /**
   * The bootstrap servers, for commands that cannot start an embedded broker.
   *
   * @return the value of {@code --bootstrap-servers}
   * @throws IllegalArgumentException when it is missing
   */
  String required() {
    if (bootstrapServers == null || bootstrapServers.isBlank()) {
      throw new IllegalArgumentException("--bootstrap-servers is required for this command "
          + "(e.g. --bootstrap-servers 127.0.0.1:9092); `tagscope demo` starts an embedded broker instead");
    }
    return bootstrapServers;
  }
}
