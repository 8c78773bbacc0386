package dev.tagscope.worker.internal;

import ai.onnx.proto.OnnxMl;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.tagscope.worker.LayerInfo;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * An ONNX graph seen as a list of tappable tensors, and the graph rewrites that tap them:
 * intermediate tensor names appended to {@code graph.output} (ONNX IR spec, "Graphs": any value
 * may be a graph output), so the engine computes them in the same pass as the logits.
 */
public final class OnnxGraph {
  private final OnnxMl.ModelProto model;
  private final List<LayerInfo> layers;
  private final List<LayerInfo> hidden;

  private OnnxGraph(OnnxMl.ModelProto model) {
    this.model = model;
    Layers described = describe(model.getGraph());
    this.layers = List.copyOf(described.listed());
    this.hidden = List.copyOf(described.hidden());
  }

  /**
   * Parses a serialised {@code ModelProto}.
   *
   * @param bytes the {@code .onnx} file's bytes
   * @param source file name for messages
   * @return the graph
   * @throws IllegalArgumentException when the bytes are not an ONNX model with a graph
   */
  public static OnnxGraph parse(byte[] bytes, String source) {
    OnnxMl.ModelProto model;
    try {
      model = OnnxMl.ModelProto.parseFrom(bytes);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalArgumentException(source + " is not an ONNX model: " + e.getMessage(), e);
    }
    if (!model.hasGraph() || model.getGraph().getNodeCount() == 0) {
      throw new IllegalArgumentException(source + " is not an ONNX model: it has no graph nodes");
    }
    for (OnnxMl.TensorProto t : model.getGraph().getInitializerList()) {
      if (t.getDataLocation() == OnnxMl.TensorProto.DataLocation.EXTERNAL) {
        throw new IllegalArgumentException(source + " keeps its weights in external data files, which Tagscope"
            + " cannot load from a rewritten graph; re-export it with the weights inside the .onnx file");
      }
    }
    return new OnnxGraph(model);
  }

  /**
   * The parsed model.
   *
   * @return the model proto
   */
  public OnnxMl.ModelProto model() {
    return model;
  }

  /**
   * Every tappable tensor in graph order: the activations (node outputs computed from the data
   * input, not weights or constants) that are {@code [N,C,H,W]} feature maps or {@code [N,C]}
   * vectors, or whose rank the graph alone does not tell; default taps marked.
   *
   * @return the listed layers
   */
  public List<LayerInfo> layers() {
    return layers;
  }

  /**
   * The other activations (another rank, e.g. {@code [N,C,L]}): not listed, but a layer
   * selection may name one exactly, so that loading says what its shape is.
   *
   * @return the unlisted activations in graph order
   */
  public List<LayerInfo> hiddenLayers() {
    return hidden;
  }

  /**
   * Names of the graph's own outputs.
   *
   * @return e.g. {@code [logits]}
   */
  public List<String> outputNames() {
    List<String> out = new ArrayList<>();
    for (OnnxMl.ValueInfoProto v : model.getGraph().getOutputList()) {
      out.add(v.getName());
    }
    return out;
  }

  /**
   * Graph inputs that are not initializers (the data inputs).
   *
   * @return value infos of the real inputs
   */
  public List<OnnxMl.ValueInfoProto> dataInputs() {
    Set<String> init = new HashSet<>();
    for (OnnxMl.TensorProto t : model.getGraph().getInitializerList()) {
      init.add(t.getName());
    }
    List<OnnxMl.ValueInfoProto> out = new ArrayList<>();
    for (OnnxMl.ValueInfoProto v : model.getGraph().getInputList()) {
      if (!init.contains(v.getName())) {
        out.add(v);
      }
    }
    return out;
  }

  /**
   * The model with extra graph outputs appended (tensors that are already outputs are skipped).
   * Each new output is a {@code ValueInfoProto} with the tensor's name and element type float,
   * shape left unset.
   *
   * @param tensorNames tensors to expose
   * @return serialised rewritten model
   */
  public byte[] withExtraOutputs(Collection<String> tensorNames) {
    OnnxMl.GraphProto.Builder g = model.getGraph().toBuilder();
    Set<String> present = new HashSet<>(outputNames());
    for (String t : tensorNames) {
      if (present.add(t)) {
        g.addOutput(floatValueInfo(t));
      }
    }
    return model.toBuilder().setGraph(g).build().toByteArray();
  }

