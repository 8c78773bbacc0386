package dev.tagscope.worker;

/**
 * One tappable tensor of a model: the output of one graph node, as listed by
 * {@link ActivationModel#listLayers()} and shown by {@code tagscope worker --list-layers}.
 *
 * <p>The {@code label} is the layer name used on the wire (ActivationFrame.layer and the key
 * {@code probeId/layer}). It is the node's scope in the exported graph, e.g. node
 * {@code /conv1/Conv} is {@code conv1} and node {@code /layer1/layer1.0/Relu_1} is
 * {@code layer1.0}; where that is empty or shared with another node the tensor name is the label.
 *
 * @param label layer name, unique within the model
 * @param nodeName name of the node that produces the tensor, e.g. {@code /layer1/layer1.0/Relu_1}
 * @param opType the node's operator, e.g. {@code Relu}
 * @param tensorName the tensor, e.g. {@code /layer1/layer1.0/Relu_1_output_0}
 * @param defaultTap whether the worker taps this layer when no layers are configured (the
 *     first convolution, and every block's output or, in a plain convolution stack, every
 *     convolution's output after its nonlinearity; see {@link ActivationModel})
 */
public record LayerInfo(String label, String nodeName, String opType, String tensorName, boolean defaultTap) {

  /**
   * Whether a user-supplied name names this layer: its label, its node name or its tensor name.
   *
   * @param name a layer name, node name or tensor name
   * @return true on an exact match of any of the three
   */
  public boolean isNamed(String name) {
    return label.equals(name) || nodeName.equals(name) || tensorName.equals(name);
  }

  @Override
  public String toString() {
    return label + " (" + opType + " " + nodeName + " -> " + tensorName + (defaultTap ? ", default" : "") + ")";
  }
}
