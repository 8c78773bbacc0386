package dev.tagscope.worker.djl.visual;

import dev.tagscope.worker.Preprocessing;
import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.util.List;

/**
 * Visualisations as pictures: an image in the model's normalised input space back to 8-bit pixels,
 * and a layer's contact sheet. Drawn with Java2D; written as PNG by the caller (ImageIO).
 */
public final class FeatureImages {
  /** A contact sheet has at most this many columns. */
  static final int SHEET_COLUMNS = 8;
  /** Each cell of a contact sheet is the input enlarged to about this many pixels (nearest neighbour). */
  static final int SHEET_CELL_PIXELS = 112;
  private static final int CAPTION_PIXELS = 16;
  private static final int GAP = 4;

  private FeatureImages() {}

  /**
   * De-normalises one image: pixel = {@code (x * std_c + mean_c) / scale}, rounded and clipped to 0..255
   * (the inverse of the model card's preprocessing, {@link Preprocessing}).
   *
   * @param x images, {@code [N,C,H,W]} flattened, in normalised input space
   * @param index which image
   * @param pre the model's preprocessing
   * @return {@code TYPE_BYTE_GRAY} for one channel, {@code TYPE_INT_RGB} for three, {@code W x H}
   * @throws IllegalArgumentException for another channel count
   */
  public static BufferedImage toImage(float[] x, int index, Preprocessing pre) {
    int c = pre.channels();
    int h = pre.height();
    int w = pre.width();
    if (c != 1 && c != 3) {
      throw new IllegalArgumentException("channels: a PNG needs 1 (gray) or 3 (RGB) input channels, the model has " + c);
    }
    int off = index * pre.inputLength();
    BufferedImage img = new BufferedImage(w, h, c == 1 ? BufferedImage.TYPE_BYTE_GRAY : BufferedImage.TYPE_INT_RGB);
    for (int y = 0; y < h; y++) {
      for (int xx = 0; xx < w; xx++) {
        int[] v = new int[c];
        for (int ch = 0; ch < c; ch++) {
          double p = (x[off + ch * h * w + y * w + xx] * pre.stdOf(ch) + pre.meanOf(ch)) / pre.scale();
          v[ch] = (int) Math.max(0, Math.min(255, Math.round(p)));
        }
        if (c == 1) {
          img.getRaster().setSample(xx, y, 0, v[0]);
        } else {
          img.setRGB(xx, y, (v[0] << 16) | (v[1] << 8) | v[2]);
        }
      }
    }
    return img;
  }

  /**
   * A grid of images, each enlarged by nearest neighbour and captioned beneath.
   *
   * @param images the visualisations, all of one size
   * @param captions one caption per image, e.g. {@code "f3 #1"} (filter 3, rank 1)
   * @return an RGB image, white background
   */
  public static BufferedImage contactSheet(List<BufferedImage> images, List<String> captions) {
    if (images.isEmpty() || images.size() != captions.size()) {
      throw new IllegalArgumentException("a contact sheet needs at least one image and one caption per image");
    }
    int w = images.get(0).getWidth();
    int h = images.get(0).getHeight();
    int zoom = Math.max(1, SHEET_CELL_PIXELS / Math.max(w, h));
    int cols = Math.min(SHEET_COLUMNS, images.size());
    int rows = (images.size() + cols - 1) / cols;
    int cw = w * zoom + GAP;
    int ch = h * zoom + CAPTION_PIXELS + GAP;
    BufferedImage sheet = new BufferedImage(cols * cw + GAP, rows * ch + GAP, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = sheet.createGraphics();
    try {
      g.setColor(Color.WHITE);
      g.fillRect(0, 0, sheet.getWidth(), sheet.getHeight());
      g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_NEAREST_NEIGHBOR);
      g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
      g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
      FontMetrics fm = g.getFontMetrics();
      for (int i = 0; i < images.size(); i++) {
        int x0 = GAP + (i % cols) * cw;
        int y0 = GAP + (i / cols) * ch;
        g.drawImage(images.get(i), x0, y0, w * zoom, h * zoom, null);
        g.setColor(Color.LIGHT_GRAY); // a frame, so that a white visualisation still shows its cell
        g.drawRect(x0 - 1, y0 - 1, w * zoom + 1, h * zoom + 1);
        g.setColor(Color.BLACK);
        String caption = captions.get(i);
        g.drawString(caption, x0 + (w * zoom - fm.stringWidth(caption)) / 2, y0 + h * zoom + fm.getAscent() + 1);
      }
    } finally {
      g.dispose();
    }
    return sheet;
  }
}
