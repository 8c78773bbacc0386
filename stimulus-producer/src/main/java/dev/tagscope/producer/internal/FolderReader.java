package dev.tagscope.producer.internal;

import dev.tagscope.producer.CorruptImageException;
import dev.tagscope.producer.Image;
import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.Raster;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;

/**
 * Reads PNG and JPEG files (also BMP and GIF, whatever {@code javax.imageio} decodes) from a
 * folder tree. Files are taken in the order of their relative paths ({@code /}-separated,
 * compared as strings), so a probe over a folder is repeatable. The label is the parent
 * folder's name when that name is an integer ({@code digits/7/a.png} has label 7), else null.
 * Gray images (one colour component, any bit depth) become {@code [1,H,W]}; everything else
 * becomes {@code [3,H,W]} sRGB; alpha is dropped.
 */
public final class FolderReader {
  private FolderReader() {}

  /**
   * Images of more pixels than this (4096 x 4096) are refused before they are decoded: a header can
   * claim any size, and {@code javax.imageio} allocates the whole picture before it reads the data
   * (a 157-byte GIF claiming 19461 x 7905 pixels took seconds and hundreds of MB; found by
   * ImageFolderFuzzTest).
   */
  public static final long MAX_PIXELS = 1L << 24;

  /** Lower-case file extensions that are read. */
  public static final Set<String> EXTENSIONS = Set.of("png", "jpg", "jpeg", "bmp", "gif");

  /**
   * Whether the file name has one of {@link #EXTENSIONS}.
   *
   * @param file any path
   * @return true for e.g. {@code shirt.PNG}
   */
  public static boolean isImageFile(Path file) {
    String name = file.getFileName().toString();
    int dot = name.lastIndexOf('.');
    return dot > 0 && EXTENSIONS.contains(name.substring(dot + 1).toLowerCase(Locale.ROOT));
  }

  /**
   * Lists the image files under a folder, sorted by relative path.
   *
   * @param root a folder
   * @return image files, possibly empty
   * @throws IOException when the tree cannot be walked
   */
  public static List<Path> list(Path root) throws IOException {
    try (Stream<Path> walk = Files.walk(root)) {
      return walk.filter(Files::isRegularFile).filter(FolderReader::isImageFile)
          .sorted(Comparator.comparing(p -> relativeId(root, p)))
          .collect(Collectors.toList());
    }
  }

  /**
   * Reads at most {@code limit} images of a folder tree, in sorted order.
   *
   * @param root a folder
   * @param limit the most images to read
   * @return images, ids are relative paths such as {@code "7/a.png"}
   * @throws CorruptImageException when a file cannot be decoded
   * @throws IOException when the tree cannot be walked
   */
  public static List<Image> read(Path root, int limit) throws IOException {
    List<Path> files = list(root);
    List<Image> out = new ArrayList<>(Math.min(files.size(), limit));
    for (Path f : files) {
      if (out.size() >= limit) {
        break;
      }
      out.add(readOne(f, relativeId(root, f)));
    }
    return out;
  }

  /**
   * Reads one image file.
   *
   * @param file PNG/JPEG/BMP/GIF file
   * @param id image id to give it
   * @return the image, label from its parent folder name
   * @throws CorruptImageException when {@code javax.imageio} cannot decode it, its header claims
   *     more than {@link #MAX_PIXELS} pixels, or it is a BMP that embeds a JPEG or PNG
   */
  public static Image readOne(Path file, String id) throws IOException {
    BufferedImage bi;
    // ImageIO.read(file), with the size checked between reading the header and decoding
    try (ImageInputStream in = ImageIO.createImageInputStream(file.toFile())) {
      Iterator<ImageReader> readers = in == null ? Collections.emptyIterator() : ImageIO.getImageReaders(in);
      if (!readers.hasNext()) {
        throw new CorruptImageException(file, -1, "expected a PNG, JPEG, BMP or GIF image, found no decoder for its content", null);
      }
      ImageReader reader = readers.next();
      try {
        reader.setInput(in, true, true);
        if ("bmp".equalsIgnoreCase(reader.getFormatName()) && embedsJpegOrPng(file)) {
          // javax.imageio allocates the size field's bytes for the embedded image, and decodes it at its own size
          throw new CorruptImageException(file, 30, "a BMP whose pixels are an embedded JPEG or PNG (compression 4 or 5)"
              + " is not read; save the image as a PNG or JPEG", null);
        }
        String tooLarge = sizeRefusal(reader.getWidth(0), reader.getHeight(0));
        if (tooLarge != null) {
          throw new CorruptImageException(file, -1, tooLarge, null);
        }
        bi = reader.read(0, reader.getDefaultReadParam());
      } finally {
        reader.dispose();
      }
    } catch (CorruptImageException e) {
      throw e;
    } catch (IOException | RuntimeException e) {
      // an EOFException of a cut file has no message: then its name says what happened
      throw new CorruptImageException(file, -1, "expected a PNG, JPEG, BMP or GIF image that javax.imageio can decode: "
          + (e.getMessage() == null ? e.toString() : e.getMessage()), e);
    }
    return new Image(id, labelOf(file), channels(bi), bi.getHeight(), bi.getWidth(), pixels(bi));
  }

