package dev.tagscope.launcher;

import dev.tagscope.spectral.SpectralSettings;
import picocli.CommandLine.Option;

/** {@code --top-examples K}: images kept per filter on {@code tagscope.top-examples} ({@link SpectralSettings#topExamples()}). */
public final class TopExamplesOptions {
  @Option(names = "--top-examples", paramLabel = "K", defaultValue = "" + SpectralSettings.DEFAULT_TOP_EXAMPLES,
      description = "Top examples kept per filter, the probed images of highest mean activation ("
          + SpectralSettings.MIN_TOP_EXAMPLES + ".." + SpectralSettings.MAX_TOP_EXAMPLES + ", default ${DEFAULT-VALUE}).")
  int k;

  /**
   * @param settings the Streams application's settings
   * @return them with this k
   * @throws IllegalArgumentException naming {@code --top-examples} and its range when k is outside it
   */
  SpectralSettings apply(SpectralSettings settings) {
    try {
      return settings.withTopExamples(k);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("--top-examples" + e.getMessage().substring(e.getMessage().indexOf(':')), e);
    }
  }
}
