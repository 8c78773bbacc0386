package dev.tagscope.worker;

import dev.tagscope.worker.internal.Sidecar;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Watches the worker's model file and its card ({@code --model-watch}) and hands a changed file to
 * the {@link ModelSwapper}. It polls: every interval it reads the size, modification time and file
 * key (inode) of the model file and of its card; a change is acted on only once both have stayed
 * the same for one whole interval, so a file still being copied in place is not loaded half-written
 * (an atomic rename into place, the recommended way to deploy, settles after one interval). After
 * the load the stamps are read again, and a file that changed meanwhile is dropped and loaded once
 * it settles.
 *
 * <p>Why polling and not {@link java.nio.file.WatchService}: a watch service reports events on a
 * folder, not a file, and says nothing about whether the writer is done, so a settle period is
 * needed either way; on macOS the JDK 17 watch service polls itself (every 10 s by default), on network
 * file systems inotify sees no remote writes, and a Kubernetes ConfigMap or volume update swaps a
 * symbolic link two levels up. Two {@code stat} calls every few seconds cost nothing next to
 * inference and work the same everywhere.
 */
final class ModelWatcher implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ModelWatcher.class);

  /** What a change of the model file or its card shows: size, time and file key of each ({@code null} when missing). */
  record Stamp(FileStamp model, FileStamp card) {
    static Stamp of(Path modelFile) {
      return new Stamp(FileStamp.of(modelFile), FileStamp.of(Sidecar.pathFor(modelFile)));
    }
  }

  /** One file's size in bytes, modification time and file key. */
  record FileStamp(long size, long modifiedNanos, Object fileKey) {
    static FileStamp of(Path p) {
      try {
        BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class);
        return new FileStamp(a.size(), a.lastModifiedTime().to(TimeUnit.NANOSECONDS), a.fileKey());
      } catch (NoSuchFileException e) {
        return null;
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  }

  private final Path file;
  private final Duration interval;
  private final ModelSwapper swapper;
  private final ScheduledExecutorService executor;
  /** The stamp of the file last loaded (or found unchanged, refused or failed); only the watch thread touches it after construction. */
  private Stamp loaded;
  /** A changed stamp seen at the last check, waiting to stay the same for one interval. */
  private Stamp candidate;

  /**
   * Takes the stamp of the file as it is now (the model the worker runs); starts nothing.
   *
   * @param file the model file to watch
   * @param interval time between two checks, which is also the settle period
   * @param swapper where a changed file goes
   * @param modelName for the thread's name
   */
  ModelWatcher(Path file, Duration interval, ModelSwapper swapper, String modelName) {
    this.file = Objects.requireNonNull(file, "file");
    this.interval = Objects.requireNonNull(interval, "interval");
    this.swapper = Objects.requireNonNull(swapper, "swapper");
    this.loaded = Stamp.of(file);
    this.executor = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "tagscope-model-watch-" + modelName);
      t.setDaemon(true);
      return t;
    });
  }

  /** Starts checking every interval. */
  void start() {
    long ms = Math.max(1, interval.toMillis());
    executor.scheduleWithFixedDelay(this::checkQuietly, ms, ms, TimeUnit.MILLISECONDS);
    log.info("watching model file {} every {} (and its card {})", file, interval, Sidecar.pathFor(file));
  }

  private void checkQuietly() {
    try {
      check();
    } catch (RuntimeException e) { // a failed check must not end the schedule
      log.warn("model watch of {}: {}", file, e.toString());
    }
  }

  /** One check: see the class docs. */
  void check() {
    Stamp now = Stamp.of(file);
    if (now.equals(loaded)) {
      candidate = null;
      return;
    }
    if (!now.equals(candidate)) {
      candidate = now; // changed since the last look: wait until it stays put for one interval
      return;
    }
    candidate = null;
    loaded = now;
    if (now.model() == null) {
      log.warn("model file {} is gone; the worker keeps the model it runs", file);
      return;
    }
    try {
      swapper.swap(file, () -> Stamp.of(file).equals(now));
    } catch (IllegalArgumentException e) {
      if (!Stamp.of(file).equals(now)) {
        loaded = null; // changed during the load: load it again once it settles
      }
      log.warn("model watch: {}", e.getMessage());
    } catch (IllegalStateException e) {
      log.debug("model watch: {}", e.getMessage()); // the worker is closing
    }
  }

  /**
   * Stops checking; waits up to 10 s for a check (and a load) in progress, which is not interrupted:
   * an interrupted read of the file would count as a failed swap.
   */
  @Override
  public void close() {
    executor.shutdown(); // cancels the next check, lets a running one finish
    try {
      if (!executor.awaitTermination(10, TimeUnit.SECONDS)) {
        log.warn("model watch of {} did not stop within 10 s", file);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
