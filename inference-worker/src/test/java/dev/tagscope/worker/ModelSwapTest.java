package dev.tagscope.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What {@link InferenceWorker#swapModel} decides before the poll thread is involved: a worker built
 * against an address where no broker listens, never started (its clients never connect).
 */
class ModelSwapTest {
  @TempDir Path dir;

  private static double swaps(SimpleMeterRegistry r, String outcome) {
    return r.get(InferenceWorker.MODEL_SWAPS_METER).tag("outcome", outcome).counter().count();
  }

  private InferenceWorker worker(Path model, SimpleMeterRegistry registry) {
    return new InferenceWorker("127.0.0.1:1", WorkerSettings.defaults(model).withInstanceId("swap-unit")
        .withIntraOpThreads(1), registry);
  }

  @Test
  void aFileOfTheRunningVersionIsNotLoaded() throws Exception {
    Path a = TestModels.copyBundled(Files.createDirectories(dir.resolve("a")), null);
    Path same = TestModels.copyBundled(Files.createDirectories(dir.resolve("same")), null);
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    try (InferenceWorker w = worker(a, registry)) {
      ActivationModel running = w.model();
      CompletableFuture<String> f = w.swapModel(same);
      assertTrue(f.isDone());
      assertEquals(running.version(), f.get());
      assertSame(running, w.model());
      assertEquals(1, swaps(registry, "unchanged"));
      assertEquals(1, registry.get(InferenceWorker.MODEL_VERSION_METER).tag("version", running.version()).gauge().value());
    }
  }

  @Test
  void anotherModelNameIsRefusedAndTheOldModelKept() throws Exception {
    Path a = TestModels.copyBundled(Files.createDirectories(dir.resolve("a")), null);
    Path other = TestModels.copyBundled(Files.createDirectories(dir.resolve("other")), null);
    Files.writeString(other.resolveSibling("fmnist-resnet32.json"),
        Files.readString(other.resolveSibling("fmnist-resnet32.json")).replace("\"fmnist-resnet32\"", "\"other-model\""));
    Files.write(other, TestModels.bundledWithScaledFirstConv(2f)); // another version, so it is loaded
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    try (InferenceWorker w = worker(a, registry)) {
      ActivationModel running = w.model();
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> w.swapModel(other));
      assertTrue(e.getMessage().contains("refused") && e.getMessage().contains("'other-model'"), e.getMessage());
      assertSame(running, w.model());
      assertEquals(1, swaps(registry, "refused"));
      assertEquals(0, swaps(registry, "swapped"));
    }
  }

  @Test
  void otherTapsAreRefused() {
    ModelConfig c = ModelConfig.of(TestModels.model()).withIntraOpThreads(1);
    try (ActivationModel two = ActivationModel.load(c.withLayers("conv1,layer3.4"));
         ActivationModel one = ActivationModel.load(c.withLayers("conv1"));
         ActivationModel twoAgain = ActivationModel.load(c.withLayers("layer3.4,conv1"))) {
      String why = ModelSwapper.refusal(two, one);
      assertTrue(why != null && why.contains("{conv1=16}") && why.contains("{conv1=16, layer3.4=64}"), why);
      assertNull(ModelSwapper.refusal(two, twoAgain), "the same taps by name and filter count");
    }
  }

  @Test
  void aFileThatDoesNotLoadIsCountedAsFailedAndTheOldModelKept() throws Exception {
    Path a = TestModels.copyBundled(Files.createDirectories(dir.resolve("a")), null);
    Path broken = Files.writeString(dir.resolve("broken.onnx"), "not a model", StandardCharsets.US_ASCII);
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    try (InferenceWorker w = worker(a, registry)) {
      ActivationModel running = w.model();
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> w.swapModel(broken));
      assertTrue(e.getMessage().contains("failed") && e.getMessage().contains("broken.onnx"), e.getMessage());
      assertSame(running, w.model());
      assertEquals(1, swaps(registry, "failed"));
    }
  }

  @Test
  void aQueuedModelWaitsForThePollThreadAndIsDroppedWhenTheWorkerCloses() throws Exception {
    Path a = TestModels.copyBundled(Files.createDirectories(dir.resolve("a")), null);
    Path b = TestModels.copyBundled(Files.createDirectories(dir.resolve("b")), "b-1");
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    CompletableFuture<String> f;
    InferenceWorker w = worker(a, registry);
    try {
      ActivationModel running = w.model();
      f = w.swapModel(b);
      assertFalse(f.isDone(), "the switch happens on the poll thread, between two transactions");
      assertSame(running, w.model());
    } finally {
      w.close();
    }
    ExecutionException e = assertThrows(ExecutionException.class, f::get);
    assertTrue(e.getCause().getMessage().contains("closed before it switched to version b-1"), e.getCause().getMessage());
    assertThrows(IllegalStateException.class, () -> w.swapModel(b), "a closed worker swaps nothing");
    assertEquals(0, swaps(registry, "swapped"));
  }
}
