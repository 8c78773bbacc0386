package dev.tagscope.worker;

import ai.onnx.proto.OnnxMl;
import dev.tagscope.worker.internal.LayerSelector;
import dev.tagscope.worker.internal.OnnxGraph;
import dev.tagscope.worker.internal.Sidecar;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;

/**
 * What every backend knows about a model before its engine runs it, resolved once, the same way
 * for each: from the model's ONNX graph (its own file for ONNX Runtime, the weightless copy inside
 * a TorchScript file for DJL), the sidecar {@code <model>.json} and the configuration's overrides.
 * So both backends tap the same layers under the same names ({@link LayerInfo#label()}), and a
 * probe's report is comparable between them.
 *
 * <p>Each field is resolved as {@link ModelOverrides} says: override, then sidecar, then graph,
 * then the default (name = file name without {@code .onnx}/{@code .pt}, scale 1/255, mean 0, std 1).
 * The version is the card's, else the model file's digest ({@link ModelVersion}), computed once here.
 *
 * @param name model name, e.g. {@code fmnist-resnet32}
 * @param inputName graph input that takes the image batch
 * @param preprocessing scale, mean/std and input shape {@code [C,H,W]}
 * @param fixedBatch the graph input's fixed batch size N, or 0 when it is dynamic
 * @param classes class names by logit index (empty when the sidecar gives none)
 * @param layers every tappable tensor in graph order, defaults marked
 * @param selected the layers to tap ({@link ModelConfig#layers()}), listed ones in graph order
 * @param outputNames the graph's own outputs, e.g. {@code [logits]}
 * @param version the model's version ({@link ModelVersion}): the card's {@code version}, else
 *     {@code sha256:} and 12 hex digits of the model file's (the {@code .onnx} or {@code .pt}) SHA-256
 */
