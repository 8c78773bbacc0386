package dev.tagscope.producer;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import javax.imageio.ImageIO;

/** Inference requests for tests: PNG and JPEG bytes of known pictures, and their independent decoding. */
final class TestRequests {
  private TestRequests() {}

  /** Gray value at (y, x) of gray picture {@code k}: {@code (40 + 29k + 7y + 3x) mod 256}. */
  static int gray(int k, int y, int x) {
    return (40 + 29 * k + 7 * y + 3 * x) % 256;
  }

  /** RGB value at (y, x) of colour picture {@code k}: red {@code 10k + 9x}, green {@code 200 - 5y}, blue {@code 3x + 4y}. */
  static int rgb(int k, int y, int x) {
    int r = (10 * k + 9 * x) & 0xff;
    int g = (200 - 5 * y) & 0xff;
    int b = (3 * x + 4 * y) & 0xff;
    return (r << 16) | (g << 8) | b;
  }

  /** An 8-bit gray picture of h x w with values {@link #gray}. */
  static BufferedImage grayPicture(int k, int h, int w) {
    BufferedImage bi = new BufferedImage(w, h, BufferedImage.TYPE_BYTE_GRAY);
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        bi.getRaster().setSample(x, y, 0, gray(k, y, x));
      }
    }
    return bi;
  }

  /** An RGB picture of h x w with values {@link #rgb}. */
  static BufferedImage rgbPicture(int k, int h, int w) {
    BufferedImage bi = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        bi.setRGB(x, y, rgb(k, y, x));
      }
    }
    return bi;
  }

  /** The picture encoded as {@code format} ("png" or "jpeg"). */
  static byte[] encode(BufferedImage bi, String format) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try {
      if (!ImageIO.write(bi, format, out)) {
        throw new IllegalStateException("no " + format + " writer");
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toByteArray();
  }

  /** The gray picture k as [1,h,w] bytes, computed from {@link #gray}. */
  static byte[] grayPixels(int k, int h, int w) {
    byte[] px = new byte[h * w];
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        px[y * w + x] = (byte) gray(k, y, x);
      }
    }
    return px;
  }

  /** Encoded bytes decoded with {@code ImageIO.read} and read back pixel by pixel with getRGB, as [3,H,W] planes. */
  static byte[] decodedRgbPlanes(byte[] encoded) {
    BufferedImage bi;
    try {
      bi = ImageIO.read(new ByteArrayInputStream(encoded));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    int h = bi.getHeight();
    int w = bi.getWidth();
    byte[] px = new byte[3 * h * w];
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        int v = bi.getRGB(x, y);
        px[y * w + x] = (byte) (v >> 16);
        px[h * w + y * w + x] = (byte) (v >> 8);
        px[2 * h * w + y * w + x] = (byte) v;
      }
    }
    return px;
  }
}
