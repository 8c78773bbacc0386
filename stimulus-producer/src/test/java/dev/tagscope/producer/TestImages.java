package dev.tagscope.producer;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPOutputStream;

/** Writes small IDX files for tests. */
final class TestImages {
  private TestImages() {}

  /** IDX3 bytes of n images of h x w where pixel (k, y, x) = (k*31 + y*7 + x*3) mod 256. */
  static byte[] idxImages(int n, int h, int w) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    writeInt(out, 0x00000803);
    writeInt(out, n);
    writeInt(out, h);
    writeInt(out, w);
    for (int k = 0; k < n; k++) {
      for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
          out.write(pixel(k, y, x));
        }
      }
    }
    return out.toByteArray();
  }

  static int pixel(int k, int y, int x) {
    return (k * 31 + y * 7 + x * 3) % 256;
  }

  /** IDX1 bytes of n labels, label k = (k * 3) mod 10. */
  static byte[] idxLabels(int n) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    writeInt(out, 0x00000801);
    writeInt(out, n);
    for (int k = 0; k < n; k++) {
      out.write((k * 3) % 10);
    }
    return out.toByteArray();
  }

  static Path write(Path file, byte[] data, boolean gzip) throws IOException {
    try (OutputStream os = gzip ? new GZIPOutputStream(Files.newOutputStream(file)) : Files.newOutputStream(file)) {
      os.write(data);
    }
    return file;
  }

  private static void writeInt(ByteArrayOutputStream out, int v) {
    out.write(v >>> 24);
    out.write(v >>> 16);
    out.write(v >>> 8);
    out.write(v);
  }
}
