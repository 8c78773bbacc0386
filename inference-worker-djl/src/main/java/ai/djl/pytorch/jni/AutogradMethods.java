package ai.djl.pytorch.jni;

import ai.djl.pytorch.engine.PtSymbolBlock;
import java.util.Arrays;

/**
 * Runs a named TorchScript method with autograd, which DJL 0.35.1's public
 * {@link IValueUtils#runMethod(PtSymbolBlock, String, IValue...)} cannot: it always passes
 * {@code is_train = false} to the native {@code moduleRunMethod}, which then runs the method under
 * {@code c10::InferenceMode} (DJL's {@code JITCallGuard}), so no result has a gradient function.
 * The native call with {@code is_train = true} is package-private to {@code ai.djl.pytorch.jni},
 * hence this class in DJL's package (a split package on the class path; DJL's jar is not sealed).
 * Used by Tagscope's {@code DjlGateGradients} only; CPU only (no separate CUDA stream).
 */
public final class AutogradMethods {
  private AutogradMethods() {}

  /**
   * Runs a method of a TorchScript module so that autograd records it (when grad mode is on for the thread).
   *
   * @param block the loaded module (loaded with {@code trainParam=true}, so its weights are not inference tensors)
   * @param method the method's name, e.g. {@code gated}
   * @param inputs its arguments
   * @return its result; the caller closes it
   * @throws ai.djl.engine.EngineException when PyTorch refuses the call (unknown method, wrong arguments)
   */
  public static IValue run(PtSymbolBlock block, String method, IValue... inputs) {
    long[] handles = Arrays.stream(inputs).mapToLong(IValue::getHandle).toArray();
    return new IValue(PyTorchLibrary.LIB.moduleRunMethod(block.getHandle(), method, handles, true, false));
  }
}
