package dev.tagscope.worker.djl;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/**
 * What Tagscope reads from a TorchScript file besides the module: the two extra files that
 * {@code tools/torchscript_export.py} stores in the archive ({@code torch.jit.save(..., _extra_files=...)},
 * a zip entry {@code <archive>/extra/<name>}):
 *
 * <ul>
 *   <li>{@value #META}: {@code {"format": 1, "outputs": [...], "source": "x.onnx", "sourceSha256": "..."}},
 *       where {@code outputs[i]} is the ONNX tensor name of element {@code i} of the tuple that the
 *       module's {@code forward(input)} returns (every node output of the ONNX graph, in graph order,
 *       the graph's own outputs such as {@code logits} among them); and, in exports that have the
 *       {@code gated(input, gates)} method, {@code "gates": [{"tensor", "offset", "channels"}, ...]} (which
 *       columns of the {@code [N,G]} gates multiply which tensor's channels) and {@code "gatedOutput"}
 *       (the tensor that method returns, e.g. {@code logits});
 *   <li>{@value #GRAPH}: the ONNX graph the module was built from, without its weights, from which
 *       layer labels, default taps and the input shape are read exactly as for the {@code .onnx} file.
 * </ul>
 *
 * The archive is read with {@link ZipFile}, without starting PyTorch, so listing layers is cheap.
 *
 * @param outputs ONNX tensor name of each output of {@code forward}, by index
 * @param graph the weightless ONNX graph, serialised {@code ModelProto}
 * @param source the ONNX file it was exported from, e.g. {@code fmnist-resnet32.onnx}
 * @param sourceSha256 that file's SHA-256, hex
 * @param gates the gate layout of the {@code gated} method, in graph order; empty for an export without it
 * @param gatedOutput the tensor {@code gated} returns, or {@code null} for an export without it
 */
