package dev.tagscope.spectral.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
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
}
