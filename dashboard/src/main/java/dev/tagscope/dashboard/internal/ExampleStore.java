package dev.tagscope.dashboard.internal;

import dev.tagscope.schemas.FilterExamples;
import dev.tagscope.schemas.ProbeImage;
import dev.tagscope.schemas.TopExample;
import dev.tagscope.schemas.TopExamples;
import dev.tagscope.schemas.Topics;
import java.awt.image.BufferedImage;
import java.awt.image.WritableRaster;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import javax.imageio.ImageIO;

/**
 * The top examples of each layer (the compacted {@code tagscope.top-examples}: the latest
 * {@link TopExamples} per model, version and layer) and the probe images they show
 * ({@code tagscope.probe-images}, kept 30 days), with their labels.
 *
 * <p>Memory is bounded. A probe image is written once, before its probe's first frame, so it
 * usually arrives before any top example names it; the store keeps it then, but only within a
 * budget: every image that a held {@code TopExamples} names is kept (at most k x filters per
 * layer), and of the images no one names, the most recently arrived ones up to
 * {@code unreferencedBytes} of pixels (the oldest go first). An image dropped that way and named
 * later is shown without its picture ({@code imageUrl} null), until its probe publishes it again.
 * A record with more than {@value #MAX_FILTERS} filters or {@value #MAX_EXAMPLES} examples per filter
 * (the spectral stream keeps at most 64) is refused, so one record cannot make the store hold more
 * than {@value #MAX_FILTERS} x {@value #MAX_EXAMPLES} images for its layer.
 *
 * <p>Thread-safe: one writer (the reader thread), many readers; every method holds the store's lock
 * briefly.
 */
final class ExampleStore {
  /** Pixel bytes of unreferenced probe images kept by default: 32 MiB (42,000 Fashion-MNIST images, 220 of 3x224x224). */
  static final long DEFAULT_UNREFERENCED_BYTES = 32L << 20;
  /** Most filters a held record may list. */
  static final int MAX_FILTERS = 4096;
  /** Most examples per filter a held record may list: the spectral stream's largest k. */
  static final int MAX_EXAMPLES = 64;
  /** Largest side of a probe image taken in, pixels (as the producer's image readers allow). */
  static final int MAX_SIDE = 4096;

  private final long unreferencedBytes;
  private final Map<LayerId, TopExamples> examples = new HashMap<>();
  /** Importance key each held id last came under, so a tombstone (key only) can remove it. */
  private final Map<String, LayerId> examplesKeys = new HashMap<>();
  private final Map<String, ProbeImage> images = new HashMap<>();
  /** probeId/imageId -> how many held top-example entries name it. */
  private final Map<String, Integer> references = new HashMap<>();
  /** Unreferenced images held, oldest first, with their pixel bytes. */
  private final LinkedHashMap<String, Integer> unreferenced = new LinkedHashMap<>();
  private long unreferencedHeld;

  /** @param unreferencedBytes pixel bytes of images no top example names that are kept (&gt;= 0) */
  ExampleStore(long unreferencedBytes) {
    if (unreferencedBytes < 0) {
      throw new IllegalArgumentException("unreferencedBytes must be >= 0, got " + unreferencedBytes);
    }
    this.unreferencedBytes = unreferencedBytes;
  }

  /**
   * Takes one record of {@code tagscope.top-examples}; the latest per model, version and layer wins.
   *
   * @param key the record key ({@link Topics#importanceKey})
   * @param value the examples, or null for a tombstone
   * @return the layer changed, or empty for a tombstone of a key never held
   * @throws IllegalArgumentException when the record names no model or layer, lists a filter twice, or
   *     lists more than {@value #MAX_FILTERS} filters or {@value #MAX_EXAMPLES} examples for one
   */
  synchronized Optional<LayerId> acceptTopExamples(String key, TopExamples value) {
    if (value == null) {
      LayerId gone = key == null ? null : examplesKeys.remove(key);
      if (gone == null) {
        return Optional.empty();
      }
      replace(gone, null);
      return Optional.of(gone);
    }
    LayerId id = LayerId.of(value.getModel(), value.getModelVersion(), value.getLayer(), "top-examples");
    if (value.getFilters().size() > MAX_FILTERS) {
      throw new IllegalArgumentException("top examples of " + Topics.importanceKey(id.model(), id.version(), id.layer())
          + " list " + value.getFilters().size() + " filters, more than the " + MAX_FILTERS + " the dashboard holds");
    }
    java.util.Set<Integer> seen = new java.util.HashSet<>();
    for (FilterExamples f : value.getFilters()) {
      if (f.getExamples().size() > MAX_EXAMPLES) {
        throw new IllegalArgumentException("top examples of " + Topics.importanceKey(id.model(), id.version(), id.layer())
            + " list " + f.getExamples().size() + " examples for filter " + f.getFilter() + ", more than the " + MAX_EXAMPLES
            + " the spectral stream keeps");
      }
      if (!seen.add(f.getFilter())) {
        throw new IllegalArgumentException("top examples of " + Topics.importanceKey(id.model(), id.version(), id.layer())
            + " list filter " + f.getFilter() + " twice");
      }
    }
    if (key != null) {
      examplesKeys.put(key, id);
    }
    replace(id, value);
    return Optional.of(id);
  }

