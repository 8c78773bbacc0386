package dev.tagscope.producer.internal;

import dev.tagscope.producer.CorruptImageException;
import dev.tagscope.producer.Image;
import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.GZIPInputStream;

/**
 * Reads IDX files (the MNIST / Fashion-MNIST format, LeCun et al.): a 4-byte magic number
 * {@code 00 00 <type> <dims>} with type {@code 0x08} (unsigned byte), {@code dims} big-endian
 * int32 sizes, then the data. Images files have 3 dims {@code [N,H,W]} (magic {@code 0x00000803}),
 * labels files 1 dim {@code [N]} (magic {@code 0x00000801}). Either may be gzip-compressed; gzip is
 * detected by its magic bytes {@code 1F 8B}, not by the file name.
 */
public final class IdxReader {
  private IdxReader() {}

  /** Names like {@code t10k-images-idx3-ubyte.gz} or {@code fashion-mnist-test-images-idx3-ubyte}. */
  public static final Pattern IMAGES_NAME = Pattern.compile("(.*?)([-._]?images)?[-._]idx3[-._]ubyte(\\.gz)?");

  /**
   * Whether a file looks like an IDX images file, by name or, failing that, by its magic bytes.
   *
   * @param file a regular file
   * @return true for {@code *idx3-ubyte[.gz]} names or files starting {@code 00 00 08 03} (raw)
   * @throws IOException when the file cannot be opened
   */
  public static boolean looksLikeIdxImages(Path file) throws IOException {
    if (IMAGES_NAME.matcher(file.getFileName().toString()).matches()) {
      return true;
    }
    try (InputStream in = Files.newInputStream(file)) {
      byte[] head = in.readNBytes(4);
      return head.length == 4 && head[0] == 0 && head[1] == 0 && head[2] == 0x08 && head[3] == 3;
    }
  }

  /**
   * The labels file that belongs to an images file: the same name with {@code images-idx3}
   * replaced by {@code labels-idx1}, gzip-compressed or not, in the same folder.
   *
   * @param imagesFile an images file
   * @return the labels file, or null when there is none
   */
  public static Path siblingLabels(Path imagesFile) {
    String name = imagesFile.getFileName().toString();
    String base = name.endsWith(".gz") ? name.substring(0, name.length() - 3) : name;
    String stem = base.replace("images-idx3-ubyte", "labels-idx1-ubyte").replace("images.idx3-ubyte", "labels.idx1-ubyte");
    if (stem.equals(base)) {
      return null;
    }
    Path dir = imagesFile.toAbsolutePath().getParent();
    for (String candidate : new String[] {stem + ".gz", stem}) {
      Path p = dir.resolve(candidate);
      if (Files.isRegularFile(p)) {
        return p;
      }
    }
    return null;
  }

  /**
   * Dataset name used in image ids: the file name without {@code -images-idx3-ubyte[.gz]}.
   *
   * @param imagesFile an images file
   * @return e.g. {@code "t10k"} for {@code t10k-images-idx3-ubyte.gz}
   */
  public static String datasetName(Path imagesFile) {
    String name = imagesFile.getFileName().toString();
    Matcher m = IMAGES_NAME.matcher(name);
    if (m.matches() && !m.group(1).isEmpty()) {
      return m.group(1);
    }
    return name.endsWith(".gz") ? name.substring(0, name.length() - 3) : name;
  }

  /**
   * Reads images (and labels) from IDX files.
   *
   * @param imagesFile images file, {@code [N,H,W]} uint8, raw or gzip
   * @param labelsFile labels file {@code [N]} uint8, raw or gzip, or null for unlabelled images
   * @param limit the most images to read (&gt;= 1), {@code Integer.MAX_VALUE} for all
   * @return images with ids {@code <dataset>#<index>}, shape {@code [1,H,W]}
   * @throws CorruptImageException for a bad magic number, a zero size, a truncated or over-long
   *     file, a broken gzip stream, or a labels count that differs from the images count
   * @throws IOException when a file cannot be read at all
   */
  public static List<Image> read(Path imagesFile, Path labelsFile, int limit) throws IOException {
    String dataset = datasetName(imagesFile);
    try (Source img = Source.open(imagesFile)) {
      int[] dims = img.header(3, "images");
      int n = dims[0];
      int h = dims[1];
      int w = dims[2];
      long perImage = (long) h * w;
      img.checkRawLength(16 + n * perImage, n + " images of " + h + "x" + w);
      int count = Math.min(n, limit);
      byte[] labels = null;
      if (labelsFile != null) {
        try (Source lab = Source.open(labelsFile)) {
          int[] ldims = lab.header(1, "labels");
          if (ldims[0] != n) {
            throw new CorruptImageException(labelsFile, 4, "expected " + n + " labels to match " + imagesFile.getFileName()
                + ", found a labels count of " + ldims[0], null);
          }
          lab.checkRawLength(8L + n, n + " labels");
          labels = lab.readData(count, "labels");
        }
      }
      List<Image> out = new ArrayList<>(count);
      for (int i = 0; i < count; i++) {
        byte[] px = img.readData((int) perImage, "image " + i + " of " + n + " (" + h + "x" + w + ")");
        out.add(new Image(dataset + "#" + i, labels == null ? null : labels[i] & 0xff, 1, h, w, px));
      }
      return out;
    }
  }

