package dev.tagscope.producer;

/**
 * Told after every frame a {@link StimulusPublisher} hands to the Kafka producer, for a
 * progress bar. Called on the publishing thread: keep it cheap.
 */
@FunctionalInterface
public interface ProgressListener {
  /** A listener that ignores progress. */
  ProgressListener NONE = (sent, total) -> { };

  /**
   * @param framesSent frames handed to the producer so far in this publication
   * @param totalFrames frames the publication will send, or -1 for a continuous probe
   */
  void onProgress(long framesSent, long totalFrames);
}