  /** Swaps the held examples of {@code id}, moving the images they name in and out of the budget. */
  private void replace(LayerId id, TopExamples value) {
    if (value != null) {
      forEachImage(value, k -> {
        if (references.merge(k, 1, Integer::sum) == 1) {
          Integer bytes = unreferenced.remove(k);
          if (bytes != null) {
            unreferencedHeld -= bytes;
          }
        }
      });
    }
    TopExamples old = value == null ? examples.remove(id) : examples.put(id, value);
    if (old != null) {
      forEachImage(old, k -> {
        if (references.merge(k, -1, Integer::sum) == 0) {
          references.remove(k);
          ProbeImage img = images.get(k);
          if (img != null) {
            markUnreferenced(k, img);
          }
        }
      });
    }
    trim();
  }

  private static void forEachImage(TopExamples t, java.util.function.Consumer<String> action) {
    for (FilterExamples f : t.getFilters()) {
      for (TopExample e : f.getExamples()) {
        action.accept(Topics.probeImageKey(e.getProbeId(), e.getImageId()));
      }
    }
  }

  /**
   * Takes one record of {@code tagscope.probe-images}.
   *
   * @param key the record key ({@link Topics#probeImageKey})
   * @param value the image, or null for a tombstone (the image is forgotten)
   * @throws IllegalArgumentException when the image is not 1 (grey) or 3 (RGB) channels of at most
   *     {@value #MAX_SIDE} x {@value #MAX_SIDE} pixels, or its pixel count is not {@code C*H*W}
   */
  synchronized void acceptProbeImage(String key, ProbeImage value) {
    if (value == null) {
      if (key != null && images.remove(key) != null) {
        Integer bytes = unreferenced.remove(key);
        if (bytes != null) {
          unreferencedHeld -= bytes;
        }
      }
      return;
    }
    int c = value.getChannels();
    int h = value.getHeight();
    int w = value.getWidth();
    if (c != 1 && c != 3) {
      throw new IllegalArgumentException("probe image " + value.getImageId() + " has " + c + " channels; 1 (grey) or 3 (RGB) can be shown");
    }
    if (h < 1 || w < 1 || h > MAX_SIDE || w > MAX_SIDE) {
      throw new IllegalArgumentException("probe image " + value.getImageId() + " is " + h + "x" + w + " pixels; 1.." + MAX_SIDE + " per side");
    }
    if (value.getPixels().remaining() != c * h * w) {
      throw new IllegalArgumentException("probe image " + value.getImageId() + " has " + value.getPixels().remaining()
          + " pixel bytes for C*H*W = " + c + "*" + h + "*" + w);
    }
    String k = Topics.probeImageKey(value.getProbeId(), value.getImageId());
    ProbeImage old = images.put(k, value);
    if (old != null) {
      Integer bytes = unreferenced.remove(k);
      if (bytes != null) {
        unreferencedHeld -= bytes;
      }
    }
    if (!references.containsKey(k)) {
      markUnreferenced(k, value);
    }
    trim();
  }

  private void markUnreferenced(String k, ProbeImage img) {
    int bytes = img.getPixels().remaining();
    unreferenced.put(k, bytes);
    unreferencedHeld += bytes;
  }

  /** Drops the oldest unreferenced images until their pixels fit the budget. */
  private void trim() {
    var it = unreferenced.entrySet().iterator();
    while (unreferencedHeld > unreferencedBytes && it.hasNext()) {
      Map.Entry<String, Integer> e = it.next();
      it.remove();
      unreferencedHeld -= e.getValue();
      images.remove(e.getKey());
    }
  }

  /** @return the latest top examples of one layer of one model version */
  synchronized Optional<TopExamples> topExamples(LayerId id) {
    return Optional.ofNullable(examples.get(id));
  }

  /** @return the probe image, if held */
  synchronized Optional<ProbeImage> image(String probeId, String imageId) {
    return Optional.ofNullable(images.get(Topics.probeImageKey(probeId, imageId)));
  }

  /** @return probe images held now (for tests of the budget) */
  synchronized int imagesHeld() {
    return images.size();
  }

  /**
   * Encodes a probe image as PNG with ImageIO: grey for 1 channel, RGB for 3; pixels
   * {@code [C,H,W]} uint8 row-major as {@link ProbeImage#getPixels()} carries them.
   *
   * @param img the image (checked by {@link #acceptProbeImage})
   * @return the PNG bytes
   * @throws UncheckedIOException when ImageIO fails (never for an in-memory stream)
   */
  static byte[] png(ProbeImage img) {
    int c = img.getChannels();
    int h = img.getHeight();
    int w = img.getWidth();
    ByteBuffer px = img.getPixels().duplicate();
    byte[] chw = new byte[c * h * w];
    px.get(chw);
    BufferedImage out = new BufferedImage(w, h, c == 1 ? BufferedImage.TYPE_BYTE_GRAY : BufferedImage.TYPE_INT_RGB);
    WritableRaster raster = out.getRaster();
    int[] sample = new int[c];
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        for (int ch = 0; ch < c; ch++) {
          sample[ch] = chw[(ch * h + y) * w + x] & 0xFF;
        }
        raster.setPixel(x, y, sample);
      }
    }
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try {
      ImageIO.write(out, "png", bytes);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return bytes.toByteArray();
  }
}
