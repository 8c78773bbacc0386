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
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipException;

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
   * Reads images (and labels) from IDX files. The data length must be exactly what the header
   * says, for raw and gzip files alike: a short or padded file usually means the wrong file (a
   * different dataset, a half-finished download), so it is refused rather than read in part. A
   * gzip file is therefore decompressed to its end even when {@code limit} is smaller than its
   * image count (47 MB of output for MNIST train).
   *
   * @param imagesFile images file, {@code [N,H,W]} uint8, raw or gzip
   * @param labelsFile labels file {@code [N]} uint8, raw or gzip, or null for unlabelled images
   * @param limit the most images to read (&gt;= 1), {@code Integer.MAX_VALUE} for all
   * @return images with ids {@code <dataset>#<index>}, shape {@code [1,H,W]}
   * @throws CorruptImageException for a bad magic number, a zero size, a truncated file or one
   *     with bytes after the data (the message names the file and the expected and actual
   *     sizes in bytes, uncompressed for gzip), a broken gzip stream, or a labels count that
   *     differs from the images count
   * @throws IOException when a file cannot be read at all
   */
  public static List<Image> read(Path imagesFile, Path labelsFile, int limit) throws IOException {
    String dataset = datasetName(imagesFile);
    // The file stream is its own resource so that it is closed even when Source.open fails
    // (reading the gzip magic, or a broken gzip header) before a Source exists to close it.
    try (InputStream file = Files.newInputStream(imagesFile);
         Source img = Source.open(imagesFile, file)) {
      int[] dims = img.header(3, "images");
      int n = dims[0];
      int h = dims[1];
      int w = dims[2];
      long perImage = (long) h * w;
      img.expectLength(16 + n * perImage, n + " images of " + h + "x" + w);
      int count = Math.min(n, limit);
      byte[] labels = labelsFile == null ? null : readLabels(labelsFile, imagesFile, n, count);
      // Not sized by the header's count: a gzip file's count is unchecked until its data is read, and a
      // 17-byte file claiming 2^28 images made this list alone take 1 GB (found by IdxFuzzTest).
      List<Image> out = new ArrayList<>(Math.min(count, 1024));
      for (int i = 0; i < count; i++) {
        byte[] px = img.readData((int) perImage, "image " + i + " of " + n + " (" + h + "x" + w + ")");
        out.add(new Image(dataset + "#" + i, labels == null ? null : labels[i] & 0xff, 1, h, w, px));
      }
      img.checkEnd();
      return out;
    }
  }

  /** Reads the first {@code count} of the {@code n} labels that must be in {@code labelsFile}. */
  private static byte[] readLabels(Path labelsFile, Path imagesFile, int n, int count) throws IOException {
    try (InputStream file = Files.newInputStream(labelsFile);
         Source lab = Source.open(labelsFile, file)) {
      int[] ldims = lab.header(1, "labels");
      if (ldims[0] != n) {
        throw new CorruptImageException(labelsFile, 4, "expected " + n + " labels to match " + imagesFile.getFileName()
            + ", found a labels count of " + ldims[0], null);
      }
      lab.expectLength(8L + n, n + " labels");
      byte[] labels = lab.readData(count, "labels");
      lab.checkEnd();
      return labels;
    }
  }

  /**
   * A raw or gzip stream over an open file that tracks the uncompressed byte offset for error
   * messages. Closing it closes the file stream it was opened over.
   */
  private static final class Source implements AutoCloseable {
    /**
     * Larger reads grow their buffer as data arrives, so a small gzip file whose header claims
     * huge images fails on its missing data rather than on allocating them up front.
     */
    private static final int CHUNK = 1 << 20;
    /** Trailing bytes of a gzip file are counted up to this many past the expected end, then reported as "at least". */
    private static final long TRAILING_COUNT_LIMIT = 64L << 20;

    private final Path file;
    private final InputStream in;
    private final boolean gzip;
    private long offset;
    private long expectedLength = -1;
    private String content;

    private Source(Path file, InputStream in, boolean gzip) {
      this.file = file;
      this.in = in;
      this.gzip = gzip;
    }

    /**
     * Wraps {@code fileStream}, decompressing when it starts with the gzip magic. Does not close
     * {@code fileStream} on failure: the caller's try-with-resources does.
     */
    static Source open(Path file, InputStream fileStream) throws IOException {
      InputStream raw = new BufferedInputStream(fileStream, 1 << 16);
      raw.mark(2);
      int b0 = raw.read();
      int b1 = raw.read();
      raw.reset();
      if (b0 == 0x1f && b1 == 0x8b) {
        InputStream gz;
        try {
          gz = new GZIPInputStream(raw, 1 << 16);
        } catch (EOFException | ZipException e) {
          throw new CorruptImageException(file, 0, "gzip magic found but the gzip header is broken: " + e.getMessage(), e);
        }
        return new Source(file, new BufferedInputStream(gz, 1 << 16), true);
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

    /**
     * Records the total (uncompressed) length the header implies. A raw file's length is known
     * without reading, so it is checked here, before any data is read; a gzip file's only once it
     * is decompressed, in {@link #readData} and {@link #checkEnd()}.
     */
    void expectLength(long expected, String content) throws IOException {
      this.expectedLength = expected;
      this.content = content;
      if (gzip) {
        return;
      }
      long actual = Files.size(file);
      if (actual < expected) {
        throw truncated(actual, null);
      }
      if (actual > expected) {
        throw trailing(actual - expected, false);
      }
    }

    /** @param during what was being read when the data ended, or null when checked up front */
    private CorruptImageException truncated(long actual, String during) {
      return new CorruptImageException(file, actual, "file is truncated: expected " + expectedLength + " bytes" + where()
          + " for " + content + " (header included), " + (gzip ? "the data ends" : "file ends") + " after " + actual
          + " bytes" + (during == null ? "" : ", in " + during), null);
    }

    private CorruptImageException trailing(long extra, boolean atLeast) {
      return new CorruptImageException(file, expectedLength, "expected end of " + (gzip ? "data" : "file") + " after "
          + expectedLength + " bytes" + where() + " for " + content + " (header included), found " + (atLeast ? "at least " : "")
          + extra + " more bytes (" + (atLeast ? "at least " : "") + (expectedLength + extra) + " in all)", null);
    }

    byte[] readData(int length, String what) throws IOException {
      byte[] buf = new byte[Math.min(length, CHUNK)];
      int got = 0;
      try {
        while (got < length) {
          if (got == buf.length) {
            buf = Arrays.copyOf(buf, (int) Math.min(length, 2L * buf.length));
          }
          int r = in.read(buf, got, buf.length - got);
          if (r < 0) {
            break;
          }
          got += r;
        }
      } catch (EOFException e) {
        // GZIPInputStream: the compressed stream stops in the middle of a deflate block.
        throw new CorruptImageException(file, offset + got, "gzip stream is cut short: it breaks after " + (offset + got)
            + " bytes" + where() + ", while reading " + what + sizeHint(), e);
      } catch (ZipException e) {
        throw new CorruptImageException(file, offset + got, "cannot decompress " + what + where() + ": " + e.getMessage(), e);
      }
      if (got < length) {
        if (expectedLength >= 0) {
          throw truncated(offset + got, what);
        }
        throw new CorruptImageException(file, offset + got, "file is truncated inside the IDX header: expected " + length
            + " bytes of " + what + where() + ", the data ends after " + (offset + got) + " bytes", null);
      }
      offset += length;
      return buf;
    }

    private String sizeHint() {
      return expectedLength >= 0 ? "; expected " + expectedLength + " bytes for " + content + " (header included)" : "";
    }

    /**
     * Checks that the data ends exactly where the header says. For gzip this reads (and drops)
     * whatever {@link #readData} did not, since the decompressed length is known only by
     * decompressing; raw files were checked by {@link #expectLength}.
     */
    void checkEnd() throws IOException {
      if (!gzip) {
        return;
      }
      byte[] scratch = new byte[1 << 16];
      long rest = expectedLength - offset;
      while (rest > 0) {
        int want = (int) Math.min(rest, scratch.length);
        readData(want, "the data past the read limit");
        rest -= want;
      }
      long extra = 0;
      try {
        int r;
        while (extra <= TRAILING_COUNT_LIMIT && (r = in.read(scratch)) >= 0) {
          extra += r;
        }
      } catch (EOFException | ZipException e) {
        // The data the header promised is all there; a broken tail is still not an IDX file.
        throw new CorruptImageException(file, expectedLength, "cannot decompress the bytes after the "
            + expectedLength + " bytes" + where() + " of " + content + ": " + e.getMessage(), e);
      }
      if (extra > 0) {
        throw trailing(extra, extra > TRAILING_COUNT_LIMIT);
      }
    }

    @Override
    public void close() throws IOException {
      in.close();
    }
  }
}