  /**
   * The model cut down to what {@code run} needs for one reduction: its only outputs are, for each
   * tap the graph shows is a feature map {@code [N,C,H,W]}, that map reduced over {@code H,W}
   * ({@code [N,C,1,1]}, named by {@link #reducedOutput}), and every other tap as it is. So only
   * {@code [N,C]} leaves the engine per feature map, and nothing after the last tap runs. The
   * pooling operators are the same in every opset since 2 (unlike {@code ReduceMean}, whose axes
   * moved to an input in opset 18): {@code GlobalAveragePool} (MEAN), {@code GlobalMaxPool} (MAX),
   * {@code GlobalLpPool p=2} (L2, the square root of the sum of squares), {@code Abs} then
   * {@code GlobalAveragePool} (MEAN_ABS). One reduction per model: ONNX Runtime runs every node of
   * a graph whatever outputs a run asks for, so reductions nobody fetches would still cost.
   *
   * @param tensorNames the tapped tensors
   * @param reduction {@code MEAN}, {@code MAX}, {@code L2} or {@code MEAN_ABS}
   * @return serialised rewritten model, and the taps it reduces
   * @throws IllegalArgumentException for another reduction name
   */
  public Rewritten withReducedTaps(Collection<String> tensorNames, String reduction) {
    OnnxMl.GraphProto.Builder g = model.getGraph().toBuilder().clearOutput();
    Activations acts = Activations.of(model.getGraph());
    Set<String> reduced = new LinkedHashSet<>();
    for (String t : new LinkedHashSet<>(tensorNames)) {
      if (!acts.isFeatureMap(t)) {
        g.addOutput(floatValueInfo(t));
        continue;
      }
      String out = reducedOutput(t, reduction);
      switch (reduction) {
        case "MEAN" -> g.addNode(node("GlobalAveragePool", out + "-node", t, out));
        case "MAX" -> g.addNode(node("GlobalMaxPool", out + "-node", t, out));
        case "L2" -> g.addNode(node("GlobalLpPool", out + "-node", t, out).toBuilder()
            .addAttribute(OnnxMl.AttributeProto.newBuilder().setName("p").setType(OnnxMl.AttributeProto.AttributeType.INT).setI(2))
            .build());
        case "MEAN_ABS" -> {
          g.addNode(node("Abs", out + "-abs-node", t, out + "-abs"));
          g.addNode(node("GlobalAveragePool", out + "-node", out + "-abs", out));
        }
        default -> throw new IllegalArgumentException("no in-graph form of reduction " + reduction);
      }
      g.addOutput(floatValueInfo(out));
      reduced.add(t);
    }
    return new Rewritten(model.toBuilder().setGraph(g).build().toByteArray(), Set.copyOf(reduced));
  }

  /**
   * A model rewritten by {@link #withReducedTaps}.
   *
   * @param bytes the serialised model
   * @param reducedTaps the taps it reduces (the others are outputs as they are)
   */
  public record Rewritten(byte[] bytes, Set<String> reducedTaps) {}

  /**
   * The output that holds a tap's reduction, {@code [N,C,1,1]}.
   *
   * @param tensor the tapped tensor
   * @param reduction the reduction's name: {@code MEAN}, {@code MAX}, {@code L2} or {@code MEAN_ABS}
   * @return the output name
   */
  public static String reducedOutput(String tensor, String reduction) {
    return tensor + "::tagscope-" + reduction.toLowerCase(java.util.Locale.ROOT);
  }

  private static OnnxMl.NodeProto node(String op, String name, String input, String output) {
    return OnnxMl.NodeProto.newBuilder().setOpType(op).setName(name).addInput(input).addOutput(output).build();
  }

  /**
   * The model with its outputs replaced by the given tensors; the engine then computes only
   * what they need (used to check tapping against a natively produced tensor).
   *
   * @param tensorNames the only outputs
   * @return serialised rewritten model
   */
  public byte[] withOnlyOutputs(Collection<String> tensorNames) {
    OnnxMl.GraphProto.Builder g = model.getGraph().toBuilder().clearOutput();
    for (String t : new LinkedHashSet<>(tensorNames)) {
      g.addOutput(floatValueInfo(t));
    }
    return model.toBuilder().setGraph(g).build().toByteArray();
  }

  private static OnnxMl.ValueInfoProto floatValueInfo(String name) {
    return OnnxMl.ValueInfoProto.newBuilder()
        .setName(name)
        .setType(OnnxMl.TypeProto.newBuilder()
            .setTensorType(OnnxMl.TypeProto.Tensor.newBuilder().setElemType(OnnxMl.TensorProto.DataType.FLOAT_VALUE)))
        .build();
  }

  /** Listed layers and the other activations, in graph order. */
  record Layers(List<LayerInfo> listed, List<LayerInfo> hidden) {}

