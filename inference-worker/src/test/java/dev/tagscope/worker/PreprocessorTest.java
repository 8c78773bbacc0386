package dev.tagscope.worker;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class PreprocessorTest {

  private static byte[] u8(int... v) {
    byte[] b = new byte[v.length];
    for (int i = 0; i < v.length; i++) {
      b[i] = (byte) v[i];
    }
    return b;
  }

  @Test
  void scaleThenMeanStdPerChannel() {
    // (255/255 - 0.5)/0.25 = 2 ; (0 - 0.5)/0.25 = -2 ; (51/255 - 0.2)/0.5 = 0 ; (204/255 - 0.2)/0.5 = 1.2
    Preprocessor p = new Preprocessor(new Preprocessing(1 / 255.0, List.of(0.5f, 0.2f), List.of(0.25f, 0.5f), 2, 1, 2));
    float[] out = p.apply(u8(255, 0, 51, 204), 2, 1, 2);
    assertArrayEquals(new float[] {2f, -2f, 0f, 1.2f}, out, 1e-6f);
  }

  @Test
  void fashionMnistNormalisationOfOnePixel() {
    Preprocessor p = new Preprocessor(new Preprocessing(0.00392156862745098, List.of(0.2860f), List.of(0.3530f), 1, 1, 1));
    // (128/255 - 0.286) / 0.353 = 0.61175...
    assertEquals((128 / 255.0 - 0.286) / 0.353, p.apply(u8(128), 1, 1, 1)[0], 1e-6);
  }

  @Test
  void bilinearUpsamplingWithHalfPixelCentres() {
    // [[0,10],[20,30]] -> 4x4; source coordinate of output i is (i+0.5)/2-0.5 = -0.25, 0.25, 0.75, 1.25 (clamped)
    Preprocessor p = new Preprocessor(new Preprocessing(1.0, List.of(0f), List.of(1f), 1, 4, 4));
    float[] out = p.apply(u8(0, 10, 20, 30), 1, 2, 2);
    assertArrayEquals(new float[] {
        0f, 2.5f, 7.5f, 10f,
        5f, 7.5f, 12.5f, 15f,
        15f, 17.5f, 22.5f, 25f,
        20f, 22.5f, 27.5f, 30f}, out, 1e-5f);
  }

  @Test
  void bilinearDownsampling() {
    // 3x3 ramp 0..8 -> 2x2: source coordinates (i+0.5)*1.5-0.5 = 0.25, 1.75
    // (0.25,0.25): 0.25 + 3*0.25 = 1.0 ; (0.25,1.75): 1.75 + 0.75 = 2.5 ; (1.75,0.25): 0.25 + 5.25 = 5.5 ; (1.75,1.75): 7.0
    Preprocessor p = new Preprocessor(new Preprocessing(1.0, List.of(0f), List.of(1f), 1, 2, 2));
    assertArrayEquals(new float[] {1f, 2.5f, 5.5f, 7f}, p.apply(u8(0, 1, 2, 3, 4, 5, 6, 7, 8), 1, 3, 3), 1e-5f);
  }

  @Test
  void grayIsReplicatedToRgbWithPerChannelNormalisation() {
    // ImageNet-style: 3 channels, mean/std per channel; gray pixel 255 -> 1.0 in every channel
    Preprocessor p = new Preprocessor(new Preprocessing(1 / 255.0, List.of(0.485f, 0.456f, 0.406f),
        List.of(0.229f, 0.224f, 0.225f), 3, 1, 2));
    float[] out = p.apply(u8(255, 0), 1, 1, 2);
    assertArrayEquals(new float[] {
        (1 - 0.485f) / 0.229f, (0 - 0.485f) / 0.229f,
        (1 - 0.456f) / 0.224f, (0 - 0.456f) / 0.224f,
        (1 - 0.406f) / 0.225f, (0 - 0.406f) / 0.225f}, out, 1e-5f);
  }

  @Test
  void grayToRgbAndResizeTogether() {
    Preprocessor p = new Preprocessor(new Preprocessing(1.0, List.of(0f), List.of(1f), 3, 4, 4));
    float[] out = p.apply(u8(0, 10, 20, 30), 1, 2, 2);
    float[] plane = {0f, 2.5f, 7.5f, 10f, 5f, 7.5f, 12.5f, 15f, 15f, 17.5f, 22.5f, 25f, 20f, 22.5f, 27.5f, 30f};
    for (int c = 0; c < 3; c++) {
      float[] got = new float[16];
      System.arraycopy(out, c * 16, got, 0, 16);
      assertArrayEquals(plane, got, 1e-5f, "channel " + c);
    }
  }

  @Test
  void rgbBecomesGrayByBt601Luminance() {
    // pixel 0: R=255,G=0,B=0 -> 0.299*255 ; pixel 1: R=0,G=100,B=200 -> 0.587*100 + 0.114*200 = 81.5
    Preprocessor p = new Preprocessor(new Preprocessing(1.0, List.of(0f), List.of(1f), 1, 1, 2));
    float[] out = p.apply(u8(255, 0, /* G */ 0, 100, /* B */ 0, 200), 3, 1, 2);
    assertArrayEquals(new float[] {76.245f, 81.5f}, out, 1e-4f);
  }

  @Test
  void writesAtAnOffsetOfABatchBuffer() {
    Preprocessor p = new Preprocessor(new Preprocessing(1.0, List.of(1f), List.of(2f), 1, 1, 2));
    float[] batch = new float[6];
    p.apply(u8(3, 5), 1, 1, 2, batch, 2);
    assertArrayEquals(new float[] {0f, 0f, 1f, 2f, 0f, 0f}, batch);
  }

  @Test
  void refusesUnadaptableChannelsShortPixelsAndBadSettings() {
    Preprocessor rgb = new Preprocessor(new Preprocessing(1.0, List.of(0f), List.of(1f), 3, 2, 2));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> rgb.apply(new byte[8], 2, 2, 2));
    assertTrue(e.getMessage().contains("2-channel"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> rgb.apply(new byte[3], 1, 2, 2));
    IllegalArgumentException m = assertThrows(IllegalArgumentException.class,
        () -> new Preprocessing(1.0, List.of(0f, 0f), List.of(1f), 3, 2, 2));
    assertTrue(m.getMessage().contains("preprocessing.mean"), m.getMessage());
    IllegalArgumentException s = assertThrows(IllegalArgumentException.class,
        () -> new Preprocessing(1.0, List.of(0f), List.of(0f), 1, 2, 2));
    assertTrue(s.getMessage().contains("preprocessing.std"), s.getMessage());
  }
}
