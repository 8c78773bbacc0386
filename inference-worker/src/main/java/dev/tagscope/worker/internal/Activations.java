package dev.tagscope.worker.internal;

import ai.onnx.proto.OnnxMl;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Which tensors of an ONNX graph are activations, and their rank as far as it follows from the
 * graph alone (no engine session).
 *
 * <p>An <em>activation</em> is a node output computed from a data input (a graph input that is
 * not an initializer). Initializers, {@code Constant} outputs, and whatever is computed from them
 * alone (weights passed through {@code Identity}, as PyTorch exports shared weights) are not;
 * nor are {@code Shape} and {@code Size} outputs, which describe a tensor rather than carry its
 * values, nor what is computed from those and constants alone.
 *
 * <p>The rank comes from a declared shape ({@code value_info}, graph inputs and outputs) where
 * there is one, else from the operator: shape-preserving operators (pointwise functions,
 * normalisations, convolutions, pooling, {@code Pad}, {@code Resize}, {@code Concat} ...) keep
 * their first input's rank, broadcasting operators ({@code Add}, {@code Mul} ...) take the largest
 * rank of their inputs, {@code Flatten} and {@code Gemm} give 2, and {@code Squeeze},
 * {@code Unsqueeze}, {@code Reshape} and {@code Gather} follow their constant axes or shape. Any
 * other operator, or an axes or shape input computed at run time, leaves the rank unknown.
 */
final class Activations {
  /** The rank of a tensor the graph alone does not determine. */
  static final int UNKNOWN = -1;

  private static final Set<String> SAME_RANK = Set.of(
      "Relu", "LeakyRelu", "PRelu", "Elu", "Selu", "Celu", "Gelu", "Sigmoid", "HardSigmoid", "HardSwish", "Tanh",
      "Softplus", "Softsign", "Mish", "Clip", "ThresholdedRelu", "Erf", "Abs", "Neg", "Exp", "Log", "Sqrt",
      "Reciprocal", "Floor", "Ceil", "Round", "Sign", "Identity", "Dropout", "Cast", "Softmax", "LogSoftmax",
      "BatchNormalization", "InstanceNormalization", "LayerNormalization", "GroupNormalization", "LRN",
      "Conv", "ConvTranspose", "MaxPool", "AveragePool", "LpPool", "GlobalAveragePool", "GlobalMaxPool",
      "GlobalLpPool", "Pad", "Resize", "Upsample", "DepthToSpace", "SpaceToDepth", "Transpose", "Concat", "Split",
      "Slice", "Tile", "QuantizeLinear", "DequantizeLinear");
  private static final Set<String> BROADCAST = Set.of(
      "Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Sum", "Mean", "Where");
  private static final Set<String> METADATA = Set.of("Shape", "Size");

  private final Set<String> activations;
  private final Map<String, Integer> ranks;

  private Activations(Set<String> activations, Map<String, Integer> ranks) {
    this.activations = activations;
    this.ranks = ranks;
  }

  /**
   * Analyses a graph (its nodes in the topological order that ONNX requires).
   *
   * @param graph the graph
   * @return the activations and ranks
   */
  static Activations of(OnnxMl.GraphProto graph) {
    Map<String, OnnxMl.TensorProto> constants = new HashMap<>();
    Map<String, Integer> ranks = new HashMap<>();
    for (OnnxMl.TensorProto t : graph.getInitializerList()) {
      constants.put(t.getName(), t);
      ranks.put(t.getName(), t.getDimsCount());
    }
    Map<String, Integer> declared = new HashMap<>();
    for (List<OnnxMl.ValueInfoProto> infos : List.of(graph.getInputList(), graph.getValueInfoList(),
        graph.getOutputList())) {
      for (OnnxMl.ValueInfoProto v : infos) {
        if (v.getType().hasTensorType() && v.getType().getTensorType().hasShape()) {
          declared.put(v.getName(), v.getType().getTensorType().getShape().getDimCount());
        }
      }
    }
    Set<String> activations = new HashSet<>();
    for (OnnxMl.ValueInfoProto v : graph.getInputList()) {
      if (!constants.containsKey(v.getName())) {
        activations.add(v.getName());
        ranks.put(v.getName(), declared.getOrDefault(v.getName(), UNKNOWN));
      }
    }
    for (OnnxMl.NodeProto n : graph.getNodeList()) {
      if (n.getOpType().equals("Constant")) {
        OnnxMl.TensorProto value = constantValue(n);
        if (value != null && n.getOutputCount() == 1) {
          constants.put(n.getOutput(0), value);
          ranks.put(n.getOutput(0), value.getDimsCount());
        }
        continue;
      }
      boolean computed = !METADATA.contains(n.getOpType()) && n.getInputList().stream().anyMatch(activations::contains);
      for (int i = 0; i < n.getOutputCount(); i++) {
        String out = n.getOutput(i);
        if (out.isEmpty()) {
          continue;
        }
        ranks.put(out, declared.getOrDefault(out, inferRank(n, i, ranks, constants)));
        if (computed) {
          activations.add(out);
        }
      }
    }
    return new Activations(activations, ranks);
  }

