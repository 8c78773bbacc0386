package dev.tagscope.producer;

import dev.tagscope.schemas.fuzz.Campaign;
import dev.tagscope.schemas.fuzz.Fuzz;
import dev.tagscope.schemas.fuzz.FuzzInput;
import dev.tagscope.schemas.fuzz.Mutations;
import dev.tagscope.schemas.fuzz.Mutations.Seed;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import javax.imageio.ImageIO;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;

/**
 * Fuzzes {@link ImageLoader#load(Path)} over a folder of images, the path by which a stranger's
 * PNG, JPEG, BMP and GIF files reach {@code javax.imageio}: small valid images written with
 * {@link ImageIO} (gray, RGB, alpha, palette), mutated byte by byte with the formats' markers,
 * chunk names and 16- and 32-bit sizes among the edits, under each of the four extensions. Each
 * folder must load or be refused with {@link CorruptImageException} naming the file, within
 * {@link Fuzz#LIMIT}: a header that claims a picture of billions of pixels must not make the
 * loader allocate for them. (PGM is not among the formats: {@code javax.imageio} has no reader
 * for it and the loader does not list it.)
 *
 * <p>The suite tries a few hundred inputs; {@code -Pfuzz} runs the {@link Campaign} count.
 */
class ImageFolderFuzzTest {
  private static final Path DIR = Fuzz.scratch("tagscope-image-fuzz");

  /** One image file of a folder. */
  record Folder(String extension, FuzzInput image) {
    @Override
    public String toString() {
      return "image." + extension + ": " + image;
    }
  }

  @Property(tries = 150)
  @Campaign(tries = 150_000)
  void imageFolders(@ForAll("folders") Folder f) {
    Path file = DIR.resolve("image." + f.extension());
    Fuzz.check(f, "ImageLoader.load " + f.image().how().split(" ")[0], () -> {
      try {
        Files.write(file, f.image().bytes());
        return ImageLoader.builder().build().load(DIR);
      } finally {
        Files.deleteIfExists(file);
      }
    }, m -> m.contains(file.toString()) && !m.endsWith(": null"), CorruptImageException.class);
  }

  @Provide
  Arbitrary<Folder> folders() {
    List<Seed> seeds = new ArrayList<>();
    for (String format : List.of("png", "jpg", "bmp", "gif")) {
      seeds.add(seed(format, BufferedImage.TYPE_BYTE_GRAY, 6, 5));
      seeds.add(seed(format, BufferedImage.TYPE_3BYTE_BGR, 5, 4));
    }
    seeds.add(seed("png", BufferedImage.TYPE_INT_ARGB, 4, 3));
    seeds.add(seed("png", BufferedImage.TYPE_BYTE_INDEXED, 4, 4));
    seeds.add(seed("png", BufferedImage.TYPE_USHORT_GRAY, 3, 3));
    List<byte[]> dictionary = new ArrayList<>(Mutations.hugeInt32BigEndian());
    Mutations.hugeInt32BigEndian().forEach(b -> dictionary.add(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN)
        .putInt(ByteBuffer.wrap(b).getInt()).array()));
    for (String chunk : List.of("IHDR", "IDAT", "IEND", "PLTE", "tRNS", "GIF89a", "BM")) {
      dictionary.add(chunk.getBytes(StandardCharsets.US_ASCII));
    }
    for (int marker : new int[] {0xFFD8, 0xFFC0, 0xFFC2, 0xFFC4, 0xFFDA, 0xFFDB, 0xFFD9, 0xFFFF, 0x7FFF, 0x0000}) {
      dictionary.add(new byte[] {(byte) (marker >> 8), (byte) marker});
    }
    Arbitrary<FuzzInput> images = Arbitraries.frequencyOf(
        Tuple.of(8, Mutations.of(seeds, dictionary)),
        Tuple.of(1, Mutations.randomAfter("random", new byte[0], 64)));
    return Combinators.combine(Arbitraries.of("png", "jpg", "bmp", "gif"), images).as(Folder::new);
  }

  private static Seed seed(String format, int type, int w, int h) {
    BufferedImage bi = new BufferedImage(w, h, type);
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        bi.setRGB(x, y, 0xff000000 | (x * 40) << 16 | (y * 50) << 8 | (x + y) * 20);
      }
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try {
      if (!ImageIO.write(bi, format, out)) {
        throw new IllegalStateException("no " + format + " writer for image type " + type);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return new Seed(format + " type " + type + " " + w + "x" + h, out.toByteArray());
  }
}
