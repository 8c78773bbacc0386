package dev.tagscope.spectral;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;

/**
 * Settings of the spectral-stream topology.
 *
 * @param registry where the topology's meters go: counters {@code tagscope.spectral.frames},
 *     {@code tagscope.spectral.windows}, {@code tagscope.spectral.skipped.windows},
 *     {@code tagscope.spectral.late.frames{outcome=buffered|duplicate|expired}},
 *     {@code tagscope.spectral.plan.loads}, {@code tagscope.dlq.records{stage=spectral-stream}},
 *     {@code tagscope.spectral.alerts{state=raised|cleared}},
 *     and the gauge {@code tagscope.spectral.plans.cached{task}}
 * @param maxCachedPlans decoded probe plans (spec plus its FFT analyzer, some tens of KiB each)
 *     kept per stream task, least recently used dropped first; a dropped plan is decoded again
 *     from the probe store when its probe's activations come back. Default
 *     {@value #DEFAULT_MAX_CACHED_PLANS}
 * @param history the importance history and rank-stability alerts (bucket length, reference,
 *     threshold); the counter {@code tagscope.spectral.alerts{state=raised|cleared}} goes to
 *     {@code registry}. Default {@link HistorySettings#defaults()}
 * @param topExamples k of the top examples ({@code Topics.TOP_EXAMPLES}): most images kept per
 *     filter, {@value #MIN_TOP_EXAMPLES}..{@value #MAX_TOP_EXAMPLES}, default {@value #DEFAULT_TOP_EXAMPLES}
 */
public record SpectralSettings(MeterRegistry registry, int maxCachedPlans, HistorySettings history, int topExamples) {
  /** Stage name written into dead letters and meter tags. */
  public static final String STAGE = "spectral-stream";
  /**
   * Default of {@link #maxCachedPlans()}: far more probes than one task analyses at once (a probe's
   * activations of one layer share a partition), small enough that a campaign of thousands of
   * probes keeps a few MiB of plans per task.
   */
  public static final int DEFAULT_MAX_CACHED_PLANS = 64;
  /** Default of {@link #topExamples()}: the images a dashboard tile can show per filter. */
  public static final int DEFAULT_TOP_EXAMPLES = 8;
  /** Least {@link #topExamples()}. */
  public static final int MIN_TOP_EXAMPLES = 1;
  /**
   * Most {@link #topExamples()}: 64 examples of each of 64 filters with ids of 40 characters are a
   * TopExamples record of about 0.4 MB, under the 8 MiB of {@code TopicSpec.MAX_MESSAGE_BYTES}; a set of
   * a wider layer that would not fit keeps fewer examples per filter ({@code TopExamplesProcessor}).
   */
  public static final int MAX_TOP_EXAMPLES = 64;

  /**
   * @throws IllegalArgumentException when {@code registry} or {@code history} is null, {@code maxCachedPlans < 1}
   *     or {@code topExamples} is outside {@value #MIN_TOP_EXAMPLES}..{@value #MAX_TOP_EXAMPLES}
   */
  public SpectralSettings {
    if (registry == null) {
      throw new IllegalArgumentException("registry: required; pass the application's MeterRegistry (or new SimpleMeterRegistry())");
    }
    if (maxCachedPlans < 1) {
      throw new IllegalArgumentException("maxCachedPlans: must be >= 1 plan per task (default " + DEFAULT_MAX_CACHED_PLANS
          + "), got " + maxCachedPlans);
    }
    if (history == null) {
      throw new IllegalArgumentException("history: required; pass HistorySettings.defaults() or adjusted settings");
    }
    if (topExamples < MIN_TOP_EXAMPLES || topExamples > MAX_TOP_EXAMPLES) {
      throw new IllegalArgumentException("topExamples: keep " + MIN_TOP_EXAMPLES + ".." + MAX_TOP_EXAMPLES
          + " images per filter (default " + DEFAULT_TOP_EXAMPLES + "), got " + topExamples);
    }
  }

  /**
   * Settings with the default history settings.
   *
   * @param registry the caller's meter registry
   * @param maxCachedPlans decoded probe plans kept per stream task (>= 1)
   * @throws IllegalArgumentException when {@code registry} is null or {@code maxCachedPlans < 1}
   */
  public SpectralSettings(MeterRegistry registry, int maxCachedPlans) {
    this(registry, maxCachedPlans, HistorySettings.defaults(), DEFAULT_TOP_EXAMPLES);
  }

  /**
   * Settings with the default plan cache size.
   *
   * @param registry the caller's meter registry
   * @throws IllegalArgumentException when {@code registry} is null
   */
  public SpectralSettings(MeterRegistry registry) {
    this(registry, DEFAULT_MAX_CACHED_PLANS);
  }

  /**
   * @param registry the caller's meter registry
   * @return settings with that registry and the default plan cache size
   * @throws IllegalArgumentException when {@code registry} is null
   */
  public static SpectralSettings of(MeterRegistry registry) {
    return new SpectralSettings(registry);
  }

  /** @return settings with a private {@link SimpleMeterRegistry} (tests, tools) */
  public static SpectralSettings defaults() {
    return new SpectralSettings(new SimpleMeterRegistry());
  }

  /**
   * @param max decoded probe plans kept per stream task (>= 1)
   * @return a copy with that plan cache size
   * @throws IllegalArgumentException when {@code max < 1}
   */
  public SpectralSettings withMaxCachedPlans(int max) {
    return new SpectralSettings(registry, max, history, topExamples);
  }

  /**
   * @param settings the importance history and alert settings
   * @return a copy with those
   * @throws IllegalArgumentException when {@code settings} is null
   */
  public SpectralSettings withHistory(HistorySettings settings) {
    return new SpectralSettings(registry, maxCachedPlans, settings, topExamples);
  }

  /**
   * @param k most images kept per filter in the top examples
   * @return a copy with that k
   * @throws IllegalArgumentException when {@code k} is outside {@value #MIN_TOP_EXAMPLES}..{@value #MAX_TOP_EXAMPLES}
   */
  public SpectralSettings withTopExamples(int k) {
    return new SpectralSettings(registry, maxCachedPlans, history, k);
  }
}
