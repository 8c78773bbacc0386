package dev.tagscope.launcher;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * Ctrl-C (SIGINT) and SIGTERM for a command that owns services.
 *
 * <p>The JVM halts as soon as its shutdown hooks return. A hook that only signalled the caller
 * (as this class once did) let the JVM halt while the caller was still closing its services: the
 * worker's transaction, the Streams application, the demo's embedded broker, and their temporary
 * folders ({@code /tmp/tagscope-kafka-*}, {@code /tmp/tagscope-spectral-*}) were left behind on
 * every Ctrl-C. The hook installed here asks the caller to stop, then waits until the caller has
 * closed everything and called {@link #close()}, for at most {@link #CLOSE_GRACE}, so a close that
 * hangs cannot keep the JVM up for ever.
 *
 * <p>Use it as the outermost resource, so it is closed after the services:
 * <pre>
 * try (ServiceLifecycle lifecycle = ServiceLifecycle.install(); Service s = ...) {
 *   lifecycle.awaitShutdown(s::isFinished);
 * }
 * </pre>
 */
final class ServiceLifecycle implements AutoCloseable {
  /** Longest time the JVM's shutdown waits for the caller to close its services. */
  static final Duration CLOSE_GRACE = Duration.ofSeconds(60);

  private final CountDownLatch stopRequested = new CountDownLatch(1);
  private final CountDownLatch closed = new CountDownLatch(1);
  private final Duration grace;
  private final Thread hook;
  private volatile Runnable onStop = () -> { };

  private ServiceLifecycle(Duration grace) {
    this.grace = grace;
    this.hook = new Thread(this::onShutdown, "tagscope-shutdown");
  }

  /**
   * Installs the shutdown hook.
   *
   * @return the lifecycle; close it once every service is closed
   */
  static ServiceLifecycle install() {
    ServiceLifecycle l = new ServiceLifecycle(CLOSE_GRACE);
    Runtime.getRuntime().addShutdownHook(l.hook);
    return l;
  }

  /**
   * Sets what the hook runs, besides waking {@link #awaitShutdown}, when the JVM is asked to stop
   * (e.g. stopping a publisher that runs on the caller's thread). Runs it at once when the stop was
   * already requested.
   *
   * @param action quick and non-blocking
   */
  void onStop(Runnable action) {
    onStop = action;
    if (stopRequested()) {
      action.run();
    }
  }

  /** @return whether Ctrl-C or SIGTERM has asked the JVM to stop */
  boolean stopRequested() {
    return stopRequested.getCount() == 0;
  }

  /**
   * Blocks until the JVM is asked to stop, or until {@code ended} says the services ended by
   * themselves (checked every 200 ms); then returns so the caller closes its services. The one
   * waiting loop of the commands ({@link ServiceRunner#awaitEnd()} uses it).
   *
   * @param ended true once the caller's services ended by themselves
   * @throws InterruptedException when interrupted
   */
  void awaitShutdown(BooleanSupplier ended) throws InterruptedException {
    while (!stopRequested.await(200, TimeUnit.MILLISECONDS)) {
      if (ended.getAsBoolean()) {
        return;
      }
    }
  }

  /** What the hook runs: wake the caller, then wait for its {@link #close()} (at most the grace). */
  private void onShutdown() {
    stopRequested.countDown();
    try {
      onStop.run();
      closed.await(grace.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Every service is closed: lets a pending shutdown go on, and removes the hook otherwise. */
  @Override
  public void close() {
    closed.countDown();
    try {
      Runtime.getRuntime().removeShutdownHook(hook);
    } catch (IllegalStateException shuttingDown) {
      // The hook is running; it returns now that `closed` is counted down.
    }
  }
}
