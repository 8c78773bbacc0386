package dev.tagscope.schemas;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.config.TopicConfig;
import org.junit.jupiter.api.Test;

class TopicSpecTest {
  @Test
  void newTopicCarriesThePartitionsReplicationAndCleanupPolicy() {
    NewTopic stimuli = Topics.STIMULI.newTopic(4, (short) 1);
    assertEquals(4, stimuli.numPartitions());
    assertEquals(1, stimuli.replicationFactor());
    assertEquals(null, stimuli.configs().get(TopicConfig.CLEANUP_POLICY_CONFIG));
    NewTopic probes = Topics.PROBES.newTopic(3, (short) 2);
    assertEquals(3, probes.numPartitions());
    assertEquals(TopicConfig.CLEANUP_POLICY_COMPACT, probes.configs().get(TopicConfig.CLEANUP_POLICY_CONFIG));
  }

  @Test
  void aLayoutBelowOneIsRefusedNamingTheFieldAndTheFix() {
    IllegalArgumentException p = assertThrows(IllegalArgumentException.class, () -> Topics.ACTIVATIONS.newTopic(0, (short) 1));
    assertTrue(p.getMessage().startsWith("partitions must be at least 1 per topic, got 0"), p.getMessage());
    assertTrue(p.getMessage().contains("e.g. 4"), p.getMessage());
    IllegalArgumentException r = assertThrows(IllegalArgumentException.class, () -> TopicSpec.checkLayout(4, (short) 0));
    assertTrue(r.getMessage().startsWith("replicationFactor must be at least 1, got 0"), r.getMessage());
    // Topics.createAll checks before it asks the cluster: no admin client is touched
    assertThrows(IllegalArgumentException.class, () -> Topics.createAll(null, -2, (short) 1));
  }
}
