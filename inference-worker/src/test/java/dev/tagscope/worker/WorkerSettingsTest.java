package dev.tagscope.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

class WorkerSettingsTest {
  private static final Path MODEL = Path.of("model.onnx");

  @Test
  void commitRetriesDefaultToThreeStartingOneSecondApart() {
    WorkerSettings d = WorkerSettings.defaults(MODEL);
    assertEquals(3, d.commitRetries());
    assertEquals(Duration.ofSeconds(1), d.commitRetryBackoff());
    // the constructor without the retry fields (kept for existing callers) gives the same defaults
    WorkerSettings old = new WorkerSettings(MODEL, null, 32, null, 0, null, null, null, "i", null, 256, Map.of());
    assertEquals(3, old.commitRetries());
    assertEquals(Duration.ofSeconds(1), old.commitRetryBackoff());
    assertFalse(d.intraOpSpinning() || old.intraOpSpinning() || d.modelConfig().intraOpSpinning()
        || ModelConfig.of(MODEL).intraOpSpinning(), "intra-op threads do not spin unless asked");
    assertTrue(ModelConfig.of(MODEL).withIntraOpSpinning(true).withLayers("x").intraOpSpinning());
  }

  @Test
  void everyCopyKeepsTheRetrySettings() {
    WorkerSettings s = WorkerSettings.defaults(MODEL).withIntraOpSpinning(true).withCommitRetries(7)
        .withCommitRetryBackoff(Duration.ofMillis(250))
        .withLayers("conv1").withBatchSize(4).withPreprocessing(null).withIntraOpThreads(1).withExecutionProvider("cpu")
        .withGroupId("g").withTransactionalIdPrefix("t").withInstanceId("i").withPollTimeout(Duration.ofMillis(100))
        .withMaxPollRecords(10).withClientOverrides(Map.of("acks", "all"));
    assertEquals(7, s.commitRetries());
    assertEquals(Duration.ofMillis(250), s.commitRetryBackoff());
    assertEquals(4, s.batchSize());
    assertEquals("t-i", s.transactionalIdFor("m"), "an explicit prefix is kept whatever the model");
    assertEquals("g", s.groupIdFor("m"));
    assertTrue(s.intraOpSpinning() && s.modelConfig().intraOpSpinning(), "spinning survives every copy into the model config");
    assertEquals(1, s.modelConfig().intraOpThreads());
    assertEquals(0, WorkerSettings.defaults(MODEL).withCommitRetries(0).commitRetries(), "0 = no retry is allowed");
    assertEquals(Duration.ZERO, WorkerSettings.defaults(MODEL).withCommitRetryBackoff(Duration.ZERO).commitRetryBackoff());
    assertEquals(Duration.ofSeconds(1), WorkerSettings.defaults(MODEL).withCommitRetryBackoff(null).commitRetryBackoff());
  }

  @Test
  void negativeRetrySettingsAreRefusedNamingTheField() {
    IllegalArgumentException r = assertThrows(IllegalArgumentException.class,
        () -> WorkerSettings.defaults(MODEL).withCommitRetries(-1));
    assertTrue(r.getMessage().contains("commitRetries") && r.getMessage().contains("-1"), r.getMessage());
    IllegalArgumentException b = assertThrows(IllegalArgumentException.class,
        () -> WorkerSettings.defaults(MODEL).withCommitRetryBackoff(Duration.ofMillis(-5)));
    assertTrue(b.getMessage().contains("commitRetryBackoff"), b.getMessage());
  }

  @Test
  void byDefaultEachModelHasItsOwnGroupAndTransactionalIds() {
    WorkerSettings d = WorkerSettings.defaults(MODEL).withInstanceId("pod-1");
    assertEquals("tagscope-inference-worker.fmnist-resnet32", d.groupIdFor("fmnist-resnet32"));
    assertEquals("tagscope-inference-worker.resnet50", d.groupIdFor("resnet50"));
    assertEquals("tagscope-inference-worker.fmnist-resnet32-pod-1", d.transactionalIdFor("fmnist-resnet32"));
    assertEquals("tagscope-inference-worker.resnet50-pod-1", d.transactionalIdFor("resnet50"),
        "one instance id under two models must not fence each other");
    assertEquals("tagscope-inference-worker.m", d.withGroupId("  ").groupIdFor("m"), "blank means the default");
  }
}
