package dev.tagscope.producer.internal;

import dev.tagscope.producer.Image;
import dev.tagscope.producer.LiveTraffic;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Iterator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;

/**
 * Turns one inference request (record headers and value) into an {@link Image} of the probe's
 * shape, or into the reason it cannot be one; the contract is {@link LiveTraffic}'s. Never throws
 * for bad input: every refusal is a reason for the dead-letter topic.
 */
public final class RequestDecoder {
  private static final byte[] PNG_MAGIC = {(byte) 0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
  private static final byte[] JPEG_MAGIC = {(byte) 0xFF, (byte) 0xD8, (byte) 0xFF};
  private static final Pattern SHAPE = Pattern.compile("\\s*([0-9]{1,9})\\s*,\\s*([0-9]{1,9})\\s*,\\s*([0-9]{1,9})\\s*");
  private static final Pattern LABEL = Pattern.compile("\\s*([0-9]{1,9})\\s*");
  /** Longest part of a header value quoted in a reason, in characters. */
  private static final int QUOTE = 40;

  private final int channels;
  private final int height;
  private final int width;

  /**
   * @param channels the probe's C
   * @param height the probe's H, pixels
   * @param width the probe's W, pixels
   */
  public RequestDecoder(int channels, int height, int width) {
    this.channels = channels;
    this.height = height;
    this.width = width;
  }

  /**
   * A decoded request: the image, or why there is none.
   *
   * @param image the image of the probe's shape, null when refused
   * @param reason why it was refused, a line a user can act on; null when decoded
   */
  public record Decoded(Image image, String reason) {
    static Decoded refused(String reason) {
      return new Decoded(null, reason);
    }
  }

  /**
   * Decodes a request.
   *
   * @param imageId the id the image gets ({@link LiveTraffic#imageId(int, long)})
   * @param headers the record's headers
   * @param value the record's value, may be null
   * @return the image with its label, or the reason it was refused
   */
  public Decoded decode(String imageId, Headers headers, byte[] value) {
    Integer label = null;
    Header labelHeader = headers.lastHeader(LiveTraffic.HEADER_LABEL);
    if (labelHeader != null) {
      String text = utf8(labelHeader.value());
      Matcher m = LABEL.matcher(text);
      if (!m.matches()) {
        return Decoded.refused(LiveTraffic.HEADER_LABEL + " header must be a class index (a decimal integer >= 0), got '"
            + quote(text) + "'; send it as text such as \"7\", or leave the header out");
      }
      label = Integer.valueOf(m.group(1));
    }
    if (value == null || value.length == 0) {
      return Decoded.refused("the request has no value" + (value == null ? " (a tombstone)" : "") + "; expected PNG or JPEG"
          + " bytes, or raw C x H x W uint8 pixels with a " + LiveTraffic.HEADER_SHAPE + " header");
    }
    Header shapeHeader = headers.lastHeader(LiveTraffic.HEADER_SHAPE);
    if (shapeHeader != null) {
      return raw(imageId, label, utf8(shapeHeader.value()), value);
    }
    String format = startsWith(value, PNG_MAGIC) ? "png" : startsWith(value, JPEG_MAGIC) ? "jpeg" : null;
    if (format == null) {
      return Decoded.refused("neither a PNG (magic bytes 89 50 4E 47 0D 0A 1A 0A) nor a JPEG (FF D8 FF), and no "
          + LiveTraffic.HEADER_SHAPE + " header for raw pixels; the value begins " + hex(value, 8) + " (" + value.length
          + " bytes)");
    }
    return encoded(imageId, label, format, value);
  }

  private Decoded raw(String imageId, Integer label, String shapeText, byte[] value) {
    Matcher m = SHAPE.matcher(shapeText);
    if (!m.matches()) {
      return Decoded.refused(LiveTraffic.HEADER_SHAPE + " header must be \"C,H,W\" (three decimal integers, e.g. \"1,28,28\"),"
          + " got '" + quote(shapeText) + "'");
    }
    long c = Long.parseLong(m.group(1));
    long h = Long.parseLong(m.group(2));
    long w = Long.parseLong(m.group(3));
    String shape = "[" + c + "," + h + "," + w + "]";
    if (c < 1 || h < 1 || w < 1) {
      return Decoded.refused(LiveTraffic.HEADER_SHAPE + " header " + shape + " must have C, H and W >= 1");
    }
    java.math.BigInteger bytes = java.math.BigInteger.valueOf(c * h).multiply(java.math.BigInteger.valueOf(w)); // 27 digits may overflow a long
    if (!bytes.equals(java.math.BigInteger.valueOf(value.length))) {
      return Decoded.refused(LiveTraffic.HEADER_SHAPE + " header says " + shape + " = " + bytes + " uint8 bytes, but the"
          + " value holds " + value.length + " bytes; send exactly C*H*W bytes in [C,H,W] order");
    }
    if (c != channels || h != height || w != width) {
      return Decoded.refused(shapeRefusal(Long.toString(c), (int) h, (int) w, "raw request"));
    }
    return new Decoded(new Image(imageId, label, channels, height, width, value), null);
  }

  private Decoded encoded(String imageId, Integer label, String format, byte[] value) {
    String kind = format.toUpperCase(java.util.Locale.ROOT);
    BufferedImage bi;
    try (ImageInputStream in = ImageIO.createImageInputStream(new ByteArrayInputStream(value))) {
      Iterator<ImageReader> readers = ImageIO.getImageReadersByFormatName(format);
      if (in == null || !readers.hasNext()) {
        return Decoded.refused("no " + kind + " decoder in this Java runtime (javax.imageio)");
      }
      ImageReader reader = readers.next();
      try {
        reader.setInput(in, true, true);
        int w = reader.getWidth(0);
        int h = reader.getHeight(0);
        String tooLarge = FolderReader.sizeRefusal(w, h);
        if (tooLarge != null) {
          return Decoded.refused(kind + ": " + tooLarge);
        }
        if (h != height || w != width) { // refused before the pixels are decoded; C is known only after
          return Decoded.refused(shapeRefusal("C", h, w, kind + " image"));
        }
        bi = reader.read(0, reader.getDefaultReadParam());
      } finally {
        reader.dispose();
      }
    } catch (IOException | RuntimeException e) {
      return Decoded.refused("a " + kind + " that javax.imageio cannot decode: "
          + (e.getMessage() == null ? e.toString() : e.getMessage()));
    }
    int c = FolderReader.channels(bi);
    if (c != channels) {
      return Decoded.refused(shapeRefusal(Integer.toString(c), height, width, kind + " image"));
    }
    return new Decoded(new Image(imageId, label, c, bi.getHeight(), bi.getWidth(), FolderReader.pixels(bi)), null);
  }

  /** The reason for a request of shape {@code [c,h,w]} in a probe of another shape. */
  private String shapeRefusal(String c, int h, int w, String what) {
    return what + " of shape [" + c + "," + h + "," + w + "], but the probe's images are [" + channels + "," + height + ","
        + width + "]; Tagscope does not resize or convert requests: send images of the probe's shape, or start a probe"
        + " with --image-shape " + c + "," + h + "," + w;
  }

  private static boolean startsWith(byte[] value, byte[] magic) {
    if (value.length < magic.length) {
      return false;
    }
    for (int i = 0; i < magic.length; i++) {
      if (value[i] != magic[i]) {
        return false;
      }
    }
    return true;
  }

  private static String hex(byte[] value, int n) {
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < Math.min(n, value.length); i++) {
      if (i > 0) {
        b.append(' ');
      }
      b.append(String.format("%02X", value[i] & 0xff));
    }
    return b.toString();
  }

  private static String utf8(byte[] b) {
    return b == null ? "" : new String(b, StandardCharsets.UTF_8);
  }

  private static String quote(String s) {
    return s.length() <= QUOTE ? s : s.substring(0, QUOTE) + "...";
  }
}
