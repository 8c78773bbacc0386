package dev.tagscope.worker.djl.visual;

/** The two image operations the regularisers need, on {@code [C,H,W]} float images inside flat arrays. */
final class ImageOps {
  private ImageOps() {}

  /**
   * Circular shift: {@code dst[c][y][x] = src[c][(y - dy) mod H][(x - dx) mod W]}, so content moves by
   * {@code (dy, dx)}; a shift by {@code (-dy, -dx)} undoes it.
   */
  static void roll(float[] src, int srcOff, float[] dst, int dstOff, int c, int h, int w, int dy, int dx) {
    for (int ch = 0; ch < c; ch++) {
      int base = ch * h * w;
      for (int y = 0; y < h; y++) {
        int sy = Math.floorMod(y - dy, h);
        for (int x = 0; x < w; x++) {
          dst[dstOff + base + y * w + x] = src[srcOff + base + sy * w + Math.floorMod(x - dx, w)];
        }
      }
    }
  }

  /**
   * Separable Gaussian blur in place, kernel radius {@code ceil(3 sigma)}, normalised to sum 1,
   * edges replicated (so a constant image stays constant).
   */
  static void gaussianBlur(float[] img, int off, int c, int h, int w, double sigma) {
    int r = (int) Math.ceil(3 * sigma);
    double[] k = new double[2 * r + 1];
    double sum = 0;
    for (int i = -r; i <= r; i++) {
      k[i + r] = Math.exp(-0.5 * i * i / (sigma * sigma));
      sum += k[i + r];
    }
    for (int i = 0; i < k.length; i++) {
      k[i] /= sum;
    }
    float[] tmp = new float[h * w];
    for (int ch = 0; ch < c; ch++) {
      int base = off + ch * h * w;
      for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
          double s = 0;
          for (int i = -r; i <= r; i++) {
            s += k[i + r] * img[base + y * w + Math.min(w - 1, Math.max(0, x + i))];
          }
          tmp[y * w + x] = (float) s;
        }
      }
      for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
          double s = 0;
          for (int i = -r; i <= r; i++) {
            s += k[i + r] * tmp[Math.min(h - 1, Math.max(0, y + i)) * w + x];
          }
          img[base + y * w + x] = (float) s;
        }
      }
    }
  }
}
