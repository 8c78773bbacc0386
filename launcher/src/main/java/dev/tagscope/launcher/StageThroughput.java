package dev.tagscope.launcher;

import dev.tagscope.producer.StimulusPublisher;
import dev.tagscope.spectral.SpectralService;
import dev.tagscope.worker.InferenceWorker;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Frames per second of each pipeline stage, read from the stages' own Micrometer counters
 * ({@code tagscope.producer.frames}, {@code tagscope.worker.frames}, {@code tagscope.spectral.frames}).
 *
 * <p>A stage's rate is its count divided by its active time, so a stage is not charged for the
 * time it waited for the one before it. The active time runs from the last sample at which the
 * stage had not yet moved to the sample at which it last moved: it can only be longer than the
 * true active time, by at most one sampling period, so the rate errs low, never high, and a stage
 * that did all its work between two samples still gets a rate. Call {@link #sample()}
 * periodically (every ~250 ms).
 */
final class StageThroughput {
  /** One stage: a display name, the counter to watch, and how many counter steps make one frame. */
  record Stage(String name, String counter, double perFrame) {}

  private final List<MeterRegistry> registries;
  private final List<Stage> stages;
  private final Map<String, long[]> firstLast = new LinkedHashMap<>(); // stage -> {activeFromNanos, lastMoveNanos}
  private final Map<String, Double> lastCount = new LinkedHashMap<>();
  private long lastSampleNanos;

  /**
   * The pipeline's three stages: frames sent by the producer, frames inferred by the worker, and
   * activation records consumed by the Streams application (one per tapped layer per frame).
   *
   * @param taps tapped layers, the Streams application's records per frame
   * @return the stages, in data-flow order
   */
  static List<Stage> pipelineStages(int taps) {
    return List.of(new Stage("producer", StimulusPublisher.FRAMES_METER, 1), new Stage("worker", InferenceWorker.FRAMES_METER, 1),
        new Stage("spectral", SpectralService.FRAMES_METER, taps));
  }

  /**
   * A counter's total now, summed over its tags (the producer's counter is tagged by model).
   *
   * @param registry where the counters are
   * @param counter the counter's name
   * @return the sum, 0 while none is registered
   */
  static double total(MeterRegistry registry, String counter) {
    return registry.find(counter).counters().stream().mapToDouble(Counter::count).sum();
  }

  StageThroughput(MeterRegistry registry, List<Stage> stages) {
    this(List.of(registry), stages);
  }

  /**
   * A stage's count summed over several registries: the instances of one stage, each with its own
   * registry (the scale-out run's two workers, say).
   *
   * @param registries where the counters are
   * @param stages the stages
   */
  StageThroughput(List<MeterRegistry> registries, List<Stage> stages) {
    this.registries = List.copyOf(registries);
    this.stages = List.copyOf(stages);
    this.lastSampleNanos = System.nanoTime();
  }

  /** Records the current counts; call from one thread. */
  synchronized void sample() {
    sample(System.nanoTime());
  }

  /** @param now the sample's time, {@link System#nanoTime()} scale (tests pass their own clock) */
  synchronized void sample(long now) {
    for (Stage s : stages) {
      double c = count(s);
      double before = lastCount.getOrDefault(s.name(), 0.0);
      if (c > before) {
        long idleUntil = lastSampleNanos;
        long[] fl = firstLast.computeIfAbsent(s.name(), k -> new long[] {idleUntil, now});
        fl[1] = now;
        lastCount.put(s.name(), c);
      }
    }
    lastSampleNanos = now;
  }

  /** @return frames processed by the stage so far */
  synchronized double frames(Stage s) {
    return count(s) / s.perFrame();
  }

  /**
   * @return frames per second over the stage's active time; NaN before it has moved
   */
  synchronized double framesPerSecond(Stage s) {
    long[] fl = firstLast.get(s.name());
    if (fl == null || fl[1] <= fl[0]) {
      return Double.NaN;
    }
    return frames(s) / ((fl[1] - fl[0]) / 1e9);
  }

  List<Stage> stages() {
    return stages;
  }

  /** @return e.g. {@code "producer 1,820 f/s | worker 410 f/s | spectral 405 f/s"} */
  synchronized String line() {
    List<String> parts = new ArrayList<>();
    for (Stage s : stages) {
      double fps = framesPerSecond(s);
      parts.add(s.name() + " " + (Double.isNaN(fps) ? "-" : String.format(java.util.Locale.ROOT, "%,.0f", fps)) + " f/s");
    }
    return String.join(" | ", parts);
  }

  private double count(Stage s) {
    return registries.stream().mapToDouble(r -> total(r, s.counter())).sum();
  }
}