public record ModelDescription(String name, String inputName, Preprocessing preprocessing, int fixedBatch,
                               List<String> classes, List<LayerInfo> layers, List<LayerInfo> selected,
                               List<String> outputNames, String version) {

  /** Copies the lists. */
  public ModelDescription {
    classes = List.copyOf(classes);
    layers = List.copyOf(layers);
    selected = List.copyOf(selected);
    outputNames = List.copyOf(outputNames);
  }

  /**
   * @param newVersion the version to report instead (e.g. {@link ModelVersion#ofExport} for an exported twin)
   * @return this description with that version
   */
  public ModelDescription withVersion(String newVersion) {
    return new ModelDescription(name, inputName, preprocessing, fixedBatch, classes, layers, selected, outputNames, newVersion);
  }

  /**
   * Resolves a model from the bytes of its ONNX graph (weights may be left out: only names, types
   * and dims of the initializers are read).
   *
   * @param onnxGraph a serialised ONNX {@code ModelProto}
   * @param config the model file (for its sidecar and default name), layers and overrides
   * @return the description
   * @throws IllegalArgumentException when the bytes are not ONNX, the input cannot be determined
   *     or is not {@code [N,C,H,W]}, a dimension contradicts the configuration, a preprocessing
   *     value is invalid, a layer name is unknown (each message names the setting and the fix), or the
   *     model file cannot be read for its digest
   */
  public static ModelDescription of(byte[] onnxGraph, ModelConfig config) {
    return of(OnnxGraph.parse(onnxGraph, config.modelPath().toString()), config);
  }

  /**
   * The class names a model's card ({@code <model>.json} beside the file) gives, read without
   * loading the model: for a process that shows labels but runs no model (the dashboard).
   *
   * @param model the model file, e.g. {@code models/fmnist-resnet32.onnx}
   * @return class names by logit index, the same as {@link #classes()}; empty when there is no
   *     card or it names none
   * @throws IllegalArgumentException when the card exists but is not valid JSON of its shape
   */
  public static List<String> cardClasses(Path model) {
    return Sidecar.readFor(model).classes();
  }

  /**
   * Every tappable tensor of an ONNX graph (weights may be left out), defaults marked, as
   * {@code tagscope worker --list-layers} shows them.
   *
   * @param onnxGraph a serialised ONNX {@code ModelProto}
   * @param source the file it came from, for messages
   * @return the layers in graph order
   * @throws IllegalArgumentException when the bytes are not an ONNX model with a graph
   */
  public static List<LayerInfo> layersOf(byte[] onnxGraph, String source) {
    return OnnxGraph.parse(onnxGraph, source).layers();
  }

  static ModelDescription of(OnnxGraph graph, ModelConfig config) {
    Path path = config.modelPath();
    Sidecar sidecar = Sidecar.readFor(path);
    ModelOverrides o = config.overrides();
    String modelName = firstNonNull(o.name(), sidecar.name(), baseName(path));
    List<OnnxMl.ValueInfoProto> inputs = graph.dataInputs();
    String inputName = firstNonNull(o.inputName(), sidecar.input(), inputs.size() == 1 ? inputs.get(0).getName() : null);
    if (inputName == null) {
      throw new IllegalArgumentException("model " + path + " has " + inputs.size() + " data inputs "
          + inputs.stream().map(OnnxMl.ValueInfoProto::getName).collect(Collectors.toList())
          + "; set the input name in the model configuration (sidecar field 'input')");
    }
    OnnxMl.ValueInfoProto input = null;
    for (OnnxMl.ValueInfoProto v : inputs) {
      if (v.getName().equals(inputName)) {
        input = v;
      }
    }
    if (input == null) {
      throw new IllegalArgumentException("model " + path + " has no input named '" + inputName + "'; its inputs are "
          + inputs.stream().map(OnnxMl.ValueInfoProto::getName).collect(Collectors.toList()));
    }
    long[] dims = staticDims(input);
    int fixedBatch = dims.length > 0 && dims[0] > 0 ? (int) dims[0] : 0;
    if (dims.length != 4) {
      throw new IllegalArgumentException("model input '" + inputName + "' has rank " + dims.length
          + "; Tagscope needs an image batch [N,C,H,W]");
    }
    int channels = resolveDim("channels", o.channels(), sidecar.channels(), dims[1], inputName);
    int height = resolveDim("height", o.height(), sidecar.height(), dims[2], inputName);
    int width = resolveDim("width", o.width(), sidecar.width(), dims[3], inputName);
    Preprocessing pre = new Preprocessing(
        firstNonNull(o.scale(), sidecar.scale(), 1.0 / 255.0),
        firstNonNull(o.mean(), sidecar.mean(), List.of(0f)),
        firstNonNull(o.std(), sidecar.std(), List.of(1f)),
        channels, height, width);
    List<LayerInfo> selected = LayerSelector.select(config.layers(), graph.layers(), graph.hiddenLayers());
    return new ModelDescription(modelName, inputName, pre, fixedBatch, sidecar.classes(), graph.layers(), selected,
        graph.outputNames(), ModelVersion.of(path, sidecar));
  }

  /**
   * A selected layer with the shape its trial run gave, refused unless it is {@code [N,C,H,W]}
   * (reduced over {@code H,W}) or {@code [N,C]} (taken as-is); shared by the backends so that
   * each refuses the same layers with the same message.
   *
   * @param layer the layer
   * @param shape its output's shape in the trial run
   * @return the tapped layer with its channel count C
   * @throws IllegalArgumentException when the rank is neither 4 nor 2, naming the layer and the fix
   */
  public static TappedLayer tapped(LayerInfo layer, long[] shape) {
    checkRank(layer, shape);
    return new TappedLayer(layer, Math.toIntExact(shape[1]), shape.length == 4);
  }

  /**
   * Refuses an output shape that Tagscope cannot reduce (see {@link #tapped}).
   *
   * @param layer the layer
   * @param shape its output's shape
   * @throws IllegalArgumentException when the rank is neither 4 nor 2
   */
  public static void checkRank(LayerInfo layer, long[] shape) {
    if (shape.length != 4 && shape.length != 2) {
      throw new IllegalArgumentException("layer " + layer.label() + " (tensor " + layer.tensorName() + ") has shape "
          + Arrays.toString(shape) + "; Tagscope reduces [N,C,H,W] feature maps or takes [N,C] vectors as-is;"
          + " choose another layer with --layers (see --list-layers)");
    }
  }

  private static long[] staticDims(OnnxMl.ValueInfoProto v) {
    if (!v.getType().hasTensorType() || !v.getType().getTensorType().hasShape()) {
      return new long[] {-1, -1, -1, -1};
    }
    List<OnnxMl.TensorShapeProto.Dimension> d = v.getType().getTensorType().getShape().getDimList();
    long[] out = new long[d.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = d.get(i).hasDimValue() && d.get(i).getDimValue() > 0 ? d.get(i).getDimValue() : -1;
    }
    return out;
  }

  private static int resolveDim(String field, Integer override, Integer sidecar, long graph, String input) {
    Integer configured = override != null ? override : sidecar;
    if (configured != null) {
      if (configured <= 0) {
        throw new IllegalArgumentException("model input " + field + " must be positive, got " + configured);
      }
      if (graph > 0 && graph != configured) {
        throw new IllegalArgumentException("model input '" + input + "' has a fixed " + field + " of " + graph
            + " but the configuration says " + configured + "; remove the " + field + " setting or set it to " + graph);
      }
      return configured;
    }
    if (graph <= 0) {
      throw new IllegalArgumentException("model input '" + input + "' has a dynamic " + field
          + "; set " + field + " in the model configuration or its sidecar <model>.json");
    }
    return (int) graph;
  }

  @SafeVarargs
  private static <T> T firstNonNull(T... values) {
    for (T v : values) {
      if (v != null) {
        return v;
      }
    }
    return null;
  }

  private static String baseName(Path path) {
    return Sidecar.baseName(path);
  }
}
