package dev.tagscope.worker.djl;

import dev.tagscope.worker.ActivationEngine;
import dev.tagscope.worker.ActivationModel;
import dev.tagscope.worker.GateGradients;
import dev.tagscope.worker.LayerInfo;
import dev.tagscope.worker.ModelConfig;
import dev.tagscope.worker.ModelDescription;
import java.nio.file.Path;
import java.util.List;

/**
 * The {@value ModelConfig#DJL} engine, registered for {@link java.util.ServiceLoader} in
 * {@code META-INF/services/dev.tagscope.worker.ActivationEngine}: {@link DjlActivationModel}.
 * Create it only through {@link ActivationEngine#named(String)} or the service loader.
 */
public final class DjlEngine implements ActivationEngine {

  /** For {@link java.util.ServiceLoader}. */
  public DjlEngine() {}

  @Override
  public String name() {
    return ModelConfig.DJL;
  }

  @Override
  public ActivationModel load(ModelConfig config) {
    return DjlActivationModel.load(config);
  }

  /**
   * Gate gradients through PyTorch's autograd on the export's {@code gated} method ({@link DjlGateGradients}).
   *
   * @param config the {@code .pt} file and layers
   * @return the gradients
   * @throws IllegalArgumentException as {@link DjlGateGradients#load}
   */
  @Override
  public GateGradients gateGradients(ModelConfig config) {
    return DjlGateGradients.load(config);
  }

  /**
   * Lists the layers from the weightless ONNX graph inside the TorchScript file; PyTorch is not started.
   *
   * @param modelPath the {@code .pt} file
   * @return all tappable tensors in graph order, defaults marked
   * @throws IllegalArgumentException when the file is missing or lacks Tagscope's extra files
   */
  @Override
  public List<LayerInfo> listLayers(Path modelPath) {
    return ModelDescription.layersOf(TorchScriptArchive.read(modelPath).graph(), modelPath.toString());
  }
}
