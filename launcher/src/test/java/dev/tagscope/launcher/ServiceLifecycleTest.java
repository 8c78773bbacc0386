package dev.tagscope.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.File;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Ctrl-C must let a command close its services before the JVM halts. Runs a child JVM that waits
 * like a service, sends it SIGTERM (what Ctrl-C and {@code docker stop} amount to for the shutdown
 * hooks), and checks that its slow close ran to the end.
 */
class ServiceLifecycleTest {

  /** The child: a "service" that takes a second to close, then leaves a marker file. */
  public static final class SlowService {
    public static void main(String[] args) throws Exception {
      Path marker = Path.of(args[0]);
      try (ServiceLifecycle lifecycle = ServiceLifecycle.install()) {
        System.out.println("ready");
        System.out.flush();
        lifecycle.awaitShutdown(() -> false);
        Thread.sleep(1_000); // e.g. a Streams application closing, a broker deleting its log directory
        Files.writeString(marker, "closed");
      }
    }
  }

  @Test
  void sigtermWaitsUntilTheServicesAreClosed(@TempDir Path tmp) throws Exception {
    Path marker = tmp.resolve("closed");
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    String classpath = Path.of("target/test-classes").toAbsolutePath() + File.pathSeparator
        + Path.of("target/classes").toAbsolutePath();
    Process p = new ProcessBuilder(List.of(java, "-cp", classpath, SlowService.class.getName(), marker.toString()))
        .redirectErrorStream(true).start();
    try {
      BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
      assertEquals("ready", out.readLine());
      p.destroy(); // SIGTERM
      assertTrue(p.waitFor(30, TimeUnit.SECONDS), "the child did not exit");
      assertTrue(Files.exists(marker), "the JVM halted before the service had closed");
    } finally {
      p.destroyForcibly();
    }
  }

  @Test
  void serviceThatEndsByItselfEndsTheWaitAndRemovesTheHook() throws Exception {
    CountDownLatch stopped = new CountDownLatch(1);
    try (ServiceLifecycle lifecycle = ServiceLifecycle.install()) {
      stopped.countDown();
      lifecycle.awaitShutdown(() -> stopped.getCount() == 0); // returns at once
      assertFalse(lifecycle.stopRequested());
    }
  }
}
