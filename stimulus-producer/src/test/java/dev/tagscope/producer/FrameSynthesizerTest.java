package dev.tagscope.producer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.tagscope.schemas.StimulusFrame;
import dev.tagscope.tagging.ProbePlan;
import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;

class FrameSynthesizerTest {

  /** An RGB image 5 x 7 with distinct values in each channel, including 0 and 255. */
  private static Image rgb(int h, int w) {
    byte[] px = new byte[3 * h * w];
    for (int i = 0; i < px.length; i++) {
      px[i] = (byte) (i == 0 ? 255 : (i * 37 + 11) % 256);
    }
    return new Image("img", 4, 3, h, w, px);
  }

  private static double m(double c, double a, double f, double phi, long i, double fps) {
    return c + a * Math.sin(2 * Math.PI * f * i / fps + phi);
  }

  private static int expected(int p, double m) {
    return (int) Math.max(0, Math.min(255, Math.floor(p * m + 0.5)));
  }

  @Test
  void modulationAndPixelsFollowTheFormulaPerRegion() {
    Image img = rgb(5, 7);
    double[] phases = {0.3, -1.1};
    ProbePlan plan = ProbePlan.builder().model("m").imageShape(3, 5, 7).imageCount(1).phases(phases)
        .modulation(0.7, 0.3).framesPerImage(480).build();
    FrameSynthesizer syn = new FrameSynthesizer(plan);
    double[] f = {6.0, 7.5};
    for (long i : new long[] {0, 1, 2, 7, 13, 40, 239, 240, 241, 479, 1_000_003}) {
      StimulusFrame fr = syn.frame("p", img, "img", i, (int) (i % 480));
      assertEquals(i / 120.0, fr.getStimulusTimeSeconds(), 1e-12);
      assertEquals(2, fr.getModulation().size());
      double[] mm = new double[2];
      for (int r = 0; r < 2; r++) {
        mm[r] = m(0.7, 0.3, f[r], phases[r], i, 120.0);
        assertEquals(mm[r], syn.modulation(r, i), 1e-9, "region " + r + " frame " + i);
        assertEquals((float) mm[r], fr.getModulation().get(r), 1e-6f);
      }
      ByteBuffer buf = fr.getPixels().duplicate();
      byte[] px = new byte[buf.remaining()];
      buf.get(px);
      assertEquals(3 * 5 * 7, px.length);
      for (int c = 0; c < 3; c++) {
        for (int y = 0; y < 5; y++) {
          for (int x = 0; x < 7; x++) {
            int region = x < 3 ? 0 : 1; // odd width 7: left half = columns 0..2
            int want = expected(img.pixel(c, y, x), mm[region]);
            assertEquals(want, px[(c * 5 + y) * 7 + x] & 0xff, "c" + c + " y" + y + " x" + x + " frame " + i);
          }
        }
      }
    }
  }

  @Test
  void roundsHalfUpAtExactHalves() {
    // phase pi/2 at frame 0: m = c + a = 0.5 + 0.25 = 0.75 exactly; 2 * 0.75 = 1.5 -> 2, 6 * 0.75 = 4.5 -> 5
    ProbePlan plan = ProbePlan.builder().model("m").imageShape(1, 1, 2).imageCount(1).modulation(0.5, 0.25)
        .phases(Math.PI / 2, Math.PI / 2).build();
    byte[] out = new FrameSynthesizer(plan).render(new Image("x", null, 1, 1, 2, new byte[] {2, 6}), 0);
    assertArrayEquals(new byte[] {2, 5}, out);
  }

  @Test
  void pixelsOutsideEveryRegionAreUntouched() {
    // grid:1x2 on a 5-wide image: cells of 2 columns, column 4 belongs to no region
    Image img = rgb(3, 5);
    ProbePlan plan = ProbePlan.builder().model("m").layout("grid:1x2").imageShape(3, 3, 5).imageCount(1).build();
    FrameSynthesizer syn = new FrameSynthesizer(plan);
    int modulated = 0;
    for (long i = 0; i < 240; i++) {
      byte[] px = syn.render(img, i);
      for (int c = 0; c < 3; c++) {
        for (int y = 0; y < 3; y++) {
          assertEquals(img.pixel(c, y, 4), px[(c * 3 + y) * 5 + 4] & 0xff, "leftover column, frame " + i);
          if ((px[(c * 3 + y) * 5 + 1] & 0xff) != img.pixel(c, y, 1)) {
            modulated++;
          }
        }
      }
    }
    assertEquals(true, modulated > 0, "tagged pixels do change");
  }

  @Test
  void regionPixelsDependOnlyOnTheirOwnTag() {
    Image img = rgb(4, 6);
    FrameSynthesizer a = new FrameSynthesizer(ProbePlan.builder().model("m").imageShape(3, 4, 6).imageCount(1)
        .frequencies(6, 7.5).build());
    FrameSynthesizer b = new FrameSynthesizer(ProbePlan.builder().model("m").imageShape(3, 4, 6).imageCount(1)
        .frequencies(6, 9.5).phases(0, 1.0).build());
    int rightDiffers = 0;
    for (long i = 0; i < 240; i++) {
      byte[] pa = a.render(img, i).clone();
      byte[] pb = b.render(img, i);
      for (int c = 0; c < 3; c++) {
        for (int y = 0; y < 4; y++) {
          for (int x = 0; x < 6; x++) {
            int k = (c * 4 + y) * 6 + x;
            if (x < 3) {
              assertEquals(pa[k], pb[k], "left region must not depend on the right region's tag");
            } else if (pa[k] != pb[k]) {
              rightDiffers++;
            }
          }
        }
      }
    }
    assertEquals(true, rightDiffers > 0);
  }

  @Test
  void refusesImagesOfAnotherShape() {
    FrameSynthesizer syn = new FrameSynthesizer(ProbePlan.builder().model("m").imageShape(1, 2, 2).imageCount(1).build());
    assertThrows(IllegalArgumentException.class, () -> syn.render(new Image("x", null, 1, 2, 3, new byte[6]), 0));
  }
}
