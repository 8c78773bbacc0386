package dev.tagscope.launcher;

import dev.tagscope.worker.WorkerSettings;
import java.time.Duration;
import picocli.CommandLine.Option;

/** {@code --model-watch}: hot swap of the worker's model when its file (or card) changes. */
public final class ModelWatchOptions {
  @Option(names = "--model-watch", paramLabel = "SECONDS", defaultValue = "0",
      description = "Check --model and its card <model>.json every SECONDS; when they changed and then stayed the same"
          + " for SECONDS, load the new model (same name and taps, else refused and the old one kept) and switch to it"
          + " between two transactions, so every record names one version. Replace the file atomically (write"
          + " beside it, then rename). 0 (default): not watched.")
  long seconds;

  /**
   * @param settings the worker's settings
   * @return them with the model watch set
   * @throws IllegalArgumentException when the value is negative, naming the option
   */
  WorkerSettings apply(WorkerSettings settings) {
    if (seconds < 0) {
      throw new IllegalArgumentException("--model-watch must be 0 (off) or a number of seconds, got " + seconds);
    }
    return settings.withModelWatch(Duration.ofSeconds(seconds));
  }
}
