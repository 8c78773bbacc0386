package dev.tagscope.producer;

import java.util.Arrays;
import java.util.Objects;

/**
 * One source image of a probe: uint8 pixels in {@code [C,H,W]} row-major order (channel
 * planes, then rows, then columns), as carried by {@code StimulusFrame.pixels}.
 *
 * <p>{@code pixels} is not copied (images can be large and are only read by the producer);
 * callers must not change the array after construction.
 *
 * @param id image id, unique within its source, e.g. {@code "t10k#17"} or {@code "3/shirt.png"}
 * @param label class label when known (IDX labels file, or an integer parent folder name), else null
 * @param channels C: 1 (gray) or 3 (RGB)
 * @param height H in pixels
 * @param width W in pixels
 * @param pixels uint8 values, length {@code C*H*W}
 */
public record Image(String id, Integer label, int channels, int height, int width, byte[] pixels) {

  /**
   * @throws IllegalArgumentException when the id is blank, a dimension is not positive, or
   *     {@code pixels.length != C*H*W}
   */
  public Image {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(pixels, "pixels");
    if (id.isBlank()) {
      throw new IllegalArgumentException("image id must not be blank");
    }
    if (channels < 1 || height < 1 || width < 1) {
      throw new IllegalArgumentException("image " + id + ": shape [C,H,W] must be positive, got ["
          + channels + "," + height + "," + width + "]");
    }
    if ((long) channels * height * width != pixels.length) {
      throw new IllegalArgumentException("image " + id + ": expected C*H*W = " + channels + "*" + height + "*" + width
          + " = " + ((long) channels * height * width) + " pixel bytes, got " + pixels.length);
    }
  }

  /**
   * One pixel value.
   *
   * @param c channel, 0..C-1
   * @param y row, 0..H-1
   * @param x column, 0..W-1
   * @return the uint8 value as 0..255
   */
  public int pixel(int c, int y, int x) {
    return pixels[(c * height + y) * width + x] & 0xff;
  }

  /** @return {@code C*H*W} */
  public int size() {
    return pixels.length;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Image other && id.equals(other.id) && Objects.equals(label, other.label)
        && channels == other.channels && height == other.height && width == other.width
        && Arrays.equals(pixels, other.pixels);
  }

  @Override
  public int hashCode() {
    return Objects.hash(id, label, channels, height, width, Arrays.hashCode(pixels));
  }

  @Override
  public String toString() {
    return "Image[" + id + ", label=" + label + ", shape=[" + channels + "," + height + "," + width + "]]";
  }
}
