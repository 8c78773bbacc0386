package dev.tagscope.service;

import java.time.Duration;
import java.util.Optional;

/**
 * The one lifecycle every Tagscope service has: the stimulus producer, the inference worker, the
 * Streams application and the dashboard. A command starts its services, waits until each runs,
 * then waits until the user stops it or a service ends by itself, and closes them in reverse
 * order; {@code ServiceRunner} in the launcher does that for every command.
 *
 * <pre>{@code
 * try (TagscopeService s = new SpectralService(bootstrap, Map.of(), registry)) {
 *   s.start();
 *   if (!s.awaitRunning(Duration.ofSeconds(60))) { ... }
 *   while (s.failure().isEmpty() && !s.isFinished()) { ... }
 * }
 * }</pre>
 *
 * <p>Threads: {@link #start()} returns at once, the service works on threads of its own;
 * {@link #failure()}, {@link #isFinished()} and {@link #close()} may be called from any thread.
 */
public interface TagscopeService extends AutoCloseable {

  /**
   * The service's short name, as on its command: {@code producer}, {@code worker},
   * {@code spectral}, {@code dashboard}.
   *
   * @return the name, for logs and messages
   */
  String name();

  /**
   * Starts the service on its own threads and returns at once.
   *
   * @return this service
   * @throws IllegalStateException when already started or closed
   * @throws RuntimeException a configuration or connection error found before any thread starts,
   *     with a message that names the setting and the fix
   */
  TagscopeService start();

  /**
   * Waits until the service does its work: Streams reached RUNNING, the worker joined its
   * consumer group, the dashboard serves and has caught up on its topics, the producer is
   * publishing.
   *
   * @param timeout longest wait
   * @return true when running within the timeout (or it already finished its work), false when
   *     the time ran out or it failed first (see {@link #failure()})
   * @throws InterruptedException when interrupted
   * @throws IllegalStateException before {@link #start()}
   */
  boolean awaitRunning(Duration timeout) throws InterruptedException;

  /**
   * Why the service stopped by itself, if it did.
   *
   * @return the error that stopped it; empty while it runs, after it finished normally, or after
   *     {@link #close()}
   */
  Optional<Throwable> failure();

  /**
   * Whether the service ended by itself: a finite probe fully published, or a failure.
   *
   * @return true once it will do no more work without being started anew
   */
  boolean isFinished();

  /**
   * Stops the service and releases its clients, threads and temporary files; waits a bounded time.
   * Idempotent; never throws a checked exception.
   */
  @Override
  void close();
}
