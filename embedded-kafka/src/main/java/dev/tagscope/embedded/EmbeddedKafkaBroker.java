package dev.tagscope.embedded;

import dev.tagscope.schemas.Topics;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Map;
import java.util.Properties;
import java.util.stream.Stream;
import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import kafka.tools.StorageTool;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.utils.Time;

/**
 * A real Kafka broker inside the JVM: one combined broker and KRaft controller, built from
 * Kafka's own classes ({@link StorageTool} formats the log directory, {@link KafkaRaftServer}
 * runs the node), listening on 127.0.0.1 only, on free ports, with a static one-voter quorum.
 *
 * <p>It serves {@code tagscope demo} (no cluster to install) and the {@code *IntegrationTest}
 * classes (no Docker engine here, so Testcontainers cannot start one). Start-up takes about
 * 4 s cold and 0.5 s warm; about 40 MB of heap, because the log cleaner's dedupe buffer is
 * cut from 128 MiB to 2 MiB (DESIGN.md section 5).
 *
 * <pre>{@code
 * try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start()) {
 *   broker.createTopics();                    // every topic of Topics.ALL
 *   String bootstrap = broker.bootstrapServers();
 *   ...
 * }
 * }</pre>
 */
public final class EmbeddedKafkaBroker implements AutoCloseable {
  private final KafkaRaftServer server;
  private final Path logDir;
  private final boolean deleteOnClose;
  private final String bootstrapServers;

  private EmbeddedKafkaBroker(KafkaRaftServer server, Path logDir, boolean deleteOnClose, String bootstrapServers) {
    this.server = server;
    this.logDir = logDir;
    this.deleteOnClose = deleteOnClose;
    this.bootstrapServers = bootstrapServers;
  }

  /**
   * Starts a broker on free loopback ports with a temporary log directory that is deleted on
   * {@link #close()}.
   *
   * @return the running broker
   * @throws IllegalStateException when formatting the storage or starting the node fails
   */
  public static EmbeddedKafkaBroker start() {
    try {
      return start(Files.createTempDirectory("tagscope-kafka-"), true, Map.of());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create a temporary Kafka log directory", e);
    }
  }

  /**
   * Starts a broker on free loopback ports.
   *
   * @param logDir log directory; formatted when empty, reused when it already holds a formatted log
   * @param deleteOnClose whether {@link #close()} deletes {@code logDir}
   * @param overrides extra broker properties (for example {@code log.retention.ms}); they win over the defaults
   * @return the running broker
   * @throws IllegalStateException when formatting the storage or starting the node fails, with Kafka's output
   */
  public static EmbeddedKafkaBroker start(Path logDir, boolean deleteOnClose, Map<String, String> overrides) {
    int brokerPort = freePort();
    int controllerPort = freePort();
    Properties props = new Properties();
    props.put("process.roles", "broker,controller");
    props.put("node.id", "1");
    props.put("controller.quorum.voters", "1@127.0.0.1:" + controllerPort);
    props.put("listeners", "PLAINTEXT://127.0.0.1:" + brokerPort + ",CONTROLLER://127.0.0.1:" + controllerPort);
    props.put("advertised.listeners", "PLAINTEXT://127.0.0.1:" + brokerPort);
    props.put("controller.listener.names", "CONTROLLER");
    props.put("inter.broker.listener.name", "PLAINTEXT");
    props.put("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT");
    props.put("log.dirs", logDir.toAbsolutePath().toString());
    // A single node: every internal topic has one replica, and few partitions start faster.
    props.put("offsets.topic.replication.factor", "1");
    props.put("offsets.topic.num.partitions", "4");
    props.put("transaction.state.log.replication.factor", "1");
    props.put("transaction.state.log.min.isr", "1");
    props.put("transaction.state.log.num.partitions", "4");
    props.put("share.coordinator.state.topic.replication.factor", "1");
    props.put("share.coordinator.state.topic.min.isr", "1");
    props.put("group.initial.rebalance.delay.ms", "0");
    props.put("auto.create.topics.enable", "false");
    // The cleaner's dedupe buffer defaults to 128 MiB of heap; compacted topics here are small.
    props.put("log.cleaner.dedupe.buffer.size", "2097152");
    props.putAll(overrides);

    try {
      Path config = Files.createTempFile("tagscope-kafka-", ".properties");
      try (var out = Files.newBufferedWriter(config)) {
        props.store(out, "Tagscope embedded broker");
      }
      ByteArrayOutputStream formatOutput = new ByteArrayOutputStream();
      int rc = StorageTool.execute(new String[] {"format", "--ignore-formatted", "-t", Uuid.randomUuid().toString(),
          "-c", config.toString()}, new PrintStream(formatOutput, true, StandardCharsets.UTF_8));
      Files.deleteIfExists(config);
      if (rc != 0) {
        throw new IllegalStateException("formatting Kafka storage in " + logDir + " failed (exit " + rc + "): "
            + formatOutput.toString(StandardCharsets.UTF_8));
      }
      KafkaRaftServer server = new KafkaRaftServer(KafkaConfig.fromProps(props, false), Time.SYSTEM);
      server.startup();
      return new EmbeddedKafkaBroker(server, logDir, deleteOnClose, "127.0.0.1:" + brokerPort);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot prepare the embedded Kafka broker in " + logDir, e);
    } catch (RuntimeException e) {
      throw new IllegalStateException("cannot start the embedded Kafka broker: " + e.getMessage(), e);
    }
  }

  /** @return {@code host:port} for {@code bootstrap.servers}, always on 127.0.0.1 */
  public String bootstrapServers() {
    return bootstrapServers;
  }

  /**
   * Creates every Tagscope topic ({@link Topics#ALL}) with one partition each.
   *
   * @throws IllegalStateException when the broker refuses a topic
   */
  public void createTopics() {
    createTopics(1);
  }

  /**
   * Creates every Tagscope topic ({@link Topics#ALL}) that does not exist yet.
   *
   * @param partitions partitions for each topic
   * @throws IllegalStateException when the broker refuses a topic
   */
  public void createTopics(int partitions) {
    try (Admin admin = admin()) {
      Topics.createAll(admin, partitions, (short) 1);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while creating topics", e);
    }
  }

  /** @return a new admin client of this broker; the caller closes it */
  public Admin admin() {
    return Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers));
  }

  /** Stops the node and, when asked at start, deletes its log directory. */
  @Override
  public void close() {
    server.shutdown();
    server.awaitShutdown();
    if (deleteOnClose) {
      deleteRecursively(logDir);
    }
  }

  private static int freePort() {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      socket.setReuseAddress(true);
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException("no free port on 127.0.0.1", e);
    }
  }

  private static void deleteRecursively(Path dir) {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(dir)) {
      paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      // Best effort: a leftover temporary directory is not worth failing a shutdown for.
    }
  }
}
