package dev.tagscope.launcher;

import dev.tagscope.service.TagscopeService;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Optional;

/**
 * Runs a command's services: the one runner every command shares. It installs the Ctrl-C and
 * SIGTERM handling ({@link ServiceLifecycle}) first, starts each service and waits until it runs,
 * then waits until the user stops the command or a service ends by itself, and closes the
 * services in reverse order of starting, the shutdown hook last.
 *
 * <pre>{@code
 * try (ServiceRunner runner = ServiceRunner.install()) {
 *   SpectralService s = runner.start(new SpectralService(bootstrap, overrides, registry), Duration.ofMinutes(2));
 *   return runner.awaitEnd();
 * }
 * }</pre>
 */
final class ServiceRunner implements AutoCloseable {
  private final ServiceLifecycle lifecycle;
  private final Deque<TagscopeService> started = new ArrayDeque<>();

  private ServiceRunner(ServiceLifecycle lifecycle) {
    this.lifecycle = lifecycle;
  }

  /**
   * Installs the shutdown hook.
   *
   * @return the runner; close it to close every service it started
   */
  static ServiceRunner install() {
    return new ServiceRunner(ServiceLifecycle.install());
  }

  /**
   * Starts a service and waits until it runs. The service is closed by {@link #close()}, also when
   * it fails to start.
   *
   * @param <S> the service's type
   * @param service a service not yet started
   * @param runningTimeout how long it may take to run
   * @return the service, running
   * @throws IllegalStateException when it fails or does not run within the timeout (the message
   *     names the service and the cause)
   * @throws InterruptedException when interrupted while waiting
   */
  <S extends TagscopeService> S start(S service, Duration runningTimeout) throws InterruptedException {
    start(service);
    if (!service.awaitRunning(runningTimeout)) {
      Optional<Throwable> failure = service.failure();
      if (failure.isPresent()) {
        throw new IllegalStateException(service.name() + " failed while starting: " + describe(failure.get()), failure.get());
      }
      if (!service.isFinished()) {
        throw new IllegalStateException(service.name() + " is not running after " + runningTimeout.toSeconds()
            + " s; is the cluster reachable and are the topics created (tagscope topics)?");
      }
    }
    return service;
  }

  /**
   * Starts a service without waiting for it to run, for a service nothing else waits on (the
   * dashboard serves at once and catches up on its topics in the background). It is closed by
   * {@link #close()}, also when it fails to start.
   *
   * @param <S> the service's type
   * @param service a service not yet started
   * @return the service, started
   */
  <S extends TagscopeService> S start(S service) {
    started.push(service);
    service.start();
    return service;
  }

  /**
   * Throws when a started service has failed, so a command's own wait loop stops at once.
   *
   * @throws IllegalStateException naming the service and its failure
   */
  void check() {
    for (TagscopeService s : started) {
      Optional<Throwable> failure = s.failure();
      if (failure.isPresent()) {
        throw new IllegalStateException("the " + s.name() + " failed: " + describe(failure.get()), failure.get());
      }
    }
  }

  /**
   * Whether Ctrl-C or SIGTERM asked the command to stop.
   *
   * @return true once asked
   */
  boolean stopRequested() {
    return lifecycle.stopRequested();
  }

  /**
   * Sets what runs on Ctrl-C besides waking the waits (e.g. stopping a publication early).
   *
   * @param action quick and non-blocking
   */
  void onStop(Runnable action) {
    lifecycle.onStop(action);
  }

  /**
   * Blocks until Ctrl-C or SIGTERM, or until a started service ends by itself.
   *
   * @return the exit status: 0 when stopped or every service finished normally, 1 when one failed
   *     (its failure is printed on standard error)
   * @throws InterruptedException when interrupted
   */
  int awaitEnd() throws InterruptedException {
    lifecycle.awaitShutdown(() -> started.stream().anyMatch(TagscopeService::isFinished));
    return exitStatus();
  }

  private int exitStatus() {
    for (TagscopeService s : started) {
      Optional<Throwable> failure = s.failure();
      if (failure.isPresent()) {
        System.err.println(s.name() + " failed: " + describe(failure.get()));
        return 1;
      }
    }
    return 0;
  }

  /**
   * Blocks until Ctrl-C or SIGTERM only, whatever the services do (the demo's {@code --serve}).
   *
   * @throws InterruptedException when interrupted
   */
  void awaitStopRequest() throws InterruptedException {
    lifecycle.awaitShutdown(() -> false);
  }

  /**
   * Closes the services started so far, last started first; for a caller that must close them
   * before something they use (the demo's embedded broker). Idempotent.
   */
  void closeServices() {
    RuntimeException first = null;
    while (!started.isEmpty()) {
      try {
        started.pop().close();
      } catch (RuntimeException e) {
        if (first == null) {
          first = e;
        } else {
          first.addSuppressed(e);
        }
      }
    }
    if (first != null) {
      throw first;
    }
  }

  /**
   * A failure in words: its message, or its class when it has none (a NullPointerException, say).
   *
   * @param t the failure
   * @return the text to print
   */
  static String describe(Throwable t) {
    return t.getMessage() != null ? t.getMessage() : t.toString();
  }

  /** Closes the services, last started first, then lets a pending shutdown go on. */
  @Override
  public void close() {
    try {
      closeServices();
    } finally {
      lifecycle.close();
    }
  }
}
