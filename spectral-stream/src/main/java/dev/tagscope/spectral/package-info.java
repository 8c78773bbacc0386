/**
 * The Kafka Streams application: {@link dev.tagscope.spectral.SpectralTopology#build} (one static
 * builder with named nodes; bytes in, so a refused record reaches the dead-letter topic
 * untouched) turns {@code tagscope.activations} into per-window {@code tagscope.tag-responses}
 * and the running {@code tagscope.importance} of each (model, layer), exactly once;
 * {@link dev.tagscope.spectral.SpectralService} runs it with exactly-once pinned. The spectral
 * arithmetic itself is {@code tagging-core}'s ({@code dev.tagscope.tagging.spectral}).
 */
package dev.tagscope.spectral;
