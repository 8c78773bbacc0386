package dev.tagscope.worker.internal;

import ai.onnx.proto.OnnxMl;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Graph rewrites for filter ablation (Morcos et al., ICLR 2018, section 2: "ablate" a unit by
 * clamping its activation to 0). A tapped tensor {@code T} of shape {@code [N,C,H,W]} gets a
 * channel mask: a new graph input {@code M} of shape {@code [N,C,1,1]} and a node
 * {@code Mul(T, M)} whose output replaces {@code T} for every consumer, so one session serves
 * every filter and every set of filters (a row's mask has 0 at the ablated channels, 1 elsewhere).
 *
 * <p>{@link #layerCut} also cuts the graph at {@code T}: only the nodes downstream of {@code T}
 * stay, and the tensors they read from upstream (the <em>frontier</em>: {@code T} itself, plus
 * any tensor that bypasses it, such as a residual shortcut around a tap inside a block) become
 * graph inputs. The upstream part is then computed once per image and reused for every mask.
 */
public final class AblationGraph {
  /** Suffix of the masked copy of a tapped tensor. */
  static final String MASKED_SUFFIX = "::tagscope-masked";

  private AblationGraph() {}

  /**
   * A sub-graph from one tapped tensor to the model outputs, with a channel mask on the tensor.
   *
   * @param model serialised {@code ModelProto} of the sub-graph
   * @param frontier tensors the sub-graph reads from the upstream part, graph input names; the
   *     tapped tensor is the first
   * @param mask name of the mask input, float {@code [N,C,1,1]}
   * @param outputs the original model outputs the sub-graph computes, in graph order
   */
  public record Cut(byte[] model, List<String> frontier, String mask, List<String> outputs) {}

  /**
   * Cuts {@code model} at {@code tensor} and masks it (see the class comment).
   *
   * @param model the model
   * @param tensor a tensor produced by a node of the graph
   * @param maskName name of the new mask input
   * @return the cut
   * @throws IllegalArgumentException when no node produces {@code tensor}, or no model output
   *     depends on it (ablating it would change nothing)
   */
  public static Cut layerCut(OnnxMl.ModelProto model, String tensor, String maskName) {
    OnnxMl.GraphProto g = model.getGraph();
    Map<String, OnnxMl.NodeProto> producer = producers(g);
    if (!producer.containsKey(tensor)) {
      throw new IllegalArgumentException("tensor '" + tensor + "' is not produced by any node of the graph");
    }
    Set<String> initializers = initializerNames(g);
    // Nodes downstream of the tensor, in graph (topological) order.
    Set<String> downstreamTensors = new HashSet<>(Set.of(tensor));
    Set<OnnxMl.NodeProto> downstream = new LinkedHashSet<>();
    for (OnnxMl.NodeProto n : g.getNodeList()) {
      for (String in : n.getInputList()) {
        if (downstreamTensors.contains(in)) {
          downstream.add(n);
          downstreamTensors.addAll(n.getOutputList());
          break;
        }
      }
    }
    List<String> outputs = new ArrayList<>();
    for (OnnxMl.ValueInfoProto o : g.getOutputList()) {
      if (downstreamTensors.contains(o.getName()) && !o.getName().equals(tensor)) {
        outputs.add(o.getName());
      }
    }
    if (outputs.isEmpty()) {
      throw new IllegalArgumentException("no model output depends on tensor '" + tensor + "': ablating it changes nothing");
    }
    // Walk back from the outputs through downstream nodes; what they read from outside is the frontier.
    Set<OnnxMl.NodeProto> needed = new HashSet<>();
    LinkedHashSet<String> frontier = new LinkedHashSet<>(List.of(tensor));
    Deque<String> todo = new ArrayDeque<>(outputs);
    Set<String> seen = new HashSet<>();
    while (!todo.isEmpty()) {
      String t = todo.pop();
      if (!seen.add(t) || t.isEmpty() || initializers.contains(t) || t.equals(tensor)) {
        continue;
      }
      OnnxMl.NodeProto p = producer.get(t);
      if (p != null && (downstream.contains(p) || p.getOpType().equals("Constant"))) {
        if (needed.add(p)) {
          todo.addAll(p.getInputList());
        }
      } else {
        frontier.add(t); // made upstream (or a graph input), read by the downstream part
      }
    }
    OnnxMl.GraphProto.Builder b = g.toBuilder().clearNode().clearInput().clearOutput().clearInitializer().clearValueInfo();
    Set<String> used = new HashSet<>();
    String masked = tensor + MASKED_SUFFIX;
    b.addNode(maskNode(tensor, maskName, masked));
    used.add(maskName);
    for (OnnxMl.NodeProto n : g.getNodeList()) {
      if (needed.contains(n)) {
        OnnxMl.NodeProto rn = rewireInput(n, tensor, masked);
        b.addNode(rn);
        used.addAll(rn.getInputList());
      }
    }
    for (String f : frontier) {
      b.addInput(valueInfoOf(g, f));
    }
    b.addInput(maskInfo(maskName));
    for (OnnxMl.TensorProto t : g.getInitializerList()) {
      if (used.contains(t.getName())) {
        b.addInitializer(t);
      }
    }
    for (OnnxMl.ValueInfoProto o : g.getOutputList()) {
      if (outputs.contains(o.getName())) {
        b.addOutput(o);
      }
    }
    byte[] bytes = model.toBuilder().setGraph(b).build().toByteArray();
    return new Cut(bytes, List.copyOf(frontier), maskName, List.copyOf(outputs));
  }

  /**
   * The whole model with a channel mask on each of the given tensors (no cut): input images in,
   * model outputs out, one mask input per tensor.
   *
   * @param model the model
   * @param tensorToMask tapped tensor name to the name of its mask input
   * @return serialised rewritten model
   * @throws IllegalArgumentException when a tensor is not produced by a node of the graph
   */
  public static byte[] maskedNetwork(OnnxMl.ModelProto model, Map<String, String> tensorToMask) {
    OnnxMl.GraphProto g = model.getGraph();
    Map<String, OnnxMl.NodeProto> producer = producers(g);
    Map<String, String> maskedName = new HashMap<>();
    for (String t : tensorToMask.keySet()) {
      if (!producer.containsKey(t)) {
        throw new IllegalArgumentException("tensor '" + t + "' is not produced by any node of the graph");
      }
      maskedName.put(t, t + MASKED_SUFFIX);
    }
    OnnxMl.GraphProto.Builder b = g.toBuilder().clearNode();
    for (OnnxMl.NodeProto n : g.getNodeList()) {
      OnnxMl.NodeProto rn = n;
      for (Map.Entry<String, String> e : maskedName.entrySet()) {
        rn = rewireInput(rn, e.getKey(), e.getValue());
      }
      b.addNode(rn);
      for (String o : n.getOutputList()) {
        if (tensorToMask.containsKey(o)) { // right after its producer, so the order stays topological
          b.addNode(maskNode(o, tensorToMask.get(o), maskedName.get(o)));
        }
      }
    }
    for (String m : tensorToMask.values()) {
      b.addInput(maskInfo(m));
    }
    return model.toBuilder().setGraph(b).build().toByteArray();
  }

  /**
   * The convolutions that write the channels of a tensor, found by walking back through
   * per-channel elementwise operators (ReLU, BatchNormalization, ...). At an {@code Add} (a
   * residual sum) each summand is followed the same way and every summand that reaches a
   * convolution directly counts (the block's last convolution, and a 1x1 projection shortcut);
   * an identity shortcut, which reaches another block's output, does not.
   *
   * @param model the model
   * @param tensor the tapped tensor
   * @return the producing {@code Conv} nodes; empty when the walk meets another operator first
   */
  public static List<OnnxMl.NodeProto> producingConvolutions(OnnxMl.ModelProto model, String tensor) {
    Map<String, OnnxMl.NodeProto> producer = producers(model.getGraph());
    OnnxMl.NodeProto n = throughElementwise(producer, tensor);
    List<OnnxMl.NodeProto> out = new ArrayList<>();
    if (n == null) {
      return out;
    }
    if (n.getOpType().equals("Conv")) {
      out.add(n);
    } else if (n.getOpType().equals("Add") || n.getOpType().equals("Sum")) {
      for (String in : n.getInputList()) {
        OnnxMl.NodeProto p = throughElementwise(producer, in);
        if (p != null && p.getOpType().equals("Conv")) {
          out.add(p);
        }
      }
    }
    return out;
  }

  /**
   * The L1 norm of each output channel's weights of a convolution, {@code sum |W[k,:,:,:]|}
   * (Li et al., ICLR 2017, "Pruning Filters for Efficient ConvNets", section 3.1).
   *
   * @param model the model
   * @param conv a {@code Conv} node whose weight is an initializer
   * @return {@code [C_out]} L1 norms
   * @throws IllegalArgumentException when the weight is not a float initializer
   */
  public static double[] convWeightL1(OnnxMl.ModelProto model, OnnxMl.NodeProto conv) {
    String w = conv.getInput(1);
    for (OnnxMl.TensorProto t : model.getGraph().getInitializerList()) {
      if (t.getName().equals(w)) {
        if (t.getDataType() != OnnxMl.TensorProto.DataType.FLOAT_VALUE || t.getDimsCount() < 2) {
          throw new IllegalArgumentException("weight '" + w + "' of " + conv.getName() + " is not a float tensor [C_out,...]");
        }
        float[] data = floats(t);
        int cout = (int) t.getDims(0);
        int per = data.length / cout;
        double[] l1 = new double[cout];
        for (int k = 0; k < cout; k++) {
          double s = 0;
          for (int i = k * per; i < (k + 1) * per; i++) {
            s += Math.abs(data[i]);
          }
          l1[k] = s;
        }
        return l1;
      }
    }
    throw new IllegalArgumentException("weight '" + w + "' of " + conv.getName() + " is not an initializer of the graph");
  }

  /** A float initializer's values, from {@code raw_data} (little-endian) or {@code float_data}. */
  static float[] floats(OnnxMl.TensorProto t) {
    if (!t.getRawData().isEmpty()) {
      ByteBuffer bb = t.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
      float[] out = new float[bb.remaining() / 4];
      bb.asFloatBuffer().get(out);
      return out;
    }
    float[] out = new float[t.getFloatDataCount()];
    for (int i = 0; i < out.length; i++) {
      out[i] = t.getFloatData(i);
    }
    return out;
  }

  /** Operators that act on each channel on its own, so a channel's values come from the same channel before them. */
  private static final Set<String> PER_CHANNEL = Set.of("Relu", "LeakyRelu", "Clip", "Sigmoid", "HardSigmoid",
      "HardSwish", "Tanh", "Elu", "Selu", "PRelu", "Identity", "BatchNormalization", "Dropout");

  private static OnnxMl.NodeProto throughElementwise(Map<String, OnnxMl.NodeProto> producer, String tensor) {
    OnnxMl.NodeProto n = producer.get(tensor);
    while (n != null && PER_CHANNEL.contains(n.getOpType())) {
      n = producer.get(n.getInput(0));
    }
    return n;
  }

  private static OnnxMl.NodeProto maskNode(String tensor, String mask, String masked) {
    return OnnxMl.NodeProto.newBuilder().setOpType("Mul").setName("tagscope-ablation-mask/" + tensor)
        .addInput(tensor).addInput(mask).addOutput(masked).build();
  }

  private static OnnxMl.NodeProto rewireInput(OnnxMl.NodeProto n, String from, String to) {
    if (!n.getInputList().contains(from)) {
      return n;
    }
    OnnxMl.NodeProto.Builder nb = n.toBuilder().clearInput();
    for (String in : n.getInputList()) {
      nb.addInput(in.equals(from) ? to : in);
    }
    return nb.build();
  }

  /** {@code float [N,C,1,1]} with symbolic N and C. */
  private static OnnxMl.ValueInfoProto maskInfo(String name) {
    OnnxMl.TensorShapeProto.Builder shape = OnnxMl.TensorShapeProto.newBuilder()
        .addDim(OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimParam("N"))
        .addDim(OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimParam("C_" + Math.abs(name.hashCode())))
        .addDim(OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimValue(1))
        .addDim(OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimValue(1));
    return OnnxMl.ValueInfoProto.newBuilder().setName(name)
        .setType(OnnxMl.TypeProto.newBuilder().setTensorType(OnnxMl.TypeProto.Tensor.newBuilder()
            .setElemType(OnnxMl.TensorProto.DataType.FLOAT_VALUE).setShape(shape)))
        .build();
  }

  /** The tensor's declared type where the graph has one (inputs, value_info), else float of unknown shape. */
  private static OnnxMl.ValueInfoProto valueInfoOf(OnnxMl.GraphProto g, String name) {
    for (OnnxMl.ValueInfoProto v : g.getValueInfoList()) {
      if (v.getName().equals(name)) {
        return v;
      }
    }
    for (OnnxMl.ValueInfoProto v : g.getInputList()) {
      if (v.getName().equals(name)) {
        return v;
      }
    }
    return OnnxMl.ValueInfoProto.newBuilder().setName(name)
        .setType(OnnxMl.TypeProto.newBuilder().setTensorType(OnnxMl.TypeProto.Tensor.newBuilder()
            .setElemType(OnnxMl.TensorProto.DataType.FLOAT_VALUE)))
        .build();
  }

  private static Map<String, OnnxMl.NodeProto> producers(OnnxMl.GraphProto g) {
    Map<String, OnnxMl.NodeProto> producer = new HashMap<>();
    for (OnnxMl.NodeProto n : g.getNodeList()) {
      for (String o : n.getOutputList()) {
        producer.put(o, n);
      }
    }
    return producer;
  }

  private static Set<String> initializerNames(OnnxMl.GraphProto g) {
    Set<String> out = new HashSet<>();
    for (OnnxMl.TensorProto t : g.getInitializerList()) {
      out.add(t.getName());
    }
    return out;
  }
}
