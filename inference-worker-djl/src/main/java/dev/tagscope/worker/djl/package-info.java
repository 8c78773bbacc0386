/**
 * The DJL backend of the inference worker ({@code --engine djl}): {@link dev.tagscope.worker.djl.DjlActivationModel}
 * runs a TorchScript export of the model (written by {@code tools/torchscript_export.py}) on DJL's PyTorch
 * engine, behind the same {@link dev.tagscope.worker.ActivationModel} interface as ONNX Runtime, with the
 * same layer names, default taps and reductions; {@link dev.tagscope.worker.djl.DjlEngine} registers it
 * as an {@link dev.tagscope.worker.ActivationEngine}. The set that runs offline is
 * {@code ai.djl:api:0.35.1}, {@code ai.djl.pytorch:pytorch-engine:0.35.1},
 * {@code pytorch-jni:2.7.1-0.35.1} and {@code pytorch-native-cpu:2.7.1:linux-x86_64}, with
 * {@code ai.djl.offline=true} (newer engine versions try to download their natives).
 */
package dev.tagscope.worker.djl;
