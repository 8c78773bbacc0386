package dev.tagscope.producer;

import dev.tagscope.schemas.Region;
import dev.tagscope.schemas.StimulusFrame;
import dev.tagscope.tagging.ProbePlan;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * Renders the contrast-modulated frames of a probe (DESIGN.md section 1; Böge et al.,
 * arXiv:2411.10084, sec. 3).
 *
 * <p>Frame {@code i} (the probe's global frame index; stimulus time {@code i/fps} s) multiplies
 * every pixel of region r, in every colour channel, by
 * {@code m_r(i) = c + a*sin(2*pi*f_r*i/fps + phi_r)}, rounds half up ({@code floor(p*m + 0.5)})
 * and clamps to [0, 255]. Pixels outside every region are copied unchanged.
 *
 * <p>Because plan validation puts every {@code f_r} on an exact FFT bin ({@code f_r*W/fps} an
 * integer k), {@code m_r} is periodic in W frames and is evaluated at {@code i mod W}:
 * {@code 2*pi*f_r*(i mod W)/fps} differs from {@code 2*pi*f_r*i/fps} by a whole number of
 * turns, and the argument stays small, so continuous probes keep full precision after days.
 *
 * <p>Allocation-light: the region of each pixel is computed once; each frame builds a 256-entry
 * lookup table per region and writes into one reused {@code byte[]}. Not thread-safe: use one
 * instance per publishing thread.
 */
public final class FrameSynthesizer {
  private final double fps;
  private final int window;
  private final double center;
  private final double depth;
  private final double[] freqs;
  private final double[] phases;
  private final int channels;
  private final int height;
  private final int width;
  private final byte[] regionOf;
  private final byte[][] lut;
  private final double[] mod;
  private final byte[] out;

  /**
   * @param plan a validated plan; fixes the image shape {@code [C,H,W]} and the regions
   * @throws IllegalArgumentException when the plan has more than 127 regions (a grid finer than
   *     the per-pixel region map holds)
   */
  public FrameSynthesizer(ProbePlan plan) {
    this.fps = plan.fps();
    this.window = plan.windowFrames();
    this.center = plan.modulationCenter();
    this.depth = plan.modulationDepth();
    List<Region> regions = plan.regions();
    int n = regions.size();
    if (n > 127) {
      throw new IllegalArgumentException("layout: at most 127 regions are supported, got " + n + "; choose a coarser grid");
    }
    this.freqs = new double[n];
    this.phases = new double[n];
    this.channels = plan.imageChannels();
    this.height = plan.imageHeight();
    this.width = plan.imageWidth();
    this.regionOf = new byte[height * width];
    java.util.Arrays.fill(regionOf, (byte) -1);
    for (int r = 0; r < n; r++) {
      Region q = regions.get(r);
      freqs[r] = q.getFrequencyHz();
      phases[r] = q.getPhaseRad();
      for (int y = q.getY0(); y < q.getY1(); y++) {
        for (int x = q.getX0(); x < q.getX1(); x++) {
          regionOf[y * width + x] = (byte) r;
        }
      }
    }
    this.lut = new byte[n][256];
    this.mod = new double[n];
    this.out = new byte[channels * height * width];
  }

  /** @return number of regions */
  public int regionCount() {
    return freqs.length;
  }

  /**
   * The modulation factor of one region.
   *
   * @param region region index, plan order
   * @param frameIndex the probe's global frame index i (&gt;= 0)
   * @return {@code m_r(i) = c + a*sin(2*pi*f_r*i/fps + phi_r)}, in [c-a, c+a]
   */
  public double modulation(int region, long frameIndex) {
    long i = Math.floorMod(frameIndex, (long) window);
    return center + depth * Math.sin(2 * Math.PI * freqs[region] * i / fps + phases[region]);
  }

  /**
   * Renders frame {@code frameIndex} of an image into the internal buffer.
   *
   * @param image source image of the plan's shape
   * @param frameIndex the probe's global frame index i
   * @return the internal {@code [C,H,W]} uint8 buffer, overwritten by the next call
   * @throws IllegalArgumentException when the image's shape differs from the plan's
   */
  public byte[] render(Image image, long frameIndex) {
    if (image.channels() != channels || image.height() != height || image.width() != width) {
      throw new IllegalArgumentException("image " + image.id() + " has shape [" + image.channels() + "," + image.height() + ","
          + image.width() + "] but the plan is [" + channels + "," + height + "," + width + "]: load images with ImageLoader"
          + " and build the plan from their shape");
    }
    for (int r = 0; r < freqs.length; r++) {
      double m = modulation(r, frameIndex);
      mod[r] = m;
      byte[] t = lut[r];
      for (int p = 0; p < 256; p++) {
        long v = (long) Math.floor(p * m + 0.5);
        t[p] = (byte) (v < 0 ? 0 : v > 255 ? 255 : v);
      }
    }
    byte[] src = image.pixels();
    int plane = height * width;
    for (int c = 0; c < channels; c++) {
      int base = c * plane;
      for (int k = 0; k < plane; k++) {
        int r = regionOf[k];
        byte p = src[base + k];
        out[base + k] = r < 0 ? p : lut[r][p & 0xff];
      }
    }
    return out;
  }

  /**
   * Renders one frame as the record published on {@code Topics.STIMULI}. The record's pixels
   * wrap the internal buffer: serialise it (e.g. {@code KafkaProducer.send}, which serialises
   * before returning) before the next call.
   *
   * @param probeId probe id
   * @param image source image
   * @param imageId id unique within the probe (in continuous mode prefixed with the cycle)
   * @param frameIndex the probe's global frame index i
   * @param imageFrame frame within the image, 0..framesPerImage-1
   * @return the stimulus frame; {@code stimulusTimeSeconds = i/fps}, {@code modulation} = m_r(i) per region
   */
  public StimulusFrame frame(String probeId, Image image, String imageId, long frameIndex, int imageFrame) {
    byte[] px = render(image, frameIndex);
    List<Float> m = new ArrayList<>(mod.length);
    for (double v : mod) {
      m.add((float) v);
    }
    return StimulusFrame.newBuilder()
        .setProbeId(probeId)
        .setImageId(imageId)
        .setLabel(image.label())
        .setFrameIndex(frameIndex)
        .setImageFrame(imageFrame)
        .setStimulusTimeSeconds(frameIndex / fps)
        .setModulation(m)
        .setChannels(channels)
        .setHeight(height)
        .setWidth(width)
        .setPixels(ByteBuffer.wrap(px))
        .build();
  }
}