  /**
   * Whether a tensor is an activation.
   *
   * @param tensor tensor name
   * @return true when it is computed from a data input
   */
  boolean isActivation(String tensor) {
    return activations.contains(tensor);
  }

  /**
   * The rank of a tensor.
   *
   * @param tensor tensor name
   * @return its rank, or {@link #UNKNOWN}
   */
  int rank(String tensor) {
    return ranks.getOrDefault(tensor, UNKNOWN);
  }

  /**
   * Whether a tensor is a feature map: an activation of rank 4, {@code [N,C,H,W]}.
   *
   * @param tensor tensor name
   * @return true for a rank-4 activation
   */
  boolean isFeatureMap(String tensor) {
    return isActivation(tensor) && rank(tensor) == 4;
  }

  private static OnnxMl.TensorProto constantValue(OnnxMl.NodeProto n) {
    for (OnnxMl.AttributeProto a : n.getAttributeList()) {
      switch (a.getName()) {
        case "value":
          return a.getT();
        case "value_float":
        case "value_int":
        case "value_string":
          return OnnxMl.TensorProto.getDefaultInstance();
        case "value_floats":
        case "value_ints":
        case "value_strings":
          return OnnxMl.TensorProto.newBuilder()
              .addDims(Math.max(a.getFloatsCount(), Math.max(a.getIntsCount(), a.getStringsCount()))).build();
        default:
          break;
      }
    }
    return null;
  }

  private static int inferRank(OnnxMl.NodeProto n, int output, Map<String, Integer> ranks,
                               Map<String, OnnxMl.TensorProto> constants) {
    String op = n.getOpType();
    int first = n.getInputCount() > 0 ? ranks.getOrDefault(n.getInput(0), UNKNOWN) : UNKNOWN;
    if (SAME_RANK.contains(op)) {
      return output == 0 || op.equals("Split") ? first : UNKNOWN;
    }
    if (BROADCAST.contains(op)) {
      int max = 0;
      for (String in : n.getInputList()) {
        int r = ranks.getOrDefault(in, UNKNOWN);
        if (r == UNKNOWN) {
          return UNKNOWN;
        }
        max = Math.max(max, r);
      }
      return max;
    }
    switch (op) {
      case "Flatten":
      case "Gemm":
        return 2;
      case "Shape":
        return 1;
      case "Size":
        return 0;
      case "Squeeze":
      case "Unsqueeze": {
        long[] axes = axes(n, constants);
        if (first == UNKNOWN || axes == null) {
          return UNKNOWN;
        }
        return op.equals("Squeeze") ? first - axes.length : first + axes.length;
      }
      case "Reshape": {
        OnnxMl.TensorProto shape = n.getInputCount() > 1 ? constants.get(n.getInput(1)) : null;
        return shape != null && shape.getDimsCount() == 1 ? (int) shape.getDims(0) : UNKNOWN;
      }
      case "Gather": {
        int indices = n.getInputCount() > 1 ? ranks.getOrDefault(n.getInput(1), UNKNOWN) : UNKNOWN;
        return first == UNKNOWN || indices == UNKNOWN ? UNKNOWN : first + indices - 1;
      }
      default:
        return UNKNOWN;
    }
  }

  /** The axes of Squeeze/Unsqueeze: the attribute (opset 11 and before) or a constant second input (13 on). */
  private static long[] axes(OnnxMl.NodeProto n, Map<String, OnnxMl.TensorProto> constants) {
    for (OnnxMl.AttributeProto a : n.getAttributeList()) {
      if (a.getName().equals("axes")) {
        return a.getIntsList().stream().mapToLong(Long::longValue).toArray();
      }
    }
    if (n.getInputCount() < 2 || !constants.containsKey(n.getInput(1))) {
      return null;
    }
    OnnxMl.TensorProto t = constants.get(n.getInput(1));
    if (t.getDimsCount() == 0) {
      return new long[1];
    }
    return new long[(int) t.getDims(0)];
  }
}