  /**
   * Builds the layer lists: every activation (see {@link Activations}), default taps marked (see
   * {@link DefaultTaps}), labels with collision fallback. Listed are the activations of rank 4
   * ({@code [N,C,H,W]}), rank 2 ({@code [N,C]}, taken as-is) or a rank the graph alone does not
   * tell; the others are hidden.
   */
  static Layers describe(OnnxMl.GraphProto graph) {
    Set<String> initializers = new HashSet<>();
    for (OnnxMl.TensorProto t : graph.getInitializerList()) {
      initializers.add(t.getName());
    }
    Activations acts = Activations.of(graph);
    Map<String, String> defaults = DefaultTaps.find(graph, acts);
    record Raw(OnnxMl.NodeProto node, String tensor, String label, boolean isDefault, boolean listed) {}
    List<Raw> raw = new ArrayList<>();
    for (OnnxMl.NodeProto n : graph.getNodeList()) {
      for (int i = 0; i < n.getOutputCount(); i++) {
        String t = n.getOutput(i);
        if (t.isEmpty() || initializers.contains(t) || !acts.isActivation(t)) {
          continue;
        }
        boolean isDefault = defaults.containsKey(t);
        String label = isDefault ? defaults.get(t) : n.getOutputCount() == 1 ? scopeLabel(n.getName(), n.getOpType()) : "";
        int rank = acts.rank(t);
        raw.add(new Raw(n, t, label, isDefault, rank == 4 || rank == 2 || rank == Activations.UNKNOWN));
      }
    }
    Map<String, Integer> allCount = new HashMap<>();
    Map<String, Integer> defaultCount = new HashMap<>();
    for (Raw r : raw) {
      allCount.merge(r.label, 1, Integer::sum);
      if (r.isDefault) {
        defaultCount.merge(r.label, 1, Integer::sum);
      }
    }
    Set<String> tensorNames = new HashSet<>();
    for (Raw r : raw) {
      tensorNames.add(r.tensor);
    }
    List<LayerInfo> listed = new ArrayList<>();
    List<LayerInfo> hidden = new ArrayList<>();
    Set<String> used = new HashSet<>();
    for (Raw r : raw) {
      String label = r.label;
      boolean keep = !label.isEmpty()
          && (r.isDefault ? defaultCount.get(label) == 1 : allCount.get(label) == 1 && !defaultCount.containsKey(label))
          && (!tensorNames.contains(label) || label.equals(r.tensor));
      String chosen = keep ? label : r.tensor;
      if (!used.add(chosen)) { // a tensor name equal to another node's label: keep the tensor name unique
        chosen = r.tensor;
        used.add(chosen);
      }
      (r.listed ? listed : hidden).add(new LayerInfo(chosen, r.node.getName(), r.node.getOpType(), r.tensor, r.isDefault));
    }
    return new Layers(listed, hidden);
  }

  /**
   * The label of a node from its scoped name: the innermost scope. A PyTorch export names
   * nodes {@code /<module path>/<Op>[_k]}, so {@code /conv1/Conv} is {@code conv1} and
   * {@code /layer1/layer1.0/Relu_1} is {@code layer1.0}. An innermost scope that only names
   * the operator itself (a functional module such as torchvision's {@code relu_2} in
   * {@code /layer1/layer1.0/relu_2/Relu}) is skipped when an outer scope exists.
   *
   * @param nodeName scoped node name
   * @param opType the node's operator
   * @return the label, or empty when the node has no scope
   */
  static String scopeLabel(String nodeName, String opType) {
    List<String> scope = moduleScope(nodeName, opType);
    return scope.isEmpty() ? "" : scope.get(scope.size() - 1);
  }

  /**
   * The module scopes of a node, outermost first: every part of its name but the last (the
   * operator), so {@code /layer1/layer1.0/conv1/Conv} lies in {@code [layer1, layer1.0, conv1]}.
   *
   * @param nodeName scoped node name
   * @return the scopes, empty when the node has none
   */
  static List<String> scope(String nodeName) {
    List<String> parts = new ArrayList<>();
    for (String p : nodeName.split("/")) {
      if (!p.isEmpty()) {
        parts.add(p);
      }
    }
    return parts.size() < 2 ? List.of() : List.copyOf(parts.subList(0, parts.size() - 1));
  }

  /**
   * The scopes of the module a node belongs to: {@link #scope(String)} without an innermost
   * scope that only names the operator itself (see {@link #scopeLabel(String, String)}).
   *
   * @param nodeName scoped node name
   * @param opType the node's operator
   * @return the scopes, outermost first
   */
  static List<String> moduleScope(String nodeName, String opType) {
    List<String> scope = scope(nodeName);
    if (scope.size() >= 2 && Pattern.compile(Pattern.quote(opType) + "(_\\d+)?", Pattern.CASE_INSENSITIVE)
        .matcher(scope.get(scope.size() - 1)).matches()) {
      return scope.subList(0, scope.size() - 1);
    }
    return scope;
  }

}
