package dev.tagscope.spectral;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;

/**
 * Settings of the spectral-stream topology.
 *
 * @param registry where the topology's counters go ({@code tagscope.spectral.frames},
 *     {@code tagscope.spectral.windows}, {@code tagscope.spectral.skipped.windows},
 *     {@code tagscope.dlq.records{stage=spectral-stream}})
 */
public record SpectralSettings(MeterRegistry registry) {
  /** Stage name written into dead letters and meter tags. */
  public static final String STAGE = "spectral-stream";

  /**
   * @throws IllegalArgumentException when {@code registry} is null
   */
  public SpectralSettings {
    if (registry == null) {
      throw new IllegalArgumentException("registry: required; pass the application's MeterRegistry (or new SimpleMeterRegistry())");
    }
  }

  /**
   * @param registry the caller's meter registry
   * @return settings with that registry
   */
  public static SpectralSettings of(MeterRegistry registry) {
    return new SpectralSettings(registry);
  }

  /** @return settings with a private {@link SimpleMeterRegistry} (tests, tools) */
  public static SpectralSettings defaults() {
    return new SpectralSettings(new SimpleMeterRegistry());
  }
}
