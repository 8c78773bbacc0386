package dev.tagscope.worker;

import java.util.Objects;

/**
 * Applies {@link Preprocessing} to {@code uint8 [C,H,W]} pixels, writing float32
 * {@code [channels,height,width]} into a batch buffer. Stateless apart from its settings;
 * thread-safe.
 *
 * <pre>{@code
 * Preprocessor p = new Preprocessor(model.preprocessing());
 * float[] batch = new float[n * p.inputLength()];
 * p.apply(pixels, 1, 28, 28, batch, i * p.inputLength());
 * }</pre>
 */
public final class Preprocessor {
  /** ITU-R BT.601 luma weights for R, G, B. */
  static final float LUMA_R = 0.299f;
  static final float LUMA_G = 0.587f;
  static final float LUMA_B = 0.114f;

  private final Preprocessing settings;
  private final float scale;

  /**
   * @param settings validated preprocessing settings
   */
  public Preprocessor(Preprocessing settings) {
    this.settings = Objects.requireNonNull(settings, "settings");
    this.scale = (float) settings.scale();
  }

  /**
   * The settings applied.
   *
   * @return the preprocessing settings
   */
  public Preprocessing settings() {
    return settings;
  }

  /**
   * Floats written per sample.
   *
   * @return {@code channels * height * width} of the model input
   */
  public int inputLength() {
    return settings.inputLength();
  }

  /**
   * Whether frames of {@code channels} channels can be adapted to the model's channel count.
   *
   * @param channels source channels
   * @return true for equal counts, 1 (replicated), or 3 when the model takes 1 (luminance)
   */
  public boolean canAdapt(int channels) {
    int m = settings.channels();
    return channels == m || channels == 1 || (channels == 3 && m == 1);
  }

  /**
   * Preprocesses one frame into a new array.
   *
   * @param pixels uint8 {@code [C,H,W]} row-major, length at least {@code c*h*w}
   * @param c source channels
   * @param h source height, pixels
   * @param w source width, pixels
   * @return float32 {@code [channels,height,width]} of the model input
   * @throws IllegalArgumentException see {@link #apply(byte[], int, int, int, float[], int)}
   */
  public float[] apply(byte[] pixels, int c, int h, int w) {
    float[] out = new float[inputLength()];
    apply(pixels, c, h, w, out, 0);
    return out;
  }

  /**
   * Preprocesses one frame into {@code out} at {@code outOffset}.
   *
   * @param pixels uint8 {@code [C,H,W]} row-major (values 0..255 stored as Java bytes)
   * @param c source channels
   * @param h source height, pixels
   * @param w source width, pixels
   * @param out destination batch buffer
   * @param outOffset where the {@code [channels,height,width]} sample starts in {@code out}
   * @throws IllegalArgumentException when a size is not positive, {@code pixels} is shorter
   *     than {@code c*h*w}, {@code out} has no room, or {@code c} channels cannot be adapted
   *     to the model's (see {@link #canAdapt(int)})
   */
  public void apply(byte[] pixels, int c, int h, int w, float[] out, int outOffset) {
    if (c <= 0 || h <= 0 || w <= 0) {
      throw new IllegalArgumentException("frame size [" + c + "," + h + "," + w + "] must be positive");
    }
    long need = (long) c * h * w;
    if (pixels.length < need) {
      throw new IllegalArgumentException("frame of " + pixels.length + " pixel bytes is shorter than C*H*W = "
          + c + "*" + h + "*" + w + " = " + need);
    }
    if (!canAdapt(c)) {
      throw new IllegalArgumentException("cannot adapt " + c + "-channel frames to the model's " + settings.channels()
          + " channels: only equal counts, gray to RGB (replicate) and RGB to gray (ITU-R BT.601 luminance) are supported");
    }
    int mc = settings.channels();
    int mh = settings.height();
    int mw = settings.width();
    int plane = mh * mw;
    if (outOffset < 0 || (long) outOffset + (long) mc * plane > out.length) {
      throw new IllegalArgumentException("output buffer of " + out.length + " floats has no room for a sample of "
          + mc * plane + " at offset " + outOffset);
    }
    int srcPlane = h * w;
    boolean resize = h != mh || w != mw;
    float[] src = new float[srcPlane];
    float[] resized = resize ? new float[plane] : null;
    for (int oc = 0; oc < mc; oc++) {
      if (c == mc) {
        scalePlane(pixels, oc * srcPlane, srcPlane, src);
      } else if (c == 1) {
        if (oc == 0) {
          scalePlane(pixels, 0, srcPlane, src);
        } // else: src still holds the single channel
      } else { // c == 3, mc == 1
        for (int i = 0; i < srcPlane; i++) {
          float r = pixels[i] & 0xFF;
          float g = pixels[srcPlane + i] & 0xFF;
          float b = pixels[2 * srcPlane + i] & 0xFF;
          src[i] = (LUMA_R * r + LUMA_G * g + LUMA_B * b) * scale;
        }
      }
      float[] values = src;
      if (resize) {
        resizeBilinear(src, h, w, resized, mh, mw);
        values = resized;
      }
      float mean = settings.meanOf(oc);
      float std = settings.stdOf(oc);
      int o = outOffset + oc * plane;
      for (int i = 0; i < plane; i++) {
        out[o + i] = (values[i] - mean) / std;
      }
    }
  }

  private void scalePlane(byte[] pixels, int offset, int length, float[] dst) {
    for (int i = 0; i < length; i++) {
      dst[i] = (pixels[offset + i] & 0xFF) * scale;
    }
  }

  /**
   * Bilinear resize of one plane with half-pixel centres: output pixel {@code (y,x)} samples the
   * source at {@code ((y+0.5)*h/oh - 0.5, (x+0.5)*w/ow - 0.5)}, clamped to the source edges (as
   * PyTorch {@code F.interpolate(mode="bilinear", align_corners=False)}, antialias off).
   *
   * @param src source plane {@code [h,w]}
   * @param h source height
   * @param w source width
   * @param dst destination plane {@code [oh,ow]}
   * @param oh output height
   * @param ow output width
   */
  public static void resizeBilinear(float[] src, int h, int w, float[] dst, int oh, int ow) {
    double sy = (double) h / oh;
    double sx = (double) w / ow;
    int[] x0 = new int[ow];
    int[] x1 = new int[ow];
    float[] fx = new float[ow];
    for (int x = 0; x < ow; x++) {
      double s = Math.max(0, (x + 0.5) * sx - 0.5);
      int i0 = Math.min((int) s, w - 1);
      x0[x] = i0;
      x1[x] = Math.min(i0 + 1, w - 1);
      fx[x] = (float) (s - i0);
    }
    for (int y = 0; y < oh; y++) {
      double s = Math.max(0, (y + 0.5) * sy - 0.5);
      int y0 = Math.min((int) s, h - 1);
      int y1 = Math.min(y0 + 1, h - 1);
      float fy = (float) (s - y0);
      int r0 = y0 * w;
      int r1 = y1 * w;
      int o = y * ow;
      for (int x = 0; x < ow; x++) {
        float top = src[r0 + x0[x]] + (src[r0 + x1[x]] - src[r0 + x0[x]]) * fx[x];
        float bottom = src[r1 + x0[x]] + (src[r1 + x1[x]] - src[r1 + x0[x]]) * fx[x];
        dst[o + x] = top + (bottom - top) * fy;
      }
    }
  }
}
