package dev.tagscope.producer;

import dev.tagscope.producer.internal.IdxReader;
import dev.tagscope.schemas.fuzz.Campaign;
import dev.tagscope.schemas.fuzz.Fuzz;
import dev.tagscope.schemas.fuzz.FuzzInput;
import dev.tagscope.schemas.fuzz.Mutations;
import dev.tagscope.schemas.fuzz.Mutations.Seed;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.GZIPOutputStream;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;

/**
 * Fuzzes {@link IdxReader#read(Path, Path, int)}, the reader of IDX image and label files a user
 * points the producer at: valid files mutated byte by byte (magic numbers, dimension sizes and
 * counts up to 2<sup>31</sup> - 1 among the edits), then stored raw or gzip-compressed, gzip
 * files mutated after compression, and random bytes; with no labels, valid labels or mutated
 * ones, and limits of 1, 2 and all. Each pair must be read or refused with
 * {@link CorruptImageException} (an {@link IOException}) naming the file, within
 * {@link Fuzz#LIMIT}: a header that claims two billion images must not make the reader
 * allocate for them.
 *
 * <p>The suite tries a few hundred inputs; {@code -Pfuzz} runs the {@link Campaign} count.
 */
class IdxFuzzTest {
  private static final Path DIR = Fuzz.scratch("tagscope-idx-fuzz");
  private static final Path IMAGES = DIR.resolve("fuzz-images-idx3-ubyte");
  private static final Path LABELS = DIR.resolve("fuzz-labels-idx1-ubyte");

  /**
   * One images file and maybe a labels file.
   *
   * @param labels null for no labels file
   */
  record Pair(FuzzInput images, boolean gzipImages, FuzzInput labels, boolean gzipLabels, int limit) {
    @Override
    public String toString() {
      return "images" + (gzipImages ? " (gzipped) " : " ") + images + ", labels "
          + (labels == null ? "none" : (gzipLabels ? "(gzipped) " : "") + labels) + ", limit " + limit;
    }
  }

  @Property(tries = 500)
  @Campaign(tries = 150_000)
  void idxFiles(@ForAll("pairs") Pair p) {
    Fuzz.check(p, "IdxReader.read", () -> {
      Files.write(IMAGES, p.gzipImages() ? gzip(p.images().bytes()) : p.images().bytes());
      if (p.labels() != null) {
        Files.write(LABELS, p.gzipLabels() ? gzip(p.labels().bytes()) : p.labels().bytes());
      }
      return IdxReader.read(IMAGES, p.labels() == null ? null : LABELS, p.limit());
    }, m -> m.contains(IMAGES.toString()) || m.contains(LABELS.toString()), IOException.class);
  }

  @Provide
  Arbitrary<Pair> pairs() {
    List<Seed> images = List.of(new Seed("3 images 4x5", TestImages.idxImages(3, 4, 5)),
        new Seed("1 image 1x1", TestImages.idxImages(1, 1, 1)), new Seed("2 images 28x28", TestImages.idxImages(2, 28, 28)));
    List<Seed> gzipped = images.stream().map(s -> new Seed(s.name() + " gzipped", gzip(s.bytes()))).toList();
    List<Seed> labels = List.of(new Seed("3 labels", TestImages.idxLabels(3)), new Seed("1 label", TestImages.idxLabels(1)),
        new Seed("2 labels", TestImages.idxLabels(2)));
    List<byte[]> dictionary = new ArrayList<>(Mutations.hugeInt32BigEndian());
    dictionary.addAll(List.of(new byte[] {0, 0, 8, 3}, new byte[] {0, 0, 8, 1}, new byte[] {0, 0, 9, 3},
        new byte[] {0x1f, (byte) 0x8b}, new byte[] {0, 0, 0, 0}, new byte[] {0, 0, 0, 1}));
    Arbitrary<FuzzInput> imageFiles = Arbitraries.frequencyOf(
        Tuple.of(6, Mutations.of(images, dictionary)),
        Tuple.of(2, Mutations.of(gzipped, dictionary)),
        Tuple.of(1, Mutations.randomAfter("random", new byte[0], 64)));
    Arbitrary<FuzzInput> labelFiles = Arbitraries.frequencyOf(
        Tuple.of(2, Arbitraries.just((FuzzInput) null)),
        Tuple.of(2, Arbitraries.of(labels).map(s -> new FuzzInput(s.name(), s.bytes()))),
        Tuple.of(2, Mutations.of(labels, dictionary)));
    return Combinators.combine(imageFiles, Arbitraries.of(false, true), labelFiles, Arbitraries.of(false, true),
        Arbitraries.of(1, 2, Integer.MAX_VALUE)).as(Pair::new);
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
