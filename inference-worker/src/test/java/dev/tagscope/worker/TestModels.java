package dev.tagscope.worker;

import com.fasterxml.jackson.databind.JsonNode;
import ai.onnx.proto.OnnxMl;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tagscope.worker.internal.Sidecar;
import dev.tagscope.testsupport.ProjectFiles;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.GZIPInputStream;

/**
 * The bundled model and its companions under {@code ../models} (relative to the module
 * directory, where surefire runs). {@code -Dtagscope.test.model=PATH} points at another
 * {@code .onnx} with the same companions (development only).
 */
final class TestModels {
  private TestModels() {}

  static Path model() {
    return ProjectFiles.bundledModel();
  }

  static Path reference() {
    String f = model().getFileName().toString();
    return model().resolveSibling(f.substring(0, f.length() - ".onnx".length()) + ".reference.json");
  }

  static Path samples() {
    return ProjectFiles.samples();
  }

  static JsonNode referenceJson() throws IOException {
    return new ObjectMapper().readTree(reference().toFile());
  }

  /** ModelOverrides carrying the reference file's preprocessing (scale, mean, std). */
  static ModelOverrides referencePreprocessing() throws IOException {
    JsonNode pre = referenceJson().get("preprocessing");
    List<Float> mean = new ArrayList<>();
    pre.get("mean").forEach(v -> mean.add((float) v.asDouble()));
    List<Float> std = new ArrayList<>();
    pre.get("std").forEach(v -> std.add((float) v.asDouble()));
    return ModelOverrides.NONE.withNormalisation(pre.get("scale").asDouble(), mean, std);
  }

  /** An IDX file (gzip): images {@code [n][rows*cols]} as bytes, or labels {@code [n][1]}. */
  static byte[][] readIdx(Path gz) throws IOException {
    try (InputStream raw = Files.newInputStream(gz); DataInputStream in = new DataInputStream(new GZIPInputStream(raw))) {
      int magic = in.readInt();
      int ndim = magic & 0xFF;
      int[] dims = new int[ndim];
      for (int i = 0; i < ndim; i++) {
        dims[i] = in.readInt();
      }
      int per = 1;
      for (int i = 1; i < ndim; i++) {
        per *= dims[i];
      }
      byte[][] out = new byte[dims[0]][per];
      for (byte[] row : out) {
        in.readFully(row);
      }
      return out;
    }
  }

  /**
   * Copies the bundled model and its card into {@code dir} under its own file name.
   *
   * @param dir the folder
   * @param cardVersion a {@code version} to write into the card, or null to leave the card as bundled (no version)
   * @return the copied {@code .onnx} file
   */
  static Path copyBundled(Path dir, String cardVersion) throws IOException {
    Path onnx = dir.resolve(model().getFileName());
    Files.copy(model(), onnx, StandardCopyOption.REPLACE_EXISTING);
    writeCard(onnx, cardVersion);
    return onnx;
  }

  /**
   * Writes the bundled card beside {@code modelFile}, with a {@code version} when one is given.
   *
   * @param modelFile the model file whose card is written
   * @param cardVersion the version, or null for none
   */
  static void writeCard(Path modelFile, String cardVersion) throws IOException {
    ObjectNode card = (ObjectNode) new ObjectMapper().readTree(Sidecar.pathFor(model()).toFile());
    if (cardVersion != null) {
      card.put("version", cardVersion);
    }
    Files.writeString(Sidecar.pathFor(modelFile), card.toString());
  }

  /**
   * The bundled model with the weights of its first convolution multiplied by {@code factor}: another
   * version of the same model, same name and taps, other activations.
   *
   * @param factor the factor
   * @return the serialised {@code ModelProto}
   */
  static byte[] bundledWithScaledFirstConv(float factor) throws IOException {
    OnnxMl.ModelProto m = OnnxMl.ModelProto.parseFrom(Files.readAllBytes(model()));
    String weight = m.getGraph().getNodeList().stream().filter(n -> n.getOpType().equals("Conv")).findFirst()
        .orElseThrow().getInput(1);
    OnnxMl.GraphProto.Builder g = m.getGraph().toBuilder();
    for (int i = 0; i < g.getInitializerCount(); i++) {
      OnnxMl.TensorProto t = g.getInitializer(i);
      if (!t.getName().equals(weight)) {
        continue;
      }
      List<Float> values = new ArrayList<>();
      if (t.getRawData().isEmpty()) {
        t.getFloatDataList().forEach(v -> values.add(v * factor));
      } else {
        FloatBuffer raw = t.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
        while (raw.hasRemaining()) {
          values.add(raw.get() * factor);
        }
      }
      g.setInitializer(i, t.toBuilder().clearRawData().clearFloatData().addAllFloatData(values));
    }
    return m.toBuilder().setGraph(g).build().toByteArray();
  }

  static byte[][] sampleImages() throws IOException {
    return readIdx(samples().resolve("fashion-mnist-test-images-idx3-ubyte.gz"));
  }

  static byte[][] sampleLabels() throws IOException {
    return readIdx(samples().resolve("fashion-mnist-test-labels-idx1-ubyte.gz"));
  }
}
