package dev.tagscope.worker;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tagscope.testsupport.ProjectFiles;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
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

  static byte[][] sampleImages() throws IOException {
    return readIdx(samples().resolve("fashion-mnist-test-images-idx3-ubyte.gz"));
  }

  static byte[][] sampleLabels() throws IOException {
    return readIdx(samples().resolve("fashion-mnist-test-labels-idx1-ubyte.gz"));
  }
}