  /**
   * Why an image of this size is not decoded, if it is not: checked between reading an image's header
   * and decoding its pixels (see {@link #MAX_PIXELS}).
   *
   * @param width width the header claims, pixels
   * @param height height the header claims, pixels
   * @return null when {@code width * height <= MAX_PIXELS}, else the reason
   */
  public static String sizeRefusal(int width, int height) {
    if ((long) width * height <= MAX_PIXELS) {
      return null;
    }
    return "the image header claims " + width + "x" + height + " pixels, more than the " + MAX_PIXELS
        + " (4096x4096) an image may have; resize the image";
  }

  /**
   * The channel count C a decoded image is read with: 1 for gray (one colour component, any bit
   * depth), else 3 (sRGB; alpha dropped).
   *
   * @param bi a decoded image
   * @return 1 or 3
   */
  public static int channels(BufferedImage bi) {
    return bi.getColorModel().getNumColorComponents() == 1 ? 1 : 3;
  }

  /** Whether a BMP's header (any but the 12-byte OS/2 one) says compression 4 or 5, an embedded JPEG or PNG. */
  private static boolean embedsJpegOrPng(Path bmp) throws IOException {
    byte[] head;
    try (InputStream in = Files.newInputStream(bmp)) {
      head = in.readNBytes(34);
    }
    if (head.length < 34) {
      return false; // the reader says what is missing
    }
    ByteBuffer b = ByteBuffer.wrap(head).order(ByteOrder.LITTLE_ENDIAN);
    int compression = b.getInt(30);
    return b.getInt(14) != 12 && (compression == 4 || compression == 5);
  }

  private static String relativeId(Path root, Path file) {
    Path rel = root.equals(file) ? file.getFileName() : root.relativize(file);
    StringBuilder sb = new StringBuilder();
    for (Path part : rel) {
      if (sb.length() > 0) {
        sb.append('/');
      }
      sb.append(part);
    }
    return sb.toString();
  }

  private static Integer labelOf(Path file) {
    Path parent = file.toAbsolutePath().getParent();
    if (parent == null || parent.getFileName() == null) {
      return null;
    }
    String name = parent.getFileName().toString();
    if (!name.matches("[0-9]{1,9}")) {
      return null;
    }
    return Integer.valueOf(name);
  }

  /**
   * Pixels of a decoded image as {@code [C,H,W]} uint8, C as {@link #channels(BufferedImage)}
   * says; gray of more than 8 bits is scaled to 0..255, rounded half up.
   *
   * @param bi a decoded image
   * @return {@code C*H*W} bytes
   */
  public static byte[] pixels(BufferedImage bi) {
    int h = bi.getHeight();
    int w = bi.getWidth();
    ColorModel cm = bi.getColorModel();
    if (cm.getNumColorComponents() == 1 && !(cm instanceof java.awt.image.IndexColorModel)) {
      Raster r = bi.getRaster();
      int bits = cm.getComponentSize(0);
      double max = (1L << bits) - 1;
      byte[] out = new byte[h * w];
      for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
          int s = r.getSample(x, y, 0);
          out[y * w + x] = (byte) (bits == 8 ? s : (int) Math.floor(s * 255.0 / max + 0.5));
        }
      }
      return out;
    }
    byte[] out = new byte[3 * h * w];
    int plane = h * w;
    int[] row = new int[w];
    for (int y = 0; y < h; y++) {
      bi.getRGB(0, y, w, 1, row, 0, w);
      for (int x = 0; x < w; x++) {
        int argb = row[x];
        int i = y * w + x;
        out[i] = (byte) (argb >> 16);
        out[plane + i] = (byte) (argb >> 8);
        out[2 * plane + i] = (byte) argb;
      }
    }
    return out;
  }
}
