package dev.tagscope.launcher;

import dev.tagscope.embedded.EmbeddedKafkaBroker;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole pipeline ({@link PipelineScenario}) through the embedded broker, started in this JVM and
 * owned by the test, so it runs on every machine, with or without a Docker engine.
 */
class PipelineIntegrationTest {
  @Test
  void probeFlowsFromProducerToImportanceTopicAndReport(@TempDir Path tmp) throws Exception {
    try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start()) {
      PipelineScenario.probeFlowsFromProducerToImportanceTopicAndReport(broker.bootstrapServers(), tmp);
    }
  }
}