  /** A raw or gzip stream that tracks the uncompressed byte offset for error messages. */
  private static final class Source implements AutoCloseable {
    private final Path file;
    private final InputStream in;
    private final boolean gzip;
    private long offset;

    private Source(Path file, InputStream in, boolean gzip) {
      this.file = file;
      this.in = in;
      this.gzip = gzip;
    }

    static Source open(Path file) throws IOException {
      InputStream raw = new BufferedInputStream(Files.newInputStream(file), 1 << 16);
      raw.mark(2);
      int b0 = raw.read();
      int b1 = raw.read();
      raw.reset();
      if (b0 == 0x1f && b1 == 0x8b) {
        try {
          return new Source(file, new BufferedInputStream(new GZIPInputStream(raw, 1 << 16), 1 << 16), true);
        } catch (IOException e) {
          raw.close();
          throw new CorruptImageException(file, 0, "gzip magic found but the gzip header is broken: " + e.getMessage(), e);
        }
      }
      return new Source(file, raw, false);
    }

    private String where() {
      return gzip ? " (uncompressed)" : "";
    }

    /** Reads the magic number and the dimension sizes. */
    int[] header(int expectedDims, String what) throws IOException {
      byte[] magic = readData(4, "the 4-byte IDX magic number");
      int expectedMagic = 0x800 | expectedDims;
      if (magic[0] != 0 || magic[1] != 0 || magic[2] != 0x08 || magic[3] != expectedDims) {
        throw new CorruptImageException(file, 0, "expected IDX " + what + " magic number "
            + String.format("0x%08X", expectedMagic) + " (unsigned byte data, " + expectedDims + " dimensions)"
            + where() + ", found " + String.format("0x%02X%02X%02X%02X", magic[0], magic[1], magic[2], magic[3]), null);
      }
      int[] dims = new int[expectedDims];
      for (int d = 0; d < expectedDims; d++) {
        long at = offset;
        byte[] b = readData(4, "dimension " + d + " size (int32)");
        dims[d] = ((b[0] & 0xff) << 24) | ((b[1] & 0xff) << 16) | ((b[2] & 0xff) << 8) | (b[3] & 0xff);
        if (dims[d] <= 0) {
          throw new CorruptImageException(file, at, "expected a positive size of dimension " + d + where() + ", found " + dims[d], null);
        }
      }
      if (expectedDims == 3 && (long) dims[1] * dims[2] > Integer.MAX_VALUE / 4) {
        throw new CorruptImageException(file, 8, "image size " + dims[1] + "x" + dims[2] + " is implausibly large", null);
      }
      return dims;
    }

    /** For raw files, checks the length up front so truncation is reported before reading. */
    void checkRawLength(long expected, String content) throws IOException {
      if (gzip) {
        return;
      }
      long actual = Files.size(file);
      if (actual < expected) {
        throw new CorruptImageException(file, actual, "file is truncated: expected " + expected + " bytes for "
            + content + " (header included), file ends after " + actual + " bytes", null);
      }
      if (actual > expected) {
        throw new CorruptImageException(file, expected, "expected end of file after " + content + ", found "
            + (actual - expected) + " more bytes", null);
      }
    }

    byte[] readData(int length, String what) throws IOException {
      byte[] buf = new byte[length];
      int got;
      try {
        got = in.readNBytes(buf, 0, length);
      } catch (EOFException e) {
        throw new CorruptImageException(file, offset, "gzip stream ends early while reading " + what + where(), e);
      } catch (IOException e) {
        throw new CorruptImageException(file, offset, "cannot decompress " + what + where() + ": " + e.getMessage(), e);
      }
      if (got < length) {
        throw new CorruptImageException(file, offset + got, "expected " + length + " bytes of " + what + where()
            + ", found end of file after " + got, null);
      }
      offset += length;
      return buf;
    }

    @Override
    public void close() throws IOException {
      in.close();
    }
  }
}
