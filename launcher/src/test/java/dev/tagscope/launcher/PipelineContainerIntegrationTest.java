package dev.tagscope.launcher;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.kafka.KafkaContainer;

/**
 * The whole pipeline ({@link PipelineScenario}, the same assertions as {@link PipelineIntegrationTest})
 * through Kafka's own {@code apache/kafka} image in a container, started by Testcontainers.
 *
 * <p>Runs where Testcontainers finds a Docker engine ({@code DOCKER_HOST}, the Docker socket or
 * {@code docker.host} in {@code ~/.testcontainers.properties}). Elsewhere it is skipped, with one
 * WARN line that says why: a missing engine is the expected case on machines without one, so
 * Testcontainers' own ERROR report of every strategy it tried is kept quiet unless asked for with
 * {@code -Dorg.slf4j.simpleLogger.log.org.testcontainers.dockerclient.DockerClientProviderStrategy=error}
 * on the Maven command line. Without an engine the probe fails fast (no socket to connect to).
 */
class PipelineContainerIntegrationTest {
  /** The broker image, the same Kafka release as the clients and the embedded broker. */
  static final String KAFKA_IMAGE = "apache/kafka:4.3.1";
  private static final String PROBE_LOGGER =
      "org.slf4j.simpleLogger.log.org.testcontainers.dockerclient.DockerClientProviderStrategy";

  @BeforeEach
  void requireDocker() {
    System.getProperties().putIfAbsent(PROBE_LOGGER, "off");
    boolean docker = DockerClientFactory.instance().isDockerAvailable();
    if (!docker) {
      Logger log = LoggerFactory.getLogger(PipelineContainerIntegrationTest.class);
      log.warn("skipped: no Docker engine found by Testcontainers (DOCKER_HOST, /var/run/docker.sock,"
          + " ~/.testcontainers.properties); PipelineIntegrationTest runs the same scenario on the embedded broker");
    }
    assumeTrue(docker, "no Docker engine: " + KAFKA_IMAGE + " cannot be started here");
  }

  @Test
  void probeFlowsFromProducerToImportanceTopicAndReport(@TempDir Path tmp) throws Exception {
    try (KafkaContainer kafka = new KafkaContainer(KAFKA_IMAGE)) {
      kafka.start();
      PipelineScenario.probeFlowsFromProducerToImportanceTopicAndReport(kafka.getBootstrapServers(), tmp);
    }
  }
}
