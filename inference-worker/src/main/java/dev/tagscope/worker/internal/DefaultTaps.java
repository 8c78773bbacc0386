package dev.tagscope.worker.internal;

import ai.onnx.proto.OnnxMl;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The layers a model taps when none are configured: the output of every stage a user would name.
 *
 * <ol>
 *   <li><b>The first convolution</b>: the output of the graph's first {@code Conv}, before any
 *       BatchNorm or nonlinearity. It is linear in the pixels, so it answers at the tagging
 *       frequencies only: a built-in check that the measurement adds no harmonics of its own.
 *   <li><b>Residual blocks</b> (He et al. 2016) and <b>inverted residuals with a skip</b>
 *       (Sandler et al. 2018): every {@code Add} or {@code Sum} that joins two activation paths
 *       (a block's branch and its skip path). The tap is the join's output, or the output of the
 *       nonlinearity right after it when that is the join's only consumer. Named after the join's
 *       module ({@code layer1.0}, {@code features.3}).
 *   <li><b>Blocks without a skip</b>, in a network that has residual blocks: every child that
 *       holds no residual block but a convolution, of every module that holds a residual block at
 *       any depth ({@code features} and {@code layer2} in torchvision's MobileNetV2 and ResNet;
 *       {@code features} and {@code features.2} in EfficientNet). That is an inverted residual
 *       that changes stride or width, which ends at its projection convolution (after its
 *       BatchNorm, when not folded), or a stem or head convolution unit among the blocks. The tap
 *       is the one activation the block passes to the rest of the graph (what a forward hook on
 *       that module returns); named after the module ({@code features.2}). The top level is no
 *       such module, so the stem of a ResNet ({@code conv1}, {@code relu}, {@code maxpool}) is
 *       represented by rule 1 alone.
 *   <li><b>Plain convolution stacks</b>, in a network without residual blocks (VGG, LeNet): every
 *       {@code Conv}, optionally followed by a {@code BatchNormalization}, that is followed by a
 *       nonlinearity ({@code Relu}, {@code Clip} as ReLU6, {@code LeakyRelu}, {@code Sigmoid},
 *       {@code HardSwish}, SiLU written out as {@code x * Sigmoid(x)} ...): the nonlinearity's
 *       output, named after its module ({@code features.1}).
 * </ol>
 *
 * <p>Only feature maps ({@code [N,C,H,W]} activations, see {@link Activations}) are default
 * taps. Modules are read from node names as a PyTorch export writes them: node
 * {@code /features/features.2/conv/conv.3/BatchNormalization} lies in module {@code features.2}
 * of {@code features}. A graph without scoped node names gets rules 1, 2 and 4, with tensor names
 * where no module name exists.
 */
final class DefaultTaps {
  private static final Set<String> NONLINEAR = Set.of("Relu", "LeakyRelu", "PRelu", "Elu", "Selu", "Celu", "Gelu",
      "Sigmoid", "HardSigmoid", "HardSwish", "Tanh", "Clip", "Softplus", "Mish", "ThresholdedRelu");
  private static final Set<String> GATES = Set.of("Sigmoid", "HardSigmoid");

  private final OnnxMl.GraphProto graph;
  private final Activations acts;
  private final Map<String, List<OnnxMl.NodeProto>> consumers = new HashMap<>();
  private final Set<String> graphOutputs = new HashSet<>();
  private final Map<String, String> taps = new LinkedHashMap<>();

  private DefaultTaps(OnnxMl.GraphProto graph, Activations acts) {
    this.graph = graph;
    this.acts = acts;
    for (OnnxMl.NodeProto n : graph.getNodeList()) {
      for (String in : n.getInputList()) {
        consumers.computeIfAbsent(in, k -> new ArrayList<>()).add(n);
      }
    }
    for (OnnxMl.ValueInfoProto v : graph.getOutputList()) {
      graphOutputs.add(v.getName());
    }
  }

  /**
   * Finds the default taps of a graph.
   *
   * @param graph the graph
   * @param acts its activations
   * @return tensor name to label (the module name; empty where the node has no module scope)
   */
  static Map<String, String> find(OnnxMl.GraphProto graph, Activations acts) {
    DefaultTaps d = new DefaultTaps(graph, acts);
    d.firstConvolution();
    List<List<String>> blocks = d.residualBlocks();
    if (blocks.isEmpty()) {
      d.plainStack();
    } else {
      d.blocksWithoutSkip(blocks);
    }
    return Collections.unmodifiableMap(d.taps);
  }

  private void firstConvolution() {
    for (OnnxMl.NodeProto n : graph.getNodeList()) {
      if (n.getOpType().equals("Conv") && n.getOutputCount() > 0 && acts.isFeatureMap(n.getOutput(0))) {
        taps.put(n.getOutput(0), OnnxGraph.scopeLabel(n.getName(), n.getOpType()));
        return;
      }
    }
  }

  /** Rule 2; returns the module scope of each join. */
  private List<List<String>> residualBlocks() {
    List<List<String>> blocks = new ArrayList<>();
    for (OnnxMl.NodeProto n : graph.getNodeList()) {
      boolean join = (n.getOpType().equals("Add") || n.getOpType().equals("Sum")) && n.getOutputCount() == 1
          && acts.isFeatureMap(n.getOutput(0))
          && n.getInputList().stream().filter(acts::isActivation).count() >= 2;
      if (!join) {
        continue;
      }
      OnnxMl.NodeProto end = nonlinearityAfter(n.getOutput(0));
      OnnxMl.NodeProto tap = end != null && acts.isFeatureMap(end.getOutput(0)) ? end : n;
      List<String> scope = OnnxGraph.moduleScope(n.getName(), n.getOpType());
      String label = scope.isEmpty() ? OnnxGraph.scopeLabel(tap.getName(), tap.getOpType()) : scope.get(scope.size() - 1);
      taps.putIfAbsent(tap.getOutput(0), label);
      blocks.add(scope);
    }
    return blocks;
  }

  /** Rule 3: the other children of each module that holds a residual block, at any depth below the top level. */
  private void blocksWithoutSkip(List<List<String>> blocks) {
    Set<List<String>> containers = new LinkedHashSet<>();
    for (List<String> b : blocks) {
      for (int k = b.size() - 1; k >= 1; k--) {
        containers.add(b.subList(0, k));
      }
    }
    for (List<String> container : containers) {
      Map<String, List<OnnxMl.NodeProto>> children = new LinkedHashMap<>();
      for (OnnxMl.NodeProto n : graph.getNodeList()) {
        List<String> s = OnnxGraph.scope(n.getName());
        if (s.size() > container.size() && s.subList(0, container.size()).equals(container)) {
          children.computeIfAbsent(s.get(container.size()), k -> new ArrayList<>()).add(n);
        }
      }
      children.forEach((child, members) -> {
        List<String> path = new ArrayList<>(container);
        path.add(child);
        boolean holdsJoin = blocks.stream().anyMatch(b -> b.size() >= path.size() && b.subList(0, path.size()).equals(path));
        boolean hasConv = members.stream().anyMatch(m -> m.getOpType().equals("Conv"));
        String out = holdsJoin || !hasConv ? null : singleOutput(members);
        if (out != null && acts.isFeatureMap(out)) {
          taps.putIfAbsent(out, child);
        }
      });
    }
  }

  /** Rule 4. */
  private void plainStack() {
    for (OnnxMl.NodeProto n : graph.getNodeList()) {
      if (!n.getOpType().equals("Conv") || n.getOutputCount() == 0 || !acts.isFeatureMap(n.getOutput(0))) {
        continue;
      }
      String t = n.getOutput(0);
      List<OnnxMl.NodeProto> next = consumers.getOrDefault(t, List.of());
      if (next.size() == 1 && next.get(0).getOpType().equals("BatchNormalization")) {
        t = next.get(0).getOutput(0);
      }
      OnnxMl.NodeProto act = nonlinearityAfter(t);
      if (act != null && acts.isFeatureMap(act.getOutput(0))) {
        taps.putIfAbsent(act.getOutput(0), OnnxGraph.scopeLabel(act.getName(), act.getOpType()));
      }
    }
  }

  /**
   * The nonlinearity applied to a tensor: its only consumer when that is a nonlinearity, or the
   * {@code Mul} of {@code x * Sigmoid(x)} (SiLU, and HardSwish with HardSigmoid, written out).
   */
  private OnnxMl.NodeProto nonlinearityAfter(String t) {
    List<OnnxMl.NodeProto> next = consumers.getOrDefault(t, List.of());
    if (next.size() == 1 && NONLINEAR.contains(next.get(0).getOpType()) && next.get(0).getInput(0).equals(t)) {
      return next.get(0);
    }
    if (next.size() == 2) {
      for (int i = 0; i < 2; i++) {
        OnnxMl.NodeProto gate = next.get(i);
        OnnxMl.NodeProto mul = next.get(1 - i);
        if (GATES.contains(gate.getOpType()) && mul.getOpType().equals("Mul")
            && mul.getInputList().containsAll(List.of(t, gate.getOutput(0)))) {
          return mul;
        }
      }
    }
    return null;
  }

  /** The one activation that a group of nodes passes on (to another node or as a graph output), else null. */
  private String singleOutput(List<OnnxMl.NodeProto> members) {
    Set<OnnxMl.NodeProto> inside = Collections.newSetFromMap(new IdentityHashMap<>());
    inside.addAll(members);
    String found = null;
    for (OnnxMl.NodeProto m : members) {
      for (String o : m.getOutputList()) {
        boolean leaves = graphOutputs.contains(o)
            || consumers.getOrDefault(o, List.of()).stream().anyMatch(c -> !inside.contains(c));
        if (acts.isActivation(o) && leaves) {
          if (found != null) {
            return null;
          }
          found = o;
        }
      }
    }
    return found;
  }
}
