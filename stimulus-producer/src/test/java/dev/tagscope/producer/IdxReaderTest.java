package dev.tagscope.producer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.tagscope.producer.internal.IdxReader;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * IDX length checks (the data must be exactly as long as the header says, raw or gzip, whatever
 * the limit) and that the file is closed when opening it as IDX fails. Files are crafted byte by
 * byte with {@link TestImages}; the sizes in the assertions are worked out here from the IDX
 * layout (16-byte images header, 8-byte labels header, one byte per pixel or label).
 */
class IdxReaderTest {
  @TempDir Path dir;

  private static byte[] padded(byte[] data, int extra) {
    byte[] out = Arrays.copyOf(data, data.length + extra);
    Arrays.fill(out, data.length, out.length, (byte) 0x5A);
    return out;
  }

  private static void assertMessageHas(CorruptImageException e, String... parts) {
    for (String p : parts) {
      assertTrue(e.getMessage().contains(p), "expected '" + p + "' in: " + e.getMessage());
    }
  }

  @Test
  void gzipWithTrailingBytesIsRefusedNamingFileAndSizes() throws IOException {
    // 2 images of 3x3: 16 + 18 = 34 bytes, then 5 more
    Path f = TestImages.write(dir.resolve("pad-images-idx3-ubyte.gz"), padded(TestImages.idxImages(2, 3, 3), 5), true);
    CorruptImageException e = assertThrows(CorruptImageException.class, () -> IdxReader.read(f, null, Integer.MAX_VALUE));
    assertEquals(f, e.file());
    assertEquals(34, e.offset());
    assertMessageHas(e, f.toString(), "after 34 bytes (uncompressed)", "found 5 more bytes", "39 in all", "2 images of 3x3");
  }

  @Test
  void gzipWithTrailingBytesIsRefusedEvenWhenTheLimitReadsFewerImages() throws IOException {
    // 4 images of 2x2: 16 + 16 = 32 bytes, then 1 more; only the first image is asked for
    Path f = TestImages.write(dir.resolve("pad-images-idx3-ubyte.gz"), padded(TestImages.idxImages(4, 2, 2), 1), true);
    CorruptImageException e = assertThrows(CorruptImageException.class, () -> IdxReader.read(f, null, 1));
    assertEquals(32, e.offset());
    assertMessageHas(e, "after 32 bytes", "found 1 more bytes", "33 in all");
  }

  @Test
  void gzipLabelsWithTrailingBytesAreRefusedNamingTheLabelsFile() throws IOException {
    Path images = TestImages.write(dir.resolve("l-images-idx3-ubyte.gz"), TestImages.idxImages(3, 2, 2), true);
    // 3 labels: 8 + 3 = 11 bytes, then 2 more
    Path labels = TestImages.write(dir.resolve("l-labels-idx1-ubyte.gz"), padded(TestImages.idxLabels(3), 2), true);
    CorruptImageException e = assertThrows(CorruptImageException.class, () -> IdxReader.read(images, labels, 2));
    assertEquals(labels, e.file());
    assertEquals(11, e.offset());
    assertMessageHas(e, labels.toString(), "after 11 bytes", "found 2 more bytes", "3 labels");
  }

  @Test
  void gzipTruncatedPastTheLimitIsRefusedWithExpectedAndActualSizes() throws IOException {
    // 3 images of 4x4 should be 16 + 48 = 64 bytes; the file holds 56, so image 0 is whole
    byte[] data = TestImages.idxImages(3, 4, 4);
    Path f = TestImages.write(dir.resolve("cut-images-idx3-ubyte.gz"), Arrays.copyOf(data, 56), true);
    CorruptImageException e = assertThrows(CorruptImageException.class, () -> IdxReader.read(f, null, 1));
    assertEquals(f, e.file());
    assertEquals(56, e.offset());
    assertMessageHas(e, f.toString(), "truncated", "expected 64 bytes (uncompressed)", "3 images of 4x4", "ends after 56 bytes");
  }

  @Test
  void rawTruncatedFileNamesExpectedAndActualSizes() throws IOException {
    byte[] data = TestImages.idxImages(3, 4, 4);
    Path f = TestImages.write(dir.resolve("cut-images-idx3-ubyte"), Arrays.copyOf(data, 50), false);
    CorruptImageException e = assertThrows(CorruptImageException.class, () -> IdxReader.read(f, null, 1));
    assertEquals(f, e.file());
    assertEquals(50, e.offset());
    assertMessageHas(e, f.toString(), "truncated", "expected 64 bytes", "ends after 50 bytes");
  }

