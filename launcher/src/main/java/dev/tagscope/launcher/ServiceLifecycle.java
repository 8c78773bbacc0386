package dev.tagscope.launcher;

import java.util.concurrent.CountDownLatch;

/** Keeps a standalone service in the foreground until Ctrl-C (SIGINT/SIGTERM). */
final class ServiceLifecycle {
  private ServiceLifecycle() {}

  /**
   * Blocks until the JVM is asked to stop, then returns so the caller's try-with-resources
   * closes the service (committing or aborting its work) before the JVM exits.
   *
   * @param stopped counted down by the caller when the service ends by itself
   * @throws InterruptedException when interrupted
   */
  static void awaitShutdown(CountDownLatch stopped) throws InterruptedException {
    CountDownLatch closed = new CountDownLatch(1);
    Thread hook = new Thread(() -> {
      stopped.countDown();
      try {
        closed.await(); // let the caller close its service before the JVM goes
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }, "tagscope-shutdown");
    Runtime.getRuntime().addShutdownHook(hook);
    try {
      stopped.await();
    } finally {
      // Runs before the caller's close(); the hook then waits only until the JVM's own exit.
      closed.countDown();
    }
  }
}
