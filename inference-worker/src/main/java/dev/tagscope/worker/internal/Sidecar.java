package dev.tagscope.worker.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The model card sidecar {@code <model>.json} next to {@code <model>.onnx} (or {@code <model>.pt}), e.g.
 * <pre>{@code
 * {"name":"fmnist-resnet32","input":"input","channels":1,"height":28,"width":28,
 *  "preprocessing":{"scale":0.00392156862745098,"mean":[0.2860],"std":[0.3530]},
 *  "classes":["T-shirt/top", ...], "version":"2026-12-a"}
 * }</pre>
 * Every field is optional; unknown fields are ignored. {@code version} names this model file's
 * version on the topics ({@code dev.tagscope.worker.ModelVersion}); without it the version is the
 * file's digest. Keep it in step with the file: a card that keeps its version while the file
 * changes gives two models one version.
 *
 * @param name model name
 * @param input graph input name
 * @param channels input channels
 * @param height input height
 * @param width input width
 * @param scale pixel scale
 * @param mean per-channel mean
 * @param std per-channel std
 * @param classes class names by logit index (empty when absent)
 * @param version the model's version, {@code null} when absent (then the file's digest is used)
 */
public record Sidecar(String name, String input, Integer channels, Integer height, Integer width, Double scale,
                      List<Float> mean, List<Float> std, List<String> classes, String version) {

  /** A sidecar with nothing in it. */
  public static final Sidecar EMPTY = new Sidecar(null, null, null, null, null, null, null, null, List.of(), null);

  /** Model file extensions that {@link #baseName} strips: ONNX, and TorchScript for the DJL backend. */
  private static final List<String> MODEL_EXTENSIONS = List.of(".onnx", ".pt");

  /**
   * The sidecar path of a model file: the same name with {@code .json} instead of {@code .onnx}
   * or {@code .pt}, so an ONNX model and its TorchScript export share one model card.
   *
   * @param model model file
   * @return the sidecar path (may not exist)
   */
  public static Path pathFor(Path model) {
    return model.resolveSibling(baseName(model) + ".json");
  }

  /**
   * A model file's name without its extension.
   *
   * @param model model file, e.g. {@code models/fmnist-resnet32.pt}
   * @return e.g. {@code fmnist-resnet32}; the whole file name for another extension
   */
  public static String baseName(Path model) {
    String file = model.getFileName().toString();
    for (String ext : MODEL_EXTENSIONS) {
      if (file.endsWith(ext) && file.length() > ext.length()) {
        return file.substring(0, file.length() - ext.length());
      }
    }
    return file;
  }

  /**
   * Reads the sidecar of a model when it exists.
   *
   * @param model model file
   * @return the sidecar, or {@link #EMPTY} when there is no file
   * @throws IllegalArgumentException when the file exists but is not valid JSON of this shape
   */
  public static Sidecar readFor(Path model) {
    Path p = pathFor(model);
    if (!Files.isRegularFile(p)) {
      return EMPTY;
    }
    try {
      JsonNode root = new ObjectMapper().readTree(p.toFile());
      if (root == null || !root.isObject()) {
        throw new IllegalArgumentException("model sidecar " + p + " must hold a JSON object");
      }
      JsonNode pre = root.path("preprocessing");
      return new Sidecar(text(root, "name"), text(root, "input"), integer(root, "channels", p),
          integer(root, "height", p), integer(root, "width", p),
          pre.has("scale") ? number(pre.get("scale"), "preprocessing.scale", p) : null,
          floats(pre, "mean", p), floats(pre, "std", p), strings(root, "classes"), version(root, p));
    } catch (IOException e) {
      throw new IllegalArgumentException("cannot read model sidecar " + p + ": " + e.getMessage(), e);
    }
  }

  private static String text(JsonNode n, String field) {
    JsonNode v = n.get(field);
    return v == null || v.isNull() ? null : v.asText();
  }

  private static String version(JsonNode root, Path p) {
    JsonNode v = root.get("version");
    if (v == null || v.isNull()) {
      return null;
    }
    if ((!v.isTextual() && !v.isNumber()) || v.asText().isBlank()) {
      throw new IllegalArgumentException("model sidecar " + p + ": 'version' must be a non-blank string, got " + v
          + "; remove it to version the model by its file's SHA-256");
    }
    return v.asText().trim();
  }

  private static Integer integer(JsonNode n, String field, Path p) {
    JsonNode v = n.get(field);
    if (v == null || v.isNull()) {
      return null;
    }
    if (!v.canConvertToInt()) {
      throw new IllegalArgumentException("model sidecar " + p + ": '" + field + "' must be an integer, got " + v);
    }
    return v.asInt();
  }

  private static double number(JsonNode v, String field, Path p) {
    if (!v.isNumber()) {
      throw new IllegalArgumentException("model sidecar " + p + ": '" + field + "' must be a number, got " + v);
    }
    return v.asDouble();
  }

  private static List<Float> floats(JsonNode n, String field, Path p) {
    JsonNode v = n.get(field);
    if (v == null || v.isNull()) {
      return null;
    }
    List<Float> out = new ArrayList<>();
    if (v.isNumber()) {
      out.add((float) v.asDouble());
      return out;
    }
    if (!v.isArray()) {
      throw new IllegalArgumentException("model sidecar " + p + ": 'preprocessing." + field
          + "' must be a number or an array of numbers, got " + v);
    }
    for (JsonNode e : v) {
      out.add((float) number(e, "preprocessing." + field, p));
    }
    return out;
  }

  private static List<String> strings(JsonNode n, String field) {
    List<String> out = new ArrayList<>();
    JsonNode v = n.get(field);
    if (v != null && v.isArray()) {
      for (JsonNode e : v) {
        out.add(e.asText());
      }
    }
    return out;
  }
}
