package dev.tagscope.spectral.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class FrameKeysTest {
  @Test
  void layerStateRoundTrips() {
    FrameKeys.LayerState s = new FrameKeys.LayerState(64, "c3/fashion-mnist-test#17", 199, 12_345_678_901L, -42L);
    assertEquals(s, FrameKeys.LayerState.decode(s.encode()));
  }

  @Test
  void layerStateWrittenBeforeFrameIndexAndSpecWereKeptStillDecodes() {
    // the earlier encoding, as restored from a changelog: [filters][lastFrame][idLen][id]
    byte[] id = "img0".getBytes(StandardCharsets.UTF_8);
    byte[] old = ByteBuffer.allocate(12 + id.length).putInt(16).putInt(99).putInt(id.length).put(id).array();
    assertEquals(new FrameKeys.LayerState(16, "img0", 99, -1, FrameKeys.LayerState.UNKNOWN_SPEC), FrameKeys.LayerState.decode(old));
  }

  @Test
  void aRunRoundTripsAndAWindowTakesOnlyItsFrames() {
    FrameRun run = new FrameRun(2, 1);
    for (int f = 10; f < 13; f++) {
      run.add(f, List.of(f * 1f, -f * 1f), 0);
    }
    byte[] value = FrameKeys.encodeRun(run);
    assertEquals(3, FrameKeys.runLength(value, 2));
    double[][] series = new double[2][4]; // a window of frames 11..14
    assertEquals(2, FrameKeys.decodeInto(value, 10, 11, 14, series), "frames 11 and 12 fall in the window");
    assertArrayEquals(new double[] {11, 12, 0, 0}, series[0]);
    assertArrayEquals(new double[] {-11, -12, 0, 0}, series[1]);
  }

  @Test
  void aFrameStoredBeforeRunsExistedStillDecodes() {
    // the earlier encoding, as restored from a changelog: C big-endian floats, no count
    byte[] old = ByteBuffer.allocate(8).putFloat(1.5f).putFloat(-2f).array();
    assertEquals(1, FrameKeys.runLength(old, 2));
    double[][] series = new double[2][3];
    assertEquals(1, FrameKeys.decodeInto(old, 7, 6, 8, series));
    assertArrayEquals(new double[] {0, 1.5, 0}, series[0]);
    assertArrayEquals(new double[] {0, -2, 0}, series[1]);
  }

  @Test
  void anEntryOfNeitherEncodingIsRefused() {
    byte[] bad = ByteBuffer.allocate(16).putInt(5).array(); // says 5 frames of 2 filters, holds 12 bytes of floats
    assertThrows(IllegalStateException.class, () -> FrameKeys.runLength(bad, 2));
  }

  @Test
  void aRunRefusesAFrameThatDoesNotContinueIt() {
    FrameRun run = new FrameRun(1, 4);
    run.add(3, List.of(1f), 0);
    assertThrows(IllegalStateException.class, () -> run.add(5, List.of(2f), 0));
  }
}
