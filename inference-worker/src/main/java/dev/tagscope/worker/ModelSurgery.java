package dev.tagscope.worker;

import ai.onnx.proto.OnnxMl;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.protobuf.ByteString;
import dev.tagscope.worker.internal.AblationGraph;
import dev.tagscope.worker.internal.Sidecar;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * Copies of an ONNX model with some filters of one layer removed: a known "damaged deployment" to
 * check that monitoring notices it, and the weight-level twin of an ablation (Morcos et al., ICLR
 * 2018, section 2: a filter ablated is its channel clamped to 0).
 *
 * <p>The filters' channels are zeroed where they are made: in every convolution that writes the
 * layer's tensor ({@link AblationGraph#producingConvolutions}, through per-channel operators; a
 * residual block's last convolution and a projection shortcut), weight {@code W[k,...]} and bias
 * {@code b[k]} are set to 0; where a residual block's identity shortcut comes from an earlier
 * convolution through per-channel operators, that convolution's channel goes too, so the channel
 * is zero at the tap (and upstream of it). A layer that no convolution writes that way is refused.
 * For a single convolution {@code AblationModelTest} proves that such a copy equals masking the
 * channel.
 *
 * <p>The model card is copied beside the new file with the same name (so probes of the model still
 * reach it) and the given {@code version}, the version the worker reports for it.
 */
public final class ModelSurgery {
  private ModelSurgery() {}

  /**
   * Writes a copy of a model with filters of one layer zeroed, and its card.
   *
   * @param model the ONNX model file; its card ({@code .json} beside it) is copied when present
   * @param layer the layer, by label, node or tensor name as {@code --layers} takes it (e.g. {@code conv1})
   * @param filters channel indices {@code 0..C-1} to zero
   * @param out the new model file ({@code .onnx}); its card is written beside it
   * @param version the version written into the copied card
   * @throws IllegalArgumentException when the layer is unknown, no convolution writes it channel by
   *     channel, or a filter index is out of range (the message names the fix)
   * @throws UncheckedIOException when a file cannot be read or written
   */
  public static void zeroFilters(Path model, String layer, int[] filters, Path out, String version) {
    Objects.requireNonNull(version, "version");
    OnnxMl.ModelProto proto;
    try {
      proto = OnnxMl.ModelProto.parseFrom(Files.readAllBytes(model));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read model " + model, e);
    }
    LayerInfo info = ActivationModel.listLayers(model, ModelConfig.ONNX).stream().filter(l -> l.isNamed(layer)).findFirst()
        .orElseThrow(() -> new IllegalArgumentException("layer '" + layer + "' is not a tappable tensor of " + model
            + "; list them with tagscope worker --list-layers"));
    List<OnnxMl.NodeProto> convs = AblationGraph.producingConvolutions(proto, info.tensorName());
    if (convs.isEmpty()) {
      throw new IllegalArgumentException("no convolution writes layer '" + layer + "' channel by channel (another"
          + " operator is in the way); choose a convolution's or a residual block's output, e.g. conv1");
    }
    OnnxMl.GraphProto.Builder g = proto.getGraph().toBuilder();
    for (OnnxMl.NodeProto conv : convs) {
      for (int i = 0; i < g.getInitializerCount(); i++) {
        OnnxMl.TensorProto t = g.getInitializer(i);
        boolean weight = t.getName().equals(conv.getInput(1));
        boolean bias = conv.getInputCount() > 2 && t.getName().equals(conv.getInput(2));
        if (weight || bias) {
          g.setInitializer(i, zeroChannels(t, filters, layer));
        }
      }
    }
    try {
      Files.write(out, proto.toBuilder().setGraph(g).build().toByteArray());
      Path card = Sidecar.pathFor(model);
      if (Files.exists(card)) {
        ObjectMapper json = new ObjectMapper();
        ObjectNode root = (ObjectNode) json.readTree(card.toFile());
        root.put("file", out.getFileName().toString());
        root.remove("torchscript"); // the TorchScript export is of the undamaged weights
        root.put("version", version);
        json.writerWithDefaultPrettyPrinter().writeValue(Sidecar.pathFor(out).toFile(), root);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + out, e);
    }
  }

  /** The tensor with rows {@code filters} of its first dimension set to 0 (float32 raw data or float_data). */
  private static OnnxMl.TensorProto zeroChannels(OnnxMl.TensorProto t, int[] filters, String layer) {
    int channels = (int) t.getDims(0);
    for (int k : filters) {
      if (k < 0 || k >= channels) {
        throw new IllegalArgumentException("filter " + k + " is outside 0.." + (channels - 1) + " of layer '" + layer + "'");
      }
    }
    if (!t.getRawData().isEmpty()) {
      ByteBuffer raw = ByteBuffer.wrap(t.getRawData().toByteArray()).order(ByteOrder.LITTLE_ENDIAN);
      int per = raw.capacity() / 4 / channels;
      for (int k : filters) {
        for (int i = k * per; i < (k + 1) * per; i++) {
          raw.putFloat(4 * i, 0f);
        }
      }
      return t.toBuilder().setRawData(ByteString.copyFrom(raw.array())).build();
    }
    float[] data = new float[t.getFloatDataCount()];
    for (int i = 0; i < data.length; i++) {
      data[i] = t.getFloatData(i);
    }
    int per = data.length / channels;
    for (int k : filters) {
      Arrays.fill(data, k * per, (k + 1) * per, 0f);
    }
    OnnxMl.TensorProto.Builder b = t.toBuilder().clearFloatData();
    for (float v : data) {
      b.addFloatData(v);
    }
    return b.build();
  }

  /**
   * Copies a file next to itself atomically, for a watched model path: written to a temporary file
   * in the target's folder, then renamed over it, so a watcher never reads it half-written.
   *
   * @param from the file to copy
   * @param to the target
   * @throws UncheckedIOException when it cannot be copied
   */
  public static void replaceAtomically(Path from, Path to) {
    try {
      Path tmp = Files.createTempFile(to.toAbsolutePath().getParent(), ".swap-", ".tmp");
      Files.copy(from, tmp, StandardCopyOption.REPLACE_EXISTING);
      Files.move(tmp, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot replace " + to + " with " + from, e);
    }
  }
}
