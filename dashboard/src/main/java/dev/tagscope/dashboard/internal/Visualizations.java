package dev.tagscope.dashboard.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The folder {@code tagscope visualize} writes (README, "Filter visualisations"; the shared
 * contract): {@code index.json} names, per model version, layer and filter, a PNG of what the
 * filter responds to (activation maximisation), with the objective it reached.
 *
 * <p>Safety: the file served is always one that {@code index.json} names, found by model, version,
 * layer and filter; a request never supplies a path. A named path must lie inside the folder
 * after symbolic links are resolved, be a regular {@code .png} file and at most
 * {@value #MAX_PNG_BYTES} bytes, checked when the index is read and again when the file is served
 * (opened without following a link); anything else is treated as absent.
 *
 * <p>The index is read again when its size or modification time changes, so a
 * {@code tagscope visualize} run while the dashboard serves is picked up at the next request. An
 * index that cannot be parsed is logged and treated as empty.
 */
final class Visualizations {
  /** Largest visualisation PNG served, bytes. */
  static final long MAX_PNG_BYTES = 16L << 20;
  private static final Logger LOG = LoggerFactory.getLogger(Visualizations.class);
  private static final ObjectMapper MAPPER = new ObjectMapper();

  /**
   * One filter's visualisation as the index describes it.
   *
   * @param image the PNG, inside the folder
   * @param rank the filter's tag rank in its layer, 1 = most important (null when absent)
   * @param importance score / top score (null when absent)
   * @param activation the objective the visualisation reached, layer units (null when absent)
   * @param meanSampleActivation the same objective's mean over the labelled sample images (null when absent)
   * @param method the method's name, e.g. {@code activation-maximisation} (null when absent)
   */
  record Entry(Path image, Integer rank, Double importance, Double activation, Double meanSampleActivation, String method) {}

  private record Key(String model, String version, String layer, int filter) {}

  private record Snapshot(long size, long modifiedMs, Map<Key, Entry> entries) {}

  private final Path folder;
  private Snapshot snapshot;

  /** @param folder the folder, or null for none (every lookup is empty) */
  Visualizations(Path folder) {
    this.folder = folder;
  }

  /** @return the folder read, or null when none */
  Path folder() {
    return folder;
  }

  /**
   * @param model model name
   * @param version model version ({@code ""} for none)
   * @param layer layer label as in the reports
   * @param filter filter (channel) index
   * @return the filter's visualisation, when the index names one whose file is a PNG inside the folder
   */
  Optional<Entry> find(String model, String version, String layer, int filter) {
    if (folder == null) {
      return Optional.empty();
    }
    return Optional.ofNullable(index().get(new Key(model, version, layer, filter)));
  }

  /**
   * @param e an entry from {@link #find}
   * @return the PNG's bytes, or empty when the file went away or grew past {@value #MAX_PNG_BYTES} bytes
   */
  Optional<byte[]> read(Entry e) {
    // Checked again when served, not only when the index was read: a file or folder replaced by a link
    // since then must not lead outside the folder. The file itself is opened without following a link.
    try (java.io.InputStream in = Files.newInputStream(e.image(), java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
      if (!e.image().toRealPath().startsWith(folder.toRealPath()) || Files.size(e.image()) > MAX_PNG_BYTES) {
        return Optional.empty();
      }
      return Optional.of(in.readNBytes((int) MAX_PNG_BYTES + 1)).filter(b -> b.length <= MAX_PNG_BYTES);
    } catch (IOException ex) {
      return Optional.empty();
    }
  }

  private synchronized Map<Key, Entry> index() {
    Path file = folder.resolve("index.json");
    long size;
    long modified;
    try {
      BasicFileAttributes a = Files.readAttributes(file, BasicFileAttributes.class);
      size = a.size();
      modified = a.lastModifiedTime().toMillis();
    } catch (IOException e) {
      snapshot = null;
      return Map.of();
    }
    if (snapshot == null || snapshot.size() != size || snapshot.modifiedMs() != modified) {
      snapshot = new Snapshot(size, modified, parse(file));
    }
    return snapshot.entries();
  }

  private Map<Key, Entry> parse(Path file) {
    Map<Key, Entry> out = new HashMap<>();
    try {
      Path root = folder.toRealPath();
      JsonNode idx = MAPPER.readTree(file.toFile());
      String model = idx.path("model").asText(null);
      String version = idx.path("modelVersion").asText("");
      String method = idx.path("method").path("name").asText(null);
      if (model == null) {
        LOG.warn("{} names no model; no visualisations shown", file);
        return out;
      }
      for (JsonNode layer : idx.path("layers")) {
        String name = layer.path("layer").asText(null);
        for (JsonNode f : layer.path("filters")) {
          if (name == null || !f.path("filter").canConvertToInt() || !f.path("image").isTextual()) {
            continue;
          }
          Path image = inside(root, f.path("image").asText());
          if (image != null) {
            out.put(new Key(model, version, name, f.path("filter").asInt()), new Entry(image, integer(f.path("rank")),
                number(f.path("importance")), number(f.path("activation")), number(f.path("meanSampleActivation")), method));
          }
        }
      }
    } catch (IOException | RuntimeException e) {
      LOG.warn("cannot read the visualisations index {}: {}; no visualisations shown", file, e.toString());
    }
    return out;
  }

  /** @return {@code relative} resolved in {@code root} when it is a regular .png file there (links resolved), else null */
  private static Path inside(Path root, String relative) {
    try {
      if (!relative.toLowerCase(java.util.Locale.ROOT).endsWith(".png")) {
        return null;
      }
      Path p = root.resolve(relative).normalize();
      if (!Files.isRegularFile(p)) {
        return null;
      }
      Path real = p.toRealPath();
      return real.startsWith(root) ? real : null;
    } catch (IOException | java.nio.file.InvalidPathException e) {
      return null;
    }
  }

  private static Integer integer(JsonNode n) {
    return n.canConvertToInt() ? n.asInt() : null;
  }

  private static Double number(JsonNode n) {
    return n.isNumber() ? n.asDouble() : null;
  }
}
