/**
 * The stimulus producer: image sources ({@link dev.tagscope.producer.ImageLoader}: IDX files,
 * folders of PNG/JPEG/PGM), frame synthesis ({@link dev.tagscope.producer.FrameSynthesizer}:
 * each region's contrast modulated at its tag frequency) and publishing of the probe's spec and
 * frames. {@link dev.tagscope.producer.ProducerService} is the one way in; the plan it publishes
 * is {@code tagging-core}'s {@code ProbePlan}.
 */
package dev.tagscope.producer;
