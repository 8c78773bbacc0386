package dev.tagscope.worker;

import java.nio.file.Path;
import java.util.List;
import java.util.ServiceLoader;

/**
 * A backend that runs {@link ActivationModel}s, found by {@link ServiceLoader} (as DJL finds its
 * engines): ONNX Runtime ({@value ModelConfig#ONNX}) is built into this module; DJL's PyTorch
 * engine ({@value ModelConfig#DJL}) is in the module {@code inference-worker-djl}, which registers
 * itself in {@code META-INF/services/dev.tagscope.worker.ActivationEngine}, so its 100 MB of
 * PyTorch natives are only on the classpath of what asks for them (the {@code tagscope} command does).
 *
 * <p>Every engine resolves a model the same way ({@link ModelDescription}): the same layer names,
 * default taps, preprocessing and reductions ({@link Reductions}), so the reports of two engines on
 * the same weights are comparable filter by filter.
 */
public interface ActivationEngine {

  /**
   * The name {@link ModelConfig#engine()} and {@code --engine} use.
   *
   * @return e.g. {@value ModelConfig#ONNX}
   */
  String name();

  /**
   * Loads a model (see {@link ActivationModel#load(ModelConfig)}).
   *
   * @param config model file, layers, overrides, threads
   * @return a ready model
   * @throws IllegalArgumentException when the file is not a model of this engine, or as
   *     {@link ActivationModel#load(ModelConfig)} says
   */
  ActivationModel load(ModelConfig config);

  /**
   * Lists the tappable tensors of a model file without running it.
   *
   * @param modelPath the model file
   * @return all tappable tensors in graph order, defaults marked
   * @throws IllegalArgumentException when the file is missing or not a model of this engine
   */
  List<LayerInfo> listLayers(Path modelPath);

  /**
   * Opens a model for gate gradients ({@link GateGradients}), for the Taylor criterion of
   * {@code tagscope validate}. Engines that cannot differentiate their models keep this default.
   *
   * @param config model file and layers, as for {@link #load(ModelConfig)}
   * @return gradients of the selected layers' gates
   * @throws UnsupportedOperationException when this engine computes no gradients (the default)
   * @throws IllegalArgumentException when the file is not a model of this engine or lacks what gradients need
   */
  default GateGradients gateGradients(ModelConfig config) {
    throw new UnsupportedOperationException("engine " + name() + " computes no gradients; the Taylor criterion needs"
        + " engine " + ModelConfig.DJL + " and a TorchScript export written by tools/torchscript_export.py");
  }

  /**
   * The engine of a name: ONNX Runtime directly, any other through {@link ServiceLoader}.
   *
   * @param name {@value ModelConfig#ONNX} or {@value ModelConfig#DJL}
   * @return the engine
   * @throws IllegalArgumentException when no engine of that name is on the classpath, naming the
   *     artifact to add
   */
  static ActivationEngine named(String name) {
    if (ModelConfig.ONNX.equals(name)) {
      return OnnxEngine.INSTANCE;
    }
    for (ActivationEngine e : ServiceLoader.load(ActivationEngine.class, ActivationEngine.class.getClassLoader())) {
      if (e.name().equals(name)) {
        return e;
      }
    }
    throw new IllegalArgumentException("engine '" + name + "' is not on the classpath: add the dev.tagscope:inference-worker-"
        + name + " artifact (the tagscope command ships it), or use engine onnx with an .onnx model");
  }

  /** ONNX Runtime, {@link OnnxActivationModel}. */
  final class OnnxEngine implements ActivationEngine {
    static final OnnxEngine INSTANCE = new OnnxEngine();

    private OnnxEngine() {}

    @Override
    public String name() {
      return ModelConfig.ONNX;
    }

    @Override
    public ActivationModel load(ModelConfig config) {
      return OnnxActivationModel.load(config);
    }

    @Override
    public List<LayerInfo> listLayers(Path modelPath) {
      return OnnxActivationModel.listLayers(modelPath);
    }
  }
}