  @Test
  void fileCutInsideTheHeaderSaysSo() throws IOException {
    // the third dimension size (bytes 12..15) is cut after 2 of its 4 bytes
    Path f = TestImages.write(dir.resolve("hdr-images-idx3-ubyte"), Arrays.copyOf(TestImages.idxImages(1, 2, 2), 14), false);
    CorruptImageException e = assertThrows(CorruptImageException.class, () -> IdxReader.read(f, null, 1));
    assertEquals(f, e.file());
    assertEquals(14, e.offset());
    assertMessageHas(e, "inside the IDX header", "dimension 2", "ends after 14 bytes");
  }

  @Test
  void exactGzipFileReadWithASmallerLimitGivesTheFirstImages() throws IOException {
    // the tail past the limit is decompressed only to check the length; it must not disturb the result
    Path f = TestImages.write(dir.resolve("ok-images-idx3-ubyte.gz"), TestImages.idxImages(6, 3, 5), true);
    Path l = TestImages.write(dir.resolve("ok-labels-idx1-ubyte.gz"), TestImages.idxLabels(6), true);
    List<Image> images = IdxReader.read(f, l, 2);
    assertEquals(2, images.size());
    for (int k = 0; k < 2; k++) {
      assertEquals("ok#" + k, images.get(k).id());
      assertEquals(Integer.valueOf(k * 3 % 10), images.get(k).label());
      for (int y = 0; y < 3; y++) {
        for (int x = 0; x < 5; x++) {
          assertEquals((k * 31 + y * 7 + x * 3) % 256, images.get(k).pixel(0, y, x), "image " + k + " pixel " + y + "," + x);
        }
      }
    }
  }

  private static List<Path> openFilesUnder(Path p) throws IOException {
    List<Path> out = new ArrayList<>();
    try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
      for (Path fd : (Iterable<Path>) fds::iterator) {
        try {
          Path target = Files.readSymbolicLink(fd);
          if (target.startsWith(p)) {
            out.add(target);
          }
        } catch (IOException gone) {
          // the descriptor of the listing itself, or one closed meanwhile
        }
      }
    }
    return out;
  }

  @Test
  void fileIsClosedWhenItsFirstBytesCannotBeRead() throws IOException {
    // Linux opens a directory for reading and fails on the first read: the failure is where
    // the gzip magic is read, before anything else could close the stream.
    assumeTrue(Files.isDirectory(Path.of("/proc/self/fd")), "needs /proc/self/fd to list open files");
    Path notAFile = Files.createDirectory(dir.resolve("x-images-idx3-ubyte"));
    assertThrows(IOException.class, () -> IdxReader.read(notAFile, null, 1));
    assertEquals(List.of(), openFilesUnder(dir.toRealPath()), "file descriptors left open");
  }

  @Test
  void fileIsClosedWhenTheGzipHeaderIsBroken() throws IOException {
    assumeTrue(Files.isDirectory(Path.of("/proc/self/fd")), "needs /proc/self/fd to list open files");
    // gzip magic, then compression method 0x07 where gzip requires 8 (deflate)
    Path f = Files.write(dir.resolve("bad-images-idx3-ubyte.gz"), new byte[] {0x1f, (byte) 0x8b, 0x07, 0, 0, 0, 0, 0, 0, 0});
    CorruptImageException e = assertThrows(CorruptImageException.class, () -> IdxReader.read(f, null, 1));
    assertEquals(f, e.file());
    assertMessageHas(e, "gzip header is broken");
    assertEquals(List.of(), openFilesUnder(dir.toRealPath()), "file descriptors left open");
  }

  @Test
  void aGzipHeaderClaimingTwoHundredMillionImagesIsRefusedWithoutAllocatingForThem() throws IOException {
    // found by IdxFuzzTest: the image list was sized by the header's count, 1 GB for this 17-byte file
    byte[] data = TestImages.idxImages(1, 1, 1);
    data[4] = 0x10; // count 0x10000001
    Path f = TestImages.write(dir.resolve("many-images-idx3-ubyte.gz"), data, true);
    try {
      CorruptImageException e = assertThrows(CorruptImageException.class, () -> IdxReader.read(f, null, Integer.MAX_VALUE));
      assertMessageHas(e, f.toString(), "file is truncated: expected 268435473 bytes (uncompressed)", "after 17 bytes");
    } catch (OutOfMemoryError e) {
      throw new AssertionError("the reader allocated for the images the header claims: " + e, e);
    }
  }
}
