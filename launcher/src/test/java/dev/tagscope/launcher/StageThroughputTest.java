package dev.tagscope.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Rates from sampled counters, on a hand-moved clock. */
class StageThroughputTest {
  private static final long MS = 1_000_000L;

  @Test
  void aStageIsChargedFromItsLastIdleSampleToItsLastMoveAndNotForWaiting() {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    StageThroughput.Stage first = new StageThroughput.Stage("first", "first.frames", 1);
    StageThroughput.Stage second = new StageThroughput.Stage("second", "second.records", 16); // 16 records per frame
    Counter a = registry.counter("first.frames");
    Counter b = registry.counter("second.records");
    StageThroughput t = new StageThroughput(registry, List.of(first, second));
    long t0 = 1_000 * MS;
    t.sample(t0);
    assertTrue(Double.isNaN(t.framesPerSecond(first)), "no rate before a stage moves");

    a.increment(1000);                 // all of the first stage's work falls between two samples
    t.sample(t0 + 250 * MS);
    assertEquals(1000 / 0.250, t.framesPerSecond(first), 1e-9);

    b.increment(16 * 300);             // the second stage starts after waiting 250 ms
    t.sample(t0 + 500 * MS);
    b.increment(16 * 300);
    t.sample(t0 + 750 * MS);
    t.sample(t0 + 1_000 * MS);          // idle afterwards: not charged
    assertEquals(600, t.frames(second), 1e-9);
    assertEquals(600 / 0.500, t.framesPerSecond(second), 1e-9);
    assertEquals(1000 / 0.250, t.framesPerSecond(first), 1e-9, "a finished stage keeps its rate");
    assertTrue(t.line().contains("first 4,000 f/s") && t.line().contains("second 1,200 f/s"), t.line());
  }

  @Test
  void aStageOfSeveralInstancesCountsWhatEveryInstanceDid() {
    SimpleMeterRegistry one = new SimpleMeterRegistry();
    SimpleMeterRegistry two = new SimpleMeterRegistry();
    StageThroughput.Stage worker = new StageThroughput.Stage("worker", "worker.frames", 1);
    StageThroughput t = new StageThroughput(List.of(one, two), List.of(worker));
    long t0 = 1_000 * MS;
    t.sample(t0);
    one.counter("worker.frames").increment(300);
    two.counter("worker.frames").increment(500);
    t.sample(t0 + 400 * MS);
    assertEquals(800, t.frames(worker), 1e-9);
    assertEquals(800 / 0.400, t.framesPerSecond(worker), 1e-9);
  }
}
