package dev.tagscope.producer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tagscope.producer.internal.RequestSampler;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@link Sampling} values and the {@link RequestSampler} rules. */
class SamplingTest {

  @Test
  void everyKProbesTheFirstAndEveryKthOfEachPartition() {
    RequestSampler s = new RequestSampler(Sampling.every(3));
    List<Integer> p0 = new ArrayList<>();
    List<Integer> p1 = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      if (s.sample(0, -1)) {
        p0.add(i);
      }
      if (i < 4 && s.sample(1, 5)) {
        p1.add(i);
      }
    }
    assertEquals(List.of(0, 3, 6), p0);
    assertEquals(List.of(0, 3), p1);
    s.restart(0); // assigned again: counts from its next record
    assertTrue(s.sample(0, 0));
    assertFalse(s.sample(0, 0));
  }

  @Test
  void perMinuteProbesTheFirstRequestOfEachLaterSlotOfRecordTime() {
    RequestSampler s = new RequestSampler(Sampling.perMinute(30)); // slots of 2,000 ms
    long[] ts = {10_000, 10_500, 11_999, 12_000, 12_001, 13_999, 18_000, 17_000, 19_999, 20_000, -1, 30_000};
    List<Long> probed = new ArrayList<>();
    for (long t : ts) {
      if (s.sample(t == 17_000 ? 1 : 0, t)) {
        probed.add(t);
      }
    }
    // slot = floor(t / 2000): 5,5,5,6,6,6,9,8 (earlier than the last probed),9,10, none, 15
    assertEquals(List.of(10_000L, 12_000L, 18_000L, 20_000L, 30_000L), probed);
    assertEquals(2_000.0, Sampling.perMinute(30).slotMs());
    assertEquals(120_000.0, Sampling.parseRate("0.5/min").slotMs());
  }

  @Test
  void ratesParseAsNPerMinute() {
    assertEquals(Sampling.perMinute(30), Sampling.parseRate("30/min"));
    assertEquals(Sampling.perMinute(2.5), Sampling.parseRate(" 2.5 / MIN "));
    for (String bad : new String[] {"30", "30/s", "-1/min", "0/min", "/min", "1e3/min", "abc"}) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Sampling.parseRate(bad), bad);
      assertTrue(e.getMessage().startsWith("sample rate: "), e.getMessage());
    }
    assertTrue(assertThrows(IllegalArgumentException.class, () -> Sampling.parseRate(null)).getMessage().contains("N/min"));
  }

  @Test
  void exactlyOneValidRule() {
    assertTrue(assertThrows(IllegalArgumentException.class, () -> Sampling.every(0)).getMessage().startsWith("sample every: "));
    assertTrue(assertThrows(IllegalArgumentException.class, () -> Sampling.every(-2)).getMessage().contains(">= 1"));
    assertTrue(assertThrows(IllegalArgumentException.class, () -> Sampling.perMinute(Double.NaN)).getMessage().contains("finite"));
    assertTrue(assertThrows(IllegalArgumentException.class, () -> new Sampling(2, 3)).getMessage().contains("exactly one"));
    assertTrue(assertThrows(IllegalArgumentException.class, () -> new Sampling(0, 0)).getMessage().contains("exactly one"));
    assertThrows(IllegalStateException.class, () -> Sampling.every(2).slotMs());
  }

  @Test
  void liveTrafficRefusesTagscopeTopicsAndBadNamesAndDerivesIds() {
    LiveTraffic t = LiveTraffic.of("inference.requests", Sampling.every(1)).withInstanceId("pod-7");
    assertEquals("tagscope-live.inference.requests", t.groupId());
    assertEquals("tagscope-producer.live-pod-7", t.transactionalId());
    assertEquals("inference.requests-2@17", t.imageId(2, 17));
    assertEquals("g", t.withGroupId("g").groupId());
    assertTrue(assertThrows(IllegalArgumentException.class, () -> LiveTraffic.of("tagscope.stimuli", Sampling.every(1)))
        .getMessage().contains("one of Tagscope's own topics"));
    assertTrue(assertThrows(IllegalArgumentException.class, () -> LiveTraffic.of("bad topic", Sampling.every(1)))
        .getMessage().startsWith("requestsTopic: "));
    assertTrue(assertThrows(IllegalArgumentException.class, () -> LiveTraffic.of("t", null)).getMessage().startsWith("sampling: "));
    assertTrue(assertThrows(IllegalArgumentException.class, () -> t.withInstanceId(" ")).getMessage().startsWith("instanceId: "));
  }
}
