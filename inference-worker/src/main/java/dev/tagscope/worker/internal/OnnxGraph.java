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

  private OnnxGraph(OnnxMl.ModelProto model) {
    this.model = model;
    this.layers = List.copyOf(describe(model.getGraph()));
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
   * Every tappable tensor in graph order.
   *
   * @return all node outputs except those of Constant nodes
   */
  public List<LayerInfo> layers() {
    return layers;
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

  /** Builds the layer list: default taps, labels with collision fallback. */
  static List<LayerInfo> describe(OnnxMl.GraphProto graph) {
    Set<String> initializers = new HashSet<>();
    for (OnnxMl.TensorProto t : graph.getInitializerList()) {
      initializers.add(t.getName());
    }
    Map<String, OnnxMl.NodeProto> producer = new HashMap<>();
    for (OnnxMl.NodeProto n : graph.getNodeList()) {
      for (String o : n.getOutputList()) {
        producer.put(o, n);
      }
    }
    String firstConv = null;
    for (OnnxMl.NodeProto n : graph.getNodeList()) {
      if (n.getOpType().equals("Conv") && n.getOutputCount() > 0) {
        firstConv = n.getOutput(0);
        break;
      }
    }
    record Raw(OnnxMl.NodeProto node, String tensor, String label, boolean isDefault) {}
    List<Raw> raw = new ArrayList<>();
    for (OnnxMl.NodeProto n : graph.getNodeList()) {
      if (n.getOpType().equals("Constant")) {
        continue;
      }
      boolean residualOut = n.getOpType().equals("Relu") && n.getInputCount() > 0
          && producer.containsKey(n.getInput(0)) && producer.get(n.getInput(0)).getOpType().equals("Add");
      for (int i = 0; i < n.getOutputCount(); i++) {
        String t = n.getOutput(i);
        if (t.isEmpty() || initializers.contains(t)) {
          continue;
        }
        boolean isDefault = (i == 0) && (t.equals(firstConv) || residualOut);
        String label = n.getOutputCount() == 1 ? scopeLabel(n.getName(), n.getOpType()) : "";
        raw.add(new Raw(n, t, label, isDefault));
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
    List<LayerInfo> out = new ArrayList<>();
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
      out.add(new LayerInfo(chosen, r.node.getName(), r.node.getOpType(), r.tensor, r.isDefault));
    }
    return out;
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
    List<String> parts = new ArrayList<>();
    for (String p : nodeName.split("/")) {
      if (!p.isEmpty()) {
        parts.add(p);
      }
    }
    if (parts.size() < 2) {
      return "";
    }
    List<String> scope = parts.subList(0, parts.size() - 1);
    String last = scope.get(scope.size() - 1);
    if (scope.size() >= 2
        && Pattern.compile(Pattern.quote(opType) + "(_\\d+)?", Pattern.CASE_INSENSITIVE).matcher(last).matches()) {
      last = scope.get(scope.size() - 2);
    }
    return last;
  }
}
