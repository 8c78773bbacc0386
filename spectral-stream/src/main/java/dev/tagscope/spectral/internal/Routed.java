package dev.tagscope.spectral.internal;

import dev.tagscope.schemas.DeadLetter;
import dev.tagscope.schemas.LayerImportance;
import dev.tagscope.schemas.TopExamples;

/**
 * What the window processor emits for one input record: analysed windows, completed images (for
 * the top examples) or one dead letter. Lives only inside the topology (never serialised); the topology
 * branches on the type.
 */
public sealed interface Routed permits Routed.Window, Routed.Examples, Routed.Dead {

  /**
   * One analysed window.
   *
   * @param tagKey probeId/layer, for the tag-responses topic
   * @param tag the window's tag response, serialised for the tag-responses topic; null when it is larger
   *     than the producer sends (the processor dead-letters it then)
   * @param tagBytes the serialised tag response's length, bytes
   * @param importanceKey model@version/layer ({@code Topics.importanceKey}), for the importance topic
   * @param importance the window's one-window importance
   */
  record Window(String tagKey, byte[] tag, int tagBytes, String importanceKey, LayerImportance importance) implements Routed {}

  /**
   * One completed image of a (probe, layer), for the top examples.
   *
   * @param key model@version/layer ({@code Topics.importanceKey}), the top examples' key
   * @param examples the image's contribution ({@link TopExamplesMath#ofImage}), one example per filter
   */
  record Examples(String key, TopExamples examples) implements Routed {}

  /**
   * One refused record.
   *
   * @param key original key bytes of the refused record
   * @param letter the dead letter (reason, source, original value)
   */
  record Dead(byte[] key, DeadLetter letter) implements Routed {}
}
