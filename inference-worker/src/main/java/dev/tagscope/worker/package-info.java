/**
 * Tagscope's inference stage: an engine-agnostic {@link dev.tagscope.worker.ActivationModel}
 * (ONNX Runtime: {@link dev.tagscope.worker.OnnxActivationModel}; other engines, such as DJL in the
 * module {@code inference-worker-djl}, behind {@link dev.tagscope.worker.ActivationEngine}) that taps intermediate
 * layers and reduces each filter's {@code [H,W]} map to one number per frame
 * ({@link dev.tagscope.worker.Reductions}), the {@link dev.tagscope.worker.Preprocessor} that
 * turns uint8 stimulus frames into model input, and the transactional Kafka service
 * {@link dev.tagscope.worker.InferenceWorker} ({@code tagscope.stimuli} to
 * {@code tagscope.activations}, exactly once). Method: frequency tagging after SSVEP,
 * arXiv:2411.10084; see DESIGN.md section 1.
 */
package dev.tagscope.worker;
