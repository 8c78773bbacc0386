package dev.tagscope.producer;

/**
 * What one publication sent.
 *
 * @param probeId the probe
 * @param frames stimulus frames sent and acknowledged
 * @param images images whose first frame was sent (a stopped publication may end inside one)
 * @param seconds wall-clock seconds from the first frame to the final flush
 * @param stopped whether {@link StimulusPublisher#stop()} or an interrupt ended it early
 */
public record PublishSummary(String probeId, long frames, long images, double seconds, boolean stopped) {}
