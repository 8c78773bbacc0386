package dev.tagscope.launcher;

import dev.tagscope.schemas.Topics;
import java.time.Duration;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * Waits until a probe's windows have come back on {@code tagscope.tag-responses}: the one wait the
 * demo and the pipeline benchmark share. It fails fast when a service fails (through
 * {@link ServiceRunner#check()}), when Ctrl-C asks to stop, or when no new window arrives for the
 * stall timeout.
 */
final class WindowWait {
  private WindowWait() {}

  /**
   * Polls the collector until {@code expected} windows arrived.
   *
   * @param collector reads the probe's tag responses
   * @param expected windows to wait for (images x windows per image x layers)
   * @param throughput sampled on every poll, for the per-stage frames/s
   * @param runner the services, checked on every poll
   * @param stall longest time without a new window
   * @param progressBar whether to draw a progress bar with per-stage frames/s on the console
   * @throws IllegalStateException when a service failed, the user stopped the command, or windows stalled
   */
  static void await(TagResponseCollector collector, long expected, StageThroughput throughput, ServiceRunner runner,
                    Duration stall, boolean progressBar) {
    ProgressBar bar = progressBar ? new ProgressBarBuilder().setTaskName("windows").setInitialMax(expected)
        .setStyle(ProgressBarStyle.ASCII).setUpdateIntervalMillis(250).continuousUpdate().build() : null;
    try {
      long lastProgress = System.nanoTime();
      long seen = 0;
      while (seen < expected) {
        long now = collector.poll(Duration.ofMillis(100));
        throughput.sample();
        if (bar != null) {
          bar.stepTo(now);
          bar.setExtraMessage(" " + throughput.line());
        }
        if (now > seen) {
          seen = now;
          lastProgress = System.nanoTime();
        }
        if (runner.stopRequested()) {
          throw new IllegalStateException("stopped (Ctrl-C) before the report: " + seen + " of " + expected
              + " windows had arrived; closing the services");
        }
        runner.check(); // a failed producer, worker or Streams application ends the wait at once
        if (System.nanoTime() - lastProgress > stall.toNanos()) {
          throw new IllegalStateException("no new window for " + stall.toSeconds() + " s: " + seen + " of " + expected
              + " arrived (" + throughput.line() + "); look for dead letters on " + Topics.DLQ.name());
        }
      }
    } finally {
      if (bar != null) {
        bar.close();
      }
    }
  }
}
