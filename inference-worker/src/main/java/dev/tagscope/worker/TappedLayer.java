package dev.tagscope.worker;

/**
 * A layer the model actually taps, with the filter count found by a trial run at load time.
 *
 * @param info the layer
 * @param channels C': the number of filters (channels) of its {@code [N,C',H',W']} or
 *     {@code [N,C']} output, i.e. the length of one reduced vector
 * @param spatial whether the output is 4-D {@code [N,C',H',W']} (true) or 2-D {@code [N,C']}
 *     (false, taken as-is without spatial reduction)
 */
public record TappedLayer(LayerInfo info, int channels, boolean spatial) {

  /**
   * Shortcut for {@code info().label()}.
   *
   * @return the layer name used on the wire
   */
  public String name() {
    return info.label();
  }
}
