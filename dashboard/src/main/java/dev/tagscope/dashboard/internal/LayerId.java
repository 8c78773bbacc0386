package dev.tagscope.dashboard.internal;

import dev.tagscope.schemas.Topics;

/**
 * One layer of one model version: what a key of {@code tagscope.importance} and
 * {@code tagscope.importance-history} names ({@link Topics#importanceKey}).
 *
 * @param model the model's name
 * @param version the model's version, {@code ""} when the workers did not say
 * @param layer the layer's name
 */
record LayerId(String model, String version, String layer) {
  /** @throws NullPointerException when a part is null */
  LayerId {
    java.util.Objects.requireNonNull(model, "model");
    java.util.Objects.requireNonNull(version, "version");
    java.util.Objects.requireNonNull(layer, "layer");
  }

  /** @return the model/layer key of the validation and alerts topics */
  String modelLayerKey() {
    return Topics.modelLayerKey(model, layer);
  }

  /**
   * @param what the kind of record, for the message
   * @return the id of a record's model, version and layer
   * @throws IllegalArgumentException when the record names no model or layer
   */
  static LayerId of(String model, String version, String layer, String what) {
    if (model == null || model.isEmpty() || layer == null || layer.isEmpty()) {
      throw new IllegalArgumentException(what + " record names no model or layer");
    }
    return new LayerId(model, version == null ? "" : version, layer);
  }
}
