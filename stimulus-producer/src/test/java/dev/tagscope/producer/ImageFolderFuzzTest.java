package dev.tagscope.producer;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.DictionaryFile;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.tagscope.schemas.fuzz.Fuzz;
import dev.tagscope.schemas.fuzz.FuzzInput;
import dev.tagscope.schemas.fuzz.FuzzReport;
import dev.tagscope.schemas.fuzz.Seeds;
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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Fuzzes {@link ImageLoader#load(Path)} over a folder of one image, the path by which a
 * stranger's PNG, JPEG, BMP and GIF files reach {@code javax.imageio}, with Jazzer: bytes grown
 * from small valid images written with {@link ImageIO} (gray, RGB, alpha, palette, 16-bit) and the
 * reproducers of the bugs fuzzing found, with the formats' markers, chunk names and 16- and 32-bit
 * sizes in the dictionary. The input's last byte picks the file's extension, so that any bytes
 * reach any reader. Each folder must load or be refused with {@link CorruptImageException} naming
 * the file, within {@link Fuzz#LIMIT}: a header that claims a picture of billions of pixels must
 * not make the loader allocate for them. (PGM is not among the formats: {@code javax.imageio} has
 * no reader for it and the loader does not list it.)
 *
 * <p>The suite runs the seed corpus; the {@code fuzz} profile fuzzes ({@code maxExecutions}).
 */
@ExtendWith(FuzzReport.class)
class ImageFolderFuzzTest {
  private static final Path DIR = Fuzz.scratch("tagscope-image-fuzz");
  private static final List<String> EXTENSIONS = List.of("png", "jpg", "bmp", "gif");

  @Test
  void seedCorpusIsCurrent() {
    Seeds.check(ImageFolderFuzzTest.class, "imageFolders", seeds(), false);
    Seeds.dictionary(ImageFolderFuzzTest.class, dictionary());
  }

  @DictionaryFile(resourcePath = "ImageFolderFuzzTest.dict")
  @FuzzTest(maxDuration = "", maxExecutions = 150_000)
  void imageFolders(FuzzedDataProvider data) {
    String extension = EXTENSIONS.get(data.consumeInt(0, EXTENSIONS.size() - 1));
    byte[] image = data.consumeRemainingAsBytes();
    Path file = DIR.resolve("image." + extension);
    Fuzz.check(new FuzzInput(file.getFileName().toString(), image), "ImageLoader.load ." + extension, () -> {
      try {
        Files.write(file, image);
        return ImageLoader.builder().build().load(DIR);
      } finally {
        Files.deleteIfExists(file);
      }
    }, m -> m.contains(file.toString()) && !m.endsWith(": null"), CorruptImageException.class);
  }

  static Map<String, byte[]> seeds() {
    Map<String, byte[]> out = new LinkedHashMap<>();
    for (String format : List.of("png", "jpg", "bmp", "gif")) {
      out.put(format + "-gray-6x5", seed(format, BufferedImage.TYPE_BYTE_GRAY, 6, 5));
      out.put(format + "-rgb-5x4", seed(format, BufferedImage.TYPE_3BYTE_BGR, 5, 4));
    }
    out.put("png-argb-4x3", seed("png", BufferedImage.TYPE_INT_ARGB, 4, 3));
    out.put("png-palette-4x4", seed("png", BufferedImage.TYPE_BYTE_INDEXED, 4, 4));
    out.put("png-16bit-gray-3x3", seed("png", BufferedImage.TYPE_USHORT_GRAY, 3, 3));
    out.put("png-named-jpg", Seeds.withChoices(image("png", BufferedImage.TYPE_BYTE_GRAY, 2, 2), EXTENSIONS.indexOf("jpg")));
    // reproducers: a PNG header claiming 30000x30000 pixels; a cut BMP (the message ended "null");
    // a BMP saying "embedded JPEG of 1 GB"
    byte[] huge = image("png", BufferedImage.TYPE_BYTE_GRAY, 2, 2);
    ByteBuffer.wrap(huge).putInt(16, 30_000).putInt(20, 30_000);
    out.put("repro-png-30000x30000", Seeds.withChoices(huge, EXTENSIONS.indexOf("png")));
    out.put("repro-cut-bmp", Seeds.withChoices(new byte[] {'B', 'M'}, EXTENSIONS.indexOf("bmp")));
    byte[] embedded = image("bmp", BufferedImage.TYPE_3BYTE_BGR, 5, 4);
    ByteBuffer.wrap(embedded).order(ByteOrder.LITTLE_ENDIAN).putInt(30, 4).putInt(34, 0x4000_0000);
    out.put("repro-bmp-embedded-jpeg-1GB", Seeds.withChoices(embedded, EXTENSIONS.indexOf("bmp")));
    return out;
  }

  static List<byte[]> dictionary() {
    List<byte[]> tokens = new ArrayList<>(Seeds.hugeInt32(ByteOrder.BIG_ENDIAN));
    tokens.addAll(Seeds.hugeInt32(ByteOrder.LITTLE_ENDIAN));
    for (String chunk : List.of("IHDR", "IDAT", "IEND", "PLTE", "tRNS", "GIF89a", "BM")) {
      tokens.add(chunk.getBytes(StandardCharsets.US_ASCII));
    }
    for (int marker : new int[] {0xFFD8, 0xFFC0, 0xFFC2, 0xFFC4, 0xFFDA, 0xFFDB, 0xFFD9, 0xFFFF, 0x7FFF, 0x0000}) {
      tokens.add(new byte[] {(byte) (marker >> 8), (byte) marker});
    }
    return tokens;
  }

  private static byte[] seed(String format, int type, int w, int h) {
    return Seeds.withChoices(image(format, type, w, h), EXTENSIONS.indexOf(format));
  }

  private static byte[] image(String format, int type, int w, int h) {
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
    return out.toByteArray();
  }
}
