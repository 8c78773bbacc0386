package dev.tagscope.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import dev.tagscope.worker.internal.Sidecar;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The watch's settle rule, one {@link ModelWatcher#check()} at a time (no schedule, no clock). */
class ModelWatcherTest {
  @TempDir Path dir;

  private static double swapped(SimpleMeterRegistry r) {
    return r.get(ModelSwapper.SWAPS).tag("outcome", "swapped").counter().count();
  }

  @Test
  void aChangeIsLoadedOnlyOnceItHasStayedTheSameForOneCheck() throws Exception {
    Path file = TestModels.copyBundled(dir, "v1");
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    ModelConfig config = ModelConfig.of(file).withIntraOpThreads(1);
    ActivationModel first = ActivationModel.load(config);
    ModelSwapper swapper = new ModelSwapper(first, true, config, m -> null, registry);
    try (ModelWatcher watcher = new ModelWatcher(file, Duration.ofSeconds(1), swapper, first.name())) {
      watcher.check();
      swapper.switchIfPending();
      assertSame(first, swapper.active().model(), "nothing changed");

      TestModels.writeCard(file, "v2");
      watcher.check(); // changed: waits
      swapper.switchIfPending();
      assertSame(first, swapper.active().model(), "a change is not loaded at the check that sees it");

      Files.writeString(Sidecar.pathFor(file), Files.readString(Sidecar.pathFor(file)).replace("\"v2\"", "\"v3-longer\""));
      watcher.check(); // changed again since the last check: still a writer at work
      swapper.switchIfPending();
      assertEquals("v1", swapper.active().model().version());
      assertEquals(0, swapped(registry));

      watcher.check(); // the same as at the last check: settled, loaded and queued
      swapper.switchIfPending();
      assertEquals("v3-longer", swapper.active().model().version());
      assertEquals(1, swapped(registry));

      watcher.check(); // no change since the load
      swapper.switchIfPending();
      assertEquals(1, swapped(registry));
    } finally {
      swapper.close();
      swapper.closeActive();
    }
  }
}
