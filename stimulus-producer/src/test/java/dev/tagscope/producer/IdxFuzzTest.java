package dev.tagscope.producer;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.DictionaryFile;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.tagscope.producer.internal.IdxReader;
import dev.tagscope.schemas.fuzz.Fuzz;
import dev.tagscope.schemas.fuzz.FuzzInput;
import dev.tagscope.schemas.fuzz.FuzzReport;
import dev.tagscope.schemas.fuzz.Seeds;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Fuzzes {@link IdxReader#read(Path, Path, int)}, the reader of IDX image and label files a user
 * points the producer at, with Jazzer. One input is an images file and maybe a labels file, grown
 * from valid pairs (raw and gzip-compressed) and the reproducers of the bugs fuzzing found, with
 * magic numbers and counts up to 2<sup>31</sup> - 1 in the dictionary. Its last byte says whether
 * to gzip each file before the reader sees it, whether there are labels and the limit (1, 2 or
 * all); the two bytes before it, how many of the rest are the images file (see {@link #seed}).
 * Each pair must be read or refused with {@link CorruptImageException} (an {@link IOException})
 * naming the file, within {@link Fuzz#LIMIT}: a header that claims two billion images must not
 * make the reader allocate for them.
 *
 * <p>The suite runs the seed corpus; the {@code fuzz} profile fuzzes ({@code maxExecutions}).
 */
@ExtendWith(FuzzReport.class)
class IdxFuzzTest {
  private static final Path DIR = Fuzz.scratch("tagscope-idx-fuzz");
  private static final Path IMAGES = DIR.resolve("fuzz-images-idx3-ubyte");
  private static final Path LABELS = DIR.resolve("fuzz-labels-idx1-ubyte");
  private static final int GZIP_IMAGES = 1;
  private static final int GZIP_LABELS = 2;
  private static final int HAS_LABELS = 4;
  private static final int LIMIT_2 = 8;
  private static final int LIMIT_ALL = 16;

  @Test
  void seedCorpusIsCurrent() {
    Seeds.check(IdxFuzzTest.class, "idxFiles", seeds(), false);
    Seeds.dictionary(IdxFuzzTest.class, dictionary());
  }

  @DictionaryFile(resourcePath = "IdxFuzzTest.dict")
  @FuzzTest(maxDuration = "", maxExecutions = 150_000)
  void idxFiles(FuzzedDataProvider data) {
    int flags = data.consumeInt(0, 255);
    byte[] images = data.consumeBytes(data.consumeInt(0, 65_535));
    byte[] labels = (flags & HAS_LABELS) != 0 ? data.consumeRemainingAsBytes() : null;
    int limit = (flags & LIMIT_ALL) != 0 ? Integer.MAX_VALUE : (flags & LIMIT_2) != 0 ? 2 : 1;
    FuzzInput shown = new FuzzInput("images" + ((flags & GZIP_IMAGES) != 0 ? " (to gzip)" : "")
        + (labels == null ? ", no labels" : ", labels" + ((flags & GZIP_LABELS) != 0 ? " (to gzip) " : " ")
        + new FuzzInput("", labels).hex() + ",") + " limit " + limit, images);
    Fuzz.check(shown, "IdxReader.read", () -> {
      Files.write(IMAGES, (flags & GZIP_IMAGES) != 0 ? gzip(images) : images);
      if (labels != null) {
        Files.write(LABELS, (flags & GZIP_LABELS) != 0 ? gzip(labels) : labels);
      }
      return IdxReader.read(IMAGES, labels == null ? null : LABELS, limit);
    }, m -> m.contains(IMAGES.toString()) || m.contains(LABELS.toString()), IOException.class);
  }

  /** An input of {@link #idxFiles}: the two files, then their length and the flags as its last bytes. */
  static byte[] seed(byte[] images, byte[] labels, int flags) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write(images, 0, images.length);
    if (labels != null) {
      out.write(labels, 0, labels.length);
    }
    return Seeds.withChoices(out.toByteArray(), flags | (labels == null ? 0 : HAS_LABELS), images.length >> 8, images.length & 0xff);
  }

  static Map<String, byte[]> seeds() {
    Map<String, byte[]> out = new LinkedHashMap<>();
    byte[] three = TestImages.idxImages(3, 4, 5);
    byte[] one = TestImages.idxImages(1, 1, 1);
    byte[] two = TestImages.idxImages(2, 28, 28);
    out.put("3-images-4x5", seed(three, null, LIMIT_ALL));
    out.put("3-images-4x5-3-labels", seed(three, TestImages.idxLabels(3), LIMIT_ALL));
    out.put("3-images-4x5-gzipped-limit-2", seed(three, TestImages.idxLabels(3), GZIP_IMAGES | GZIP_LABELS | LIMIT_2));
    out.put("1-image-1x1-limit-1", seed(one, TestImages.idxLabels(1), 0));
    out.put("2-images-28x28-gzipped", seed(two, TestImages.idxLabels(2), GZIP_IMAGES | LIMIT_ALL));
    out.put("pre-gzipped-3-images", seed(gzip(three), gzip(TestImages.idxLabels(3)), LIMIT_ALL));
    out.put("2-labels-for-3-images", seed(three, TestImages.idxLabels(2), LIMIT_ALL));
    // reproducer: the image list was sized by the header's count, 1 GB for this 17-byte file
    byte[] many = TestImages.idxImages(1, 1, 1);
    many[4] = 0x10;
    out.put("repro-gzip-count-268435457", seed(many, null, GZIP_IMAGES | LIMIT_ALL));
    return out;
  }

  static List<byte[]> dictionary() {
    List<byte[]> tokens = new ArrayList<>(Seeds.hugeInt32(ByteOrder.BIG_ENDIAN));
    tokens.addAll(List.of(new byte[] {0, 0, 8, 3}, new byte[] {0, 0, 8, 1}, new byte[] {0, 0, 9, 3},
        new byte[] {0x1f, (byte) 0x8b}, new byte[] {0, 0, 0, 0}, new byte[] {0, 0, 0, 1}));
    return tokens;
  }

  private static byte[] gzip(byte[] data) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
      gz.write(data);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toByteArray();
  }
}
