package dev.tagscope.spectral.internal;

import dev.tagscope.schemas.DeadLetter;
import dev.tagscope.schemas.LayerImportance;
import dev.tagscope.schemas.TagResponse;

/**
 * What the window processor emits for one input record: either one analysed window (its tag
 * response and its one-window importance) or one dead letter. Lives only inside the topology
 * (never serialised).
 *
 * @param tagKey probeId/layer, for the tag-responses topic
 * @param tag the tag response, or null for a dead letter
 * @param importanceKey model/layer, for the importance topic
 * @param importance one-window importance, or null for a dead letter
 * @param dlqKey original key bytes of the refused record
 * @param dead the dead letter, or null for a window
 */
public record Routed(String tagKey, TagResponse tag, String importanceKey, LayerImportance importance,
                     byte[] dlqKey, DeadLetter dead) {
  static Routed window(String tagKey, TagResponse tag, String importanceKey, LayerImportance importance) {
    return new Routed(tagKey, tag, importanceKey, importance, null, null);
  }

  static Routed deadLetter(byte[] key, DeadLetter dead) {
    return new Routed(null, null, null, null, key, dead);
  }

  /** @return true for a dead letter */
  public boolean isDeadLetter() {
    return dead != null;
  }
}
