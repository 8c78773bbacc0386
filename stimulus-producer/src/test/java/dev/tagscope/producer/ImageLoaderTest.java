package dev.tagscope.producer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ImageLoaderTest {
  @TempDir Path dir;

  private void assertIdxContent(List<Image> images, int n, int h, int w, boolean labelled, String dataset) {
    assertEquals(n, images.size());
    for (int k = 0; k < n; k++) {
      Image img = images.get(k);
      assertEquals(dataset + "#" + k, img.id());
      assertEquals(1, img.channels());
      assertEquals(h, img.height());
      assertEquals(w, img.width());
      assertEquals(labelled ? Integer.valueOf((k * 3) % 10) : null, img.label());
      for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
          assertEquals(TestImages.pixel(k, y, x), img.pixel(0, y, x), "image " + k + " pixel " + y + "," + x);
        }
      }
    }
  }

  @Test
  void readsGzipImagesWithSiblingLabels() throws IOException {
    Path images = TestImages.write(dir.resolve("tiny-test-images-idx3-ubyte.gz"), TestImages.idxImages(5, 4, 6), true);
    TestImages.write(dir.resolve("tiny-test-labels-idx1-ubyte.gz"), TestImages.idxLabels(5), true);
    assertIdxContent(ImageLoader.builder().build().load(images), 5, 4, 6, true, "tiny-test");
  }

  @Test
  void readsRawImagesWithoutLabelsAndDetectsGzipByMagicNotName() throws IOException {
    Path raw = TestImages.write(dir.resolve("a-images-idx3-ubyte"), TestImages.idxImages(3, 2, 2), false);
    assertIdxContent(ImageLoader.builder().build().load(raw), 3, 2, 2, false, "a");
    // gzip content under a name without .gz
    Path sneaky = TestImages.write(dir.resolve("b-images-idx3-ubyte"), TestImages.idxImages(2, 3, 3), true);
    TestImages.write(dir.resolve("b-labels-idx1-ubyte"), TestImages.idxLabels(2), false);
    assertIdxContent(ImageLoader.builder().build().load(sneaky), 2, 3, 3, true, "b");
  }

  @Test
  void readsFolderWithOneIdxPairAndHonoursLimit() throws IOException {
    Path sub = Files.createDirectory(dir.resolve("ds"));
    TestImages.write(sub.resolve("t10k-images-idx3-ubyte"), TestImages.idxImages(7, 3, 2), false);
    TestImages.write(sub.resolve("t10k-labels-idx1-ubyte.gz"), TestImages.idxLabels(7), true);
    assertIdxContent(ImageLoader.builder().limit(4).build().load(sub), 4, 3, 2, true, "t10k");
  }

  @Test
  void refusesFolderWithSeveralIdxImageFiles() throws IOException {
    TestImages.write(dir.resolve("train-images-idx3-ubyte"), TestImages.idxImages(1, 2, 2), false);
    TestImages.write(dir.resolve("t10k-images-idx3-ubyte"), TestImages.idxImages(1, 2, 2), false);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ImageLoader.builder().build().load(dir));
    assertTrue(e.getMessage().contains("train-images-idx3-ubyte") && e.getMessage().contains("t10k-images-idx3-ubyte"), e.getMessage());
  }

  @Test
  void badMagicNamesFileOffsetAndExpectation() throws IOException {
    byte[] data = TestImages.idxImages(2, 2, 2);
    data[3] = 0x01; // claims 1 dimension: a labels file given as images
    Path f = TestImages.write(dir.resolve("x-images-idx3-ubyte"), data, false);
    CorruptImageException e = assertThrows(CorruptImageException.class, () -> ImageLoader.builder().build().load(f));
    assertEquals(f, e.file());
    assertEquals(0, e.offset());
    assertTrue(e.getMessage().contains("0x00000803") && e.getMessage().contains("0x00000801"), e.getMessage());
  }

  @Test
  void truncatedRawFileNamesOffset() throws IOException {
    byte[] data = TestImages.idxImages(3, 4, 4); // 16 + 48 bytes
    Path f = TestImages.write(dir.resolve("x-images-idx3-ubyte"), Arrays.copyOf(data, 16 + 40), false);
    CorruptImageException e = assertThrows(CorruptImageException.class, () -> ImageLoader.builder().build().load(f));
    assertEquals(56, e.offset());
    assertTrue(e.getMessage().contains("truncated") && e.getMessage().contains("64 bytes"), e.getMessage());
  }

  @Test
  void truncatedGzipFileNamesUncompressedOffsetAndImage() throws IOException {
    byte[] data = TestImages.idxImages(3, 4, 4);
    Path f = TestImages.write(dir.resolve("x-images-idx3-ubyte.gz"), Arrays.copyOf(data, 16 + 40), true);
    CorruptImageException e = assertThrows(CorruptImageException.class, () -> ImageLoader.builder().build().load(f));
    assertEquals(56, e.offset());
    assertTrue(e.getMessage().contains("image 2 of 3") && e.getMessage().contains("uncompressed"), e.getMessage());
  }

  @Test
  void brokenGzipStreamIsReportedAsCorrupt() throws IOException {
    Path good = TestImages.write(dir.resolve("g.gz"), TestImages.idxImages(20, 8, 8), true);
    byte[] gz = Files.readAllBytes(good);
    byte[] cut = Arrays.copyOf(gz, gz.length / 2); // gzip stream cut in the middle
    Path f = Files.write(dir.resolve("x-images-idx3-ubyte.gz"), cut);
    CorruptImageException e = assertThrows(CorruptImageException.class, () -> ImageLoader.builder().build().load(f));
    assertEquals(f, e.file());
    assertTrue(e.offset() > 16, "offset " + e.offset());
  }

  @Test
  void labelCountMismatchIsRefused() throws IOException {
    Path f = TestImages.write(dir.resolve("x-images-idx3-ubyte"), TestImages.idxImages(3, 2, 2), false);
    Path l = TestImages.write(dir.resolve("x-labels-idx1-ubyte"), TestImages.idxLabels(4), false);
    CorruptImageException e = assertThrows(CorruptImageException.class, () -> ImageLoader.builder().build().load(f));
    assertEquals(l, e.file());
    assertTrue(e.getMessage().contains("expected 3 labels"), e.getMessage());
  }

  @Test
  void trailingBytesInRawFileAreRefused() throws IOException {
    byte[] data = TestImages.idxImages(1, 2, 2);
    Path f = TestImages.write(dir.resolve("x-images-idx3-ubyte"), Arrays.copyOf(data, data.length + 3), false);
    CorruptImageException e = assertThrows(CorruptImageException.class, () -> ImageLoader.builder().build().load(f));
    assertEquals(data.length, e.offset());
  }

  private static void writePng(Path file, int type, int w, int h, int rgbOrGray) throws IOException {
    BufferedImage bi = new BufferedImage(w, h, type);
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        if (type == BufferedImage.TYPE_BYTE_GRAY) {
          bi.getRaster().setSample(x, y, 0, (rgbOrGray + x + 10 * y) & 0xff);
        } else {
          bi.setRGB(x, y, rgbOrGray);
        }
      }
    }
    Files.createDirectories(file.getParent());
    assertTrue(ImageIO.write(bi, "png", file.toFile()));
  }

  @Test
  void readsPngFolderSortedWithLabelsFromIntegerFolders() throws IOException {
    writePng(dir.resolve("7/b.png"), BufferedImage.TYPE_BYTE_GRAY, 5, 4, 100);
    writePng(dir.resolve("7/a.png"), BufferedImage.TYPE_BYTE_GRAY, 5, 4, 50);
    writePng(dir.resolve("cats/c.png"), BufferedImage.TYPE_BYTE_GRAY, 5, 4, 0);
    writePng(dir.resolve("12/z.PNG"), BufferedImage.TYPE_BYTE_GRAY, 5, 4, 1);
    Files.writeString(dir.resolve("7/notes.txt"), "not an image");
    List<Image> images = ImageLoader.builder().build().load(dir);
    assertEquals(List.of("12/z.PNG", "7/a.png", "7/b.png", "cats/c.png"), images.stream().map(Image::id).toList());
    assertEquals(Arrays.asList(12, 7, 7, null), images.stream().map(Image::label).toList());
    Image a = images.get(1);
    assertEquals(1, a.channels());
    assertEquals(4, a.height());
    assertEquals(5, a.width());
    assertEquals(50 + 3 + 10 * 2, a.pixel(0, 2, 3));
    assertEquals(2, ImageLoader.builder().limit(2).build().load(dir).size());
  }

  @Test
  void convertsLaterImagesToFirstImagesChannelsAndSize() throws IOException {
    writePng(dir.resolve("a.png"), BufferedImage.TYPE_INT_RGB, 4, 2, 0x102030);
    writePng(dir.resolve("b.png"), BufferedImage.TYPE_BYTE_GRAY, 8, 4, 0); // gray gradient, other size
    writePng(dir.resolve("c.png"), BufferedImage.TYPE_INT_RGB, 12, 6, 0x405060); // constant, larger
    List<Image> images = ImageLoader.builder().build().load(dir);
    for (Image img : images) {
      assertEquals(3, img.channels());
      assertEquals(2, img.height());
      assertEquals(4, img.width());
    }
    assertEquals(0x10, images.get(0).pixel(0, 1, 3));
    assertEquals(0x20, images.get(0).pixel(1, 1, 3));
    assertEquals(0x30, images.get(0).pixel(2, 0, 0));
    // gray replicated into R, G and B
    Image b = images.get(1);
    for (int y = 0; y < 2; y++) {
      for (int x = 0; x < 4; x++) {
        assertEquals(b.pixel(0, y, x), b.pixel(1, y, x));
        assertEquals(b.pixel(0, y, x), b.pixel(2, y, x));
      }
    }
    // a constant image stays constant everywhere, edges included, after bilinear resizing
    Image c = images.get(2);
    for (int y = 0; y < 2; y++) {
      for (int x = 0; x < 4; x++) {
        assertEquals(0x40, c.pixel(0, y, x));
        assertEquals(0x50, c.pixel(1, y, x));
        assertEquals(0x60, c.pixel(2, y, x));
      }
    }
  }

  @Test
  void configuredTargetShapeConvertsRgbToGrayLuma() throws IOException {
    writePng(dir.resolve("a.png"), BufferedImage.TYPE_INT_RGB, 3, 3, 0xC86432); // R=200 G=100 B=50
    List<Image> images = ImageLoader.builder().channels(1).size(6, 6).build().load(dir);
    Image a = images.get(0);
    assertEquals(1, a.channels());
    assertEquals(6, a.height());
    long luma = Math.round(0.299 * 200 + 0.587 * 100 + 0.114 * 50); // 124.2 -> 124
    for (byte p : a.pixels()) {
      assertEquals(luma, p & 0xff);
    }
  }

  @Test
  void bilinearUpscaleOfGradientIsMonotoneAndWithinRange() throws IOException {
    BufferedImage bi = new BufferedImage(2, 1, BufferedImage.TYPE_BYTE_GRAY);
    bi.getRaster().setSample(0, 0, 0, 0);
    bi.getRaster().setSample(1, 0, 0, 200);
    ImageIO.write(bi, "png", dir.resolve("g.png").toFile());
    Image g = ImageLoader.builder().size(1, 8).build().load(dir.resolve("g.png")).get(0);
    int prev = -1;
    for (int x = 0; x < 8; x++) {
      int v = g.pixel(0, 0, x);
      assertTrue(v >= prev && v <= 200, "x=" + x + " v=" + v);
      prev = v;
    }
    assertTrue(g.pixel(0, 0, 3) > 0 && g.pixel(0, 0, 3) < 200, "bilinear, not nearest: " + g.pixel(0, 0, 3));
  }

  @Test
  void readsJpegAsRgb() throws IOException {
    BufferedImage bi = new BufferedImage(16, 8, BufferedImage.TYPE_INT_RGB);
    for (int y = 0; y < 8; y++) {
      for (int x = 0; x < 16; x++) {
        bi.setRGB(x, y, 0x508CC8); // R=80 G=140 B=200
      }
    }
    Files.createDirectories(dir.resolve("3"));
    assertTrue(ImageIO.write(bi, "jpg", dir.resolve("3/photo.jpg").toFile()));
    Image img = ImageLoader.builder().build().load(dir).get(0);
    assertEquals("3/photo.jpg", img.id());
    assertEquals(3, img.label());
    assertEquals(3, img.channels());
    assertEquals(8, img.height());
    assertEquals(16, img.width());
    // JPEG is lossy, but a flat colour comes back within a few levels
    assertEquals(80, img.pixel(0, 4, 8), 4);
    assertEquals(140, img.pixel(1, 4, 8), 4);
    assertEquals(200, img.pixel(2, 4, 8), 4);
  }

  @Test
  void corruptPngNamesTheFile() throws IOException {
    writePng(dir.resolve("a.png"), BufferedImage.TYPE_BYTE_GRAY, 2, 2, 0);
    Path bad = Files.write(dir.resolve("b.png"), new byte[] {(byte) 0x89, 'P', 'N', 'G', 0, 1, 2, 3});
    CorruptImageException e = assertThrows(CorruptImageException.class, () -> ImageLoader.builder().build().load(dir));
    assertEquals(bad, e.file());
    assertTrue(e.getMessage().contains("b.png"), e.getMessage());
  }

  @Test
  void missingAndEmptySourcesAreRefused() throws IOException {
    assertThrows(java.nio.file.NoSuchFileException.class, () -> ImageLoader.builder().build().load(dir.resolve("nope")));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ImageLoader.builder().build().load(dir));
    assertTrue(e.getMessage().contains("holds no images"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> ImageLoader.builder().limit(0));
    assertThrows(IllegalArgumentException.class, () -> ImageLoader.builder().channels(2));
  }

  @Test
  void imageRefusesWrongPixelCount() {
    assertThrows(IllegalArgumentException.class, () -> new Image("x", null, 1, 2, 2, new byte[3]));
    Image ok = new Image("x", 1, 1, 2, 2, new byte[] {1, 2, 3, 4});
    assertArrayEquals(new byte[] {1, 2, 3, 4}, ok.pixels());
    assertNull(new Image("y", null, 1, 1, 1, new byte[1]).label());
  }

  @Test
  void aPngHeaderClaimingNineHundredMillionPixelsIsRefusedBeforeDecoding() throws IOException {
    // found by ImageFolderFuzzTest: javax.imageio allocated the whole picture the header claimed
    Path png = dir.resolve("huge.png");
    writePng(png, BufferedImage.TYPE_BYTE_GRAY, 2, 2, 0);
    byte[] b = Files.readAllBytes(png);
    java.nio.ByteBuffer.wrap(b).putInt(16, 30_000).putInt(20, 30_000); // IHDR width and height
    Files.write(png, b);
    try {
      CorruptImageException e = assertThrows(CorruptImageException.class, () -> ImageLoader.builder().build().load(png));
      assertTrue(e.getMessage().contains("huge.png") && e.getMessage().contains("claims 30000x30000 pixels"), e.getMessage());
    } catch (OutOfMemoryError e) {
      throw new AssertionError("the loader allocated the picture the header claims: " + e, e);
    }
  }

  @Test
  void aCutImageSaysWhatEndedIt() throws IOException {
    // found by ImageFolderFuzzTest: the message ended "can decode: null" (an EOFException has no message)
    Path bmp = Files.write(dir.resolve("cut.bmp"), new byte[] {'B', 'M'});
    CorruptImageException e = assertThrows(CorruptImageException.class, () -> ImageLoader.builder().build().load(bmp));
    assertTrue(e.getMessage().endsWith("can decode: java.io.EOFException"), e.getMessage());
  }

  @Test
  void aBmpWithAnEmbeddedImageIsRefusedBeforeItsSizeFieldIsTrusted() throws IOException {
    // found by ImageFolderFuzzTest: a 121-byte BMP saying "embedded JPEG of 1 GB" made javax.imageio allocate 1 GB
    BufferedImage bi = new BufferedImage(5, 4, BufferedImage.TYPE_3BYTE_BGR);
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
    assertTrue(ImageIO.write(bi, "bmp", out));
    byte[] b = out.toByteArray();
    java.nio.ByteBuffer.wrap(b).order(java.nio.ByteOrder.LITTLE_ENDIAN).putInt(30, 4).putInt(34, 0x4000_0000);
    Path bmp = Files.write(dir.resolve("embedded.bmp"), b);
    try {
      CorruptImageException e = assertThrows(CorruptImageException.class, () -> ImageLoader.builder().build().load(bmp));
      assertTrue(e.getMessage().contains("embedded.bmp") && e.getMessage().contains("embedded JPEG or PNG"), e.getMessage());
    } catch (OutOfMemoryError e) {
      throw new AssertionError("the loader allocated what the BMP's size field claims: " + e, e);
    }
  }
}
