package dev.tagscope.producer.internal;

import dev.tagscope.producer.Image;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.awt.image.DataBufferByte;

/**
 * Brings an image to a probe's shape {@code [C,H,W]}: channel conversion, then bilinear
 * resizing with {@code java.awt} ({@link RenderingHints#VALUE_INTERPOLATION_BILINEAR}), one
 * channel plane at a time as {@link BufferedImage#TYPE_BYTE_GRAY} so no colour-space
 * conversion touches the values.
 *
 * <p>Gray to RGB repeats the gray plane three times. RGB to gray is the ITU-R BT.601 luma
 * {@code Y = 0.299 R + 0.587 G + 0.114 B}, rounded half up.
 */
public final class ImageConverter {
  private ImageConverter() {}

  /**
   * @param img source image
   * @param channels target C, 1 or 3
   * @param height target H
   * @param width target W
   * @return {@code img} itself when it already has the shape, else a converted copy with the same id and label
   * @throws IllegalArgumentException when a channel count other than 1 and 3 is involved
   */
  public static Image conform(Image img, int channels, int height, int width) {
    Image out = img;
    if (out.channels() != channels) {
      out = convertChannels(out, channels);
    }
    if (out.height() != height || out.width() != width) {
      out = resize(out, height, width);
    }
    return out;
  }

  static Image convertChannels(Image img, int channels) {
    int plane = img.height() * img.width();
    byte[] src = img.pixels();
    byte[] dst = new byte[channels * plane];
    if (img.channels() == 1 && channels == 3) {
      for (int c = 0; c < 3; c++) {
        System.arraycopy(src, 0, dst, c * plane, plane);
      }
    } else if (img.channels() == 3 && channels == 1) {
      for (int i = 0; i < plane; i++) {
        double y = 0.299 * (src[i] & 0xff) + 0.587 * (src[plane + i] & 0xff) + 0.114 * (src[2 * plane + i] & 0xff);
        dst[i] = (byte) Math.min(255, (int) Math.floor(y + 0.5));
      }
    } else {
      throw new IllegalArgumentException("image " + img.id() + ": cannot convert " + img.channels() + " channels to "
          + channels + "; only gray (1) and RGB (3) are supported");
    }
    return new Image(img.id(), img.label(), channels, img.height(), img.width(), dst);
  }

  static Image resize(Image img, int height, int width) {
    int srcPlane = img.height() * img.width();
    int dstPlane = height * width;
    byte[] dst = new byte[img.channels() * dstPlane];
    BufferedImage src = new BufferedImage(img.width(), img.height(), BufferedImage.TYPE_BYTE_GRAY);
    byte[] srcData = ((DataBufferByte) src.getRaster().getDataBuffer()).getData();
    BufferedImage out = new BufferedImage(width, height, BufferedImage.TYPE_BYTE_GRAY);
    byte[] outData = ((DataBufferByte) out.getRaster().getDataBuffer()).getData();
    for (int c = 0; c < img.channels(); c++) {
      System.arraycopy(img.pixels(), c * srcPlane, srcData, 0, srcPlane);
      Graphics2D g = out.createGraphics();
      try {
        g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_BILINEAR);
        g.setRenderingHint(RenderingHints.KEY_RENDERING, RenderingHints.VALUE_RENDER_QUALITY);
        g.drawImage(src, 0, 0, width, height, null);
      } finally {
        g.dispose();
      }
      System.arraycopy(outData, 0, dst, c * dstPlane, dstPlane);
    }
    return new Image(img.id(), img.label(), img.channels(), height, width, dst);
  }
}
