package dev.tagscope.worker;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.lang.management.ManagementFactory;
import java.util.Map;
import java.util.Set;
import javax.management.ObjectName;
import org.junit.jupiter.api.Test;

/** Construction without a broker: clients are created but never connect. */
class InferenceWorkerConstructionTest {

  private static Set<ObjectName> appInfo(String type, String clientId) throws Exception {
    return ManagementFactory.getPlatformMBeanServer()
        .queryNames(new ObjectName("kafka." + type + ":type=app-info,id=" + clientId), null);
  }

  @Test
  void aClientThatCannotBeBuiltClosesTheClientsBuiltBeforeIt() throws Exception {
    // acks is a producer setting: the stimuli consumer ignores it, the producer refuses the value
    WorkerSettings s = WorkerSettings.defaults(TestModels.model()).withInstanceId("ctor-leak")
        .withClientOverrides(Map.of("acks", "bogus"));
    try (ActivationModel model = ActivationModel.load(s.modelConfig())) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> new InferenceWorker("127.0.0.1:1", s, model, new SimpleMeterRegistry()));
      assertTrue(e.getMessage().contains("invalid Kafka client configuration"), e.getMessage());
      assertTrue(appInfo("consumer", "tagscope-inference-worker-ctor-leak-stimuli").isEmpty(),
          "the stimuli consumer built before the failing producer was closed");
    }
  }

  @Test
  void anOverrideOfAPinnedSettingIsRefusedBeforeAnyClientIsBuilt() throws Exception {
    for (Map.Entry<String, String> pinned : Map.of("isolation.level", "read_uncommitted", "enable.auto.commit", "true",
        "transactional.id", "another-worker", "enable.idempotence", "false").entrySet()) {
      WorkerSettings s = WorkerSettings.defaults(TestModels.model()).withInstanceId("ctor-pinned")
          .withClientOverrides(Map.of(pinned.getKey(), pinned.getValue()));
      try (ActivationModel model = ActivationModel.load(s.modelConfig())) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> new InferenceWorker("127.0.0.1:1", s, model, new SimpleMeterRegistry()));
        assertTrue(e.getMessage().contains(pinned.getKey() + " is pinned") && e.getMessage().contains(pinned.getValue()),
            e.getMessage());
        assertTrue(appInfo("consumer", "tagscope-inference-worker-ctor-pinned-stimuli").isEmpty(), "no client was left open");
      }
    }
  }
}
