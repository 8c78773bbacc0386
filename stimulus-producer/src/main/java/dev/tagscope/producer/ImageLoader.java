package dev.tagscope.producer;

import dev.tagscope.producer.internal.FolderReader;
import dev.tagscope.producer.internal.IdxReader;
import dev.tagscope.producer.internal.ImageConverter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Loads the images of a probe from an IDX file, a folder holding IDX files, a folder tree of
 * PNG/JPEG files, or one image file, and brings them all to one shape {@code [C,H,W]}.
 *
 * <pre>{@code
 * List<Image> images = ImageLoader.builder().limit(64).build()
 *     .load(Path.of("models/samples/fashion-mnist-test-images-idx3-ubyte.gz"));
 * }</pre>
 *
 * <p>Sources, by what {@code source} is:
 * <ul>
 *   <li>an IDX images file ({@code *-images-idx3-ubyte[.gz]}, or any file starting with the IDX3
 *       magic {@code 00 00 08 03}); raw or gzip, detected by magic bytes. Labels come from
 *       {@link Builder#labels(Path)} or else the sibling {@code *-labels-idx1-ubyte[.gz]} file when
 *       it exists. Ids are {@code <dataset>#<index>}, e.g. {@code fashion-mnist-test#17}.</li>
 *   <li>a folder that directly contains exactly one IDX images file: as above. Several IDX images
 *       files (e.g. train and test) are refused: name the one you want.</li>
 *   <li>any other folder: every PNG/JPEG/BMP/GIF in its tree, sorted by relative path; label =
 *       the parent folder name when it is an integer, else null; id = relative path.</li>
 *   <li>a single PNG/JPEG file.</li>
 * </ul>
 *
 * <p>Shape: the target is the configured {@link Builder#channels(int)} and
 * {@link Builder#size(int, int)}, each defaulting to the first image's. Other images are
 * converted (gray to RGB by repetition, RGB to gray by BT.601 luma) and resized with
 * {@code java.awt} bilinear interpolation.
 */
public final class ImageLoader {
  private final int limit;
  private final Path labels;
  private final int channels;
  private final int height;
  private final int width;

  private ImageLoader(Builder b) {
    this.limit = b.limit;
    this.labels = b.labels;
    this.channels = b.channels;
    this.height = b.height;
    this.width = b.width;
  }

  /** @return a builder with no limit, labels auto-detected and the first image's shape */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * Loads and conforms the images.
   *
   * @param source file or folder, see the class comment
   * @return at least one image, all of the same {@code [C,H,W]}
   * @throws NoSuchFileException when {@code source} does not exist
   * @throws CorruptImageException when a file is not what it claims to be (names the file,
   *     byte offset and what was expected)
   * @throws IllegalArgumentException when the source holds no images, or holds several IDX
   *     images files
   * @throws IOException when a file cannot be read
   */
  public List<Image> load(Path source) throws IOException {
    if (!Files.exists(source)) {
      throw new NoSuchFileException(source.toString(), null, "image source does not exist: give an IDX file, a folder of IDX files, or a folder of PNG/JPEG images");
    }
    List<Image> raw = read(source);
    if (raw.isEmpty()) {
      throw new IllegalArgumentException("image source " + source + " holds no images: expected an IDX images file ("
          + "*-images-idx3-ubyte[.gz]) or PNG/JPEG files");
    }
    Image first = raw.get(0);
    int c = channels > 0 ? channels : first.channels();
    int h = height > 0 ? height : first.height();
    int w = width > 0 ? width : first.width();
    List<Image> out = new ArrayList<>(raw.size());
    for (Image img : raw) {
      out.add(ImageConverter.conform(img, c, h, w));
    }
    return out;
  }

  private List<Image> read(Path source) throws IOException {
    if (Files.isDirectory(source)) {
      List<Path> idx;
      try (Stream<Path> s = Files.list(source)) {
        idx = s.filter(Files::isRegularFile)
            .filter(p -> IdxReader.IMAGES_NAME.matcher(p.getFileName().toString()).matches())
            .sorted().collect(Collectors.toList());
      }
      if (idx.size() > 1) {
        throw new IllegalArgumentException("folder " + source + " holds several IDX images files " + idx.stream()
            .map(p -> p.getFileName().toString()).collect(Collectors.toList()) + ": give the one to use as the source");
      }
      if (idx.size() == 1) {
        return readIdx(idx.get(0));
      }
      return FolderReader.read(source, limit);
    }
    if (FolderReader.isImageFile(source)) {
      return List.of(FolderReader.readOne(source, source.getFileName().toString()));
    }
    if (IdxReader.looksLikeIdxImages(source) || source.getFileName().toString().endsWith(".gz")) {
      return readIdx(source);
    }
    throw new IllegalArgumentException("image source " + source + " is neither an IDX images file (*-images-idx3-ubyte[.gz]),"
        + " a folder, nor a PNG/JPEG file");
  }

  private List<Image> readIdx(Path imagesFile) throws IOException {
    Path lab = labels != null ? labels : IdxReader.siblingLabels(imagesFile);
    return IdxReader.read(imagesFile, lab, limit);
  }

  /** Options of an {@link ImageLoader}. */
  public static final class Builder {
    private int limit = Integer.MAX_VALUE;
    private Path labels;
    private int channels;
    private int height;
    private int width;

    private Builder() {}

    /**
     * @param limit the most images to load (&gt;= 1)
     * @return this
     * @throws IllegalArgumentException when {@code limit < 1}
     */
    public Builder limit(int limit) {
      if (limit < 1) {
        throw new IllegalArgumentException("limit must be >= 1 (images to load), got " + limit + "; leave it unset for all images");
      }
      this.limit = limit;
      return this;
    }

    /**
     * @param labels IDX labels file to use instead of the auto-detected sibling; null to auto-detect
     * @return this
     */
    public Builder labels(Path labels) {
      this.labels = labels;
      return this;
    }

    /**
     * @param channels target channel count: 1 (gray) or 3 (RGB); 0 keeps the first image's
     * @return this
     * @throws IllegalArgumentException for any other value
     */
    public Builder channels(int channels) {
      if (channels != 0 && channels != 1 && channels != 3) {
        throw new IllegalArgumentException("channels must be 1 (gray), 3 (RGB) or 0 (as the first image), got " + channels);
      }
      this.channels = channels;
      return this;
    }

    /**
     * @param height target height in pixels (&gt;= 1), or 0 to keep the first image's
     * @param width target width in pixels (&gt;= 1), or 0 to keep the first image's
     * @return this
     * @throws IllegalArgumentException when either is negative or only one is 0
     */
    public Builder size(int height, int width) {
      if (height < 0 || width < 0 || (height == 0) != (width == 0)) {
        throw new IllegalArgumentException("size must be two positive numbers (height, width) in pixels, or 0,0 for the"
            + " first image's size; got " + height + "x" + width);
      }
      this.height = height;
      this.width = width;
      return this;
    }

    /** @return the loader */
    public ImageLoader build() {
      return new ImageLoader(this);
    }
  }
}