public record TorchScriptArchive(List<String> outputs, byte[] graph, String source, String sourceSha256,
                                 List<Gate> gates, String gatedOutput) {
  /** Name of the extra file with the output names. */
  public static final String META = "tagscope.json";
  /** Name of the extra file with the weightless ONNX graph. */
  public static final String GRAPH = "tagscope-graph.onnx";
  /** The {@value #META} format this class reads. */
  public static final int FORMAT = 1;
  /** At most this many bytes are read from either extra file (the bundled model's are 3 KB and 15 KB). */
  private static final long MAX_EXTRA_BYTES = 64L << 20;

  /**
   * One gated tensor: {@code gates[:, offset:offset + channels]} multiplies its channels.
   *
   * @param tensor ONNX tensor name
   * @param offset first column of its gates
   * @param channels C, its number of gates
   */
  public record Gate(String tensor, int offset, int channels) {}

  /** Copies the lists. */
  public TorchScriptArchive {
    outputs = List.copyOf(outputs);
    gates = List.copyOf(gates);
  }

  /**
   * Reads the extra files of a TorchScript file.
   *
   * @param path the {@code .pt} file
   * @return its outputs and graph
   * @throws IllegalArgumentException when the file is missing, is not a TorchScript (zip) archive,
   *     or lacks either extra file or has them malformed; the message says to export it with
   *     {@code tools/torchscript_export.py}
   */
  public static TorchScriptArchive read(Path path) {
    if (!Files.isRegularFile(path)) {
      throw new IllegalArgumentException("model file " + path.toAbsolutePath() + " does not exist; pass the path of a"
          + " .pt file written by tools/torchscript_export.py (the bundled one is models/fmnist-resnet32.pt)");
    }
    byte[] meta = null;
    byte[] graph = null;
    try (ZipFile zip = new ZipFile(path.toFile())) {
      Enumeration<? extends ZipEntry> entries = zip.entries();
      while (entries.hasMoreElements()) {
        ZipEntry e = entries.nextElement();
        String name = e.getName();
        if (name.endsWith("/extra/" + META)) {
          meta = read(zip, e, path);
        } else if (name.endsWith("/extra/" + GRAPH)) {
          graph = read(zip, e, path);
        }
      }
    } catch (IOException e) {
      throw new IllegalArgumentException(path + " is not a TorchScript archive (" + e.getMessage() + "); export the"
          + " ONNX model with tools/torchscript_export.py", e);
    }
    if (meta == null || graph == null) {
      throw new IllegalArgumentException(path + " is a TorchScript archive without Tagscope's extra files "
          + (meta == null ? META : GRAPH) + "; export it from the .onnx model with tools/torchscript_export.py, which"
          + " records which ONNX tensor each output of forward() is");
    }
    return new TorchScriptArchive(outputs(meta, path), graph, text(meta, path, "source"), text(meta, path, "sourceSha256"),
        gates(meta, path), text(meta, path, "gatedOutput"));
  }

  private static byte[] read(ZipFile zip, ZipEntry e, Path path) throws IOException {
    try (InputStream in = zip.getInputStream(e)) {
      byte[] b = in.readNBytes((int) MAX_EXTRA_BYTES + 1);
      if (b.length > MAX_EXTRA_BYTES) {
        throw new IllegalArgumentException(path + ": extra file " + e.getName() + " is larger than " + MAX_EXTRA_BYTES
            + " bytes; export the model again with tools/torchscript_export.py");
      }
      return b;
    }
  }

  private static List<String> outputs(byte[] meta, Path path) {
    JsonNode root;
    try {
      root = new ObjectMapper().readTree(meta);
    } catch (IOException e) {
      throw new IllegalArgumentException(path + ": extra file " + META + " is not JSON: " + e.getMessage(), e);
    }
    if (root == null || !root.isObject() || root.path("format").asInt(-1) != FORMAT || !root.path("outputs").isArray()) {
      throw new IllegalArgumentException(path + ": extra file " + META + " must be an object with \"format\": " + FORMAT
          + " and an \"outputs\" array of tensor names; export the model again with tools/torchscript_export.py");
    }
    List<String> out = new ArrayList<>();
    Set<String> seen = new HashSet<>();
    for (JsonNode n : root.get("outputs")) {
      if (!n.isTextual() || n.asText().isEmpty() || !seen.add(n.asText())) {
        throw new IllegalArgumentException(path + ": " + META + " outputs must be distinct non-empty tensor names, got " + n);
      }
      out.add(n.asText());
    }
    return out;
  }

  /** The gate layout: contiguous from 0, each with a name and at least one channel; empty when absent. */
  private static List<Gate> gates(byte[] meta, Path path) {
    JsonNode g;
    try {
      g = new ObjectMapper().readTree(meta).get("gates");
    } catch (IOException e) {
      throw new IllegalArgumentException(path + ": extra file " + META + " is not JSON: " + e.getMessage(), e);
    }
    List<Gate> out = new ArrayList<>();
    if (g == null || g.isNull()) {
      return out;
    }
    if (!g.isArray()) {
      throw new IllegalArgumentException(path + ": " + META + " gates must be an array, got " + g
          + "; export the model again with tools/torchscript_export.py");
    }
    int next = 0;
    for (JsonNode n : g) {
      Gate gate = new Gate(n.path("tensor").asText(""), n.path("offset").asInt(-1), n.path("channels").asInt(0));
      if (gate.tensor().isEmpty() || gate.offset() != next || gate.channels() < 1) {
        throw new IllegalArgumentException(path + ": " + META + " gates must be {\"tensor\", \"offset\", \"channels\"}"
            + " objects with contiguous offsets from 0, got " + n + "; export the model again with tools/torchscript_export.py");
      }
      next += gate.channels();
      out.add(gate);
    }
    return out;
  }

  private static String text(byte[] meta, Path path, String field) {
    try {
      JsonNode v = new ObjectMapper().readTree(meta).get(field);
      return v == null || v.isNull() ? null : v.asText();
    } catch (IOException e) {
      throw new IllegalArgumentException(path + ": extra file " + META + " is not JSON: " + e.getMessage(), e);
    }
  }

  /**
   * The index of a tensor among the outputs of {@code forward}.
   *
   * @param tensorName an ONNX tensor name
   * @return its index, or -1 when the module does not return it
   */
  public int indexOf(String tensorName) {
    return outputs.indexOf(tensorName);
  }
}
