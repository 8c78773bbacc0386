package dev.tagscope.launcher;

import dev.tagscope.worker.ModelConfig;
import dev.tagscope.worker.ModelOverrides;
import dev.tagscope.worker.WorkerSettings;
import java.nio.file.Path;
import java.util.List;
import picocli.CommandLine.Option;

/** The model to probe: file, layers to tap, preprocessing overrides, execution settings. */
public final class ModelOptions {
  /** The bundled default model, relative to the Tagscope installation folder. */
  static final String DEFAULT_MODEL = "models/fmnist-resnet32.onnx";

  @Option(names = "--model", paramLabel = "FILE",
      description = "ONNX image classifier with NCHW input (default: the bundled " + DEFAULT_MODEL + "), or its TorchScript"
          + " export (.pt, tools/torchscript_export.py) for DJL; <model>.json beside it gives name and preprocessing.")
  Path model;

  @Option(names = "--engine", paramLabel = "onnx|djl",
      description = "Inference engine: onnx (ONNX Runtime) or djl (DJL's PyTorch engine on a .pt TorchScript export)"
          + " (default: by the model file, .pt: djl, else onnx).")
  String engine;

  @Option(names = "--model-name", description = "Model name on the topics (default: from <model>.json, else the file name).")
  String modelName;

  @Option(names = "--layers", paramLabel = "LIST",
      description = "Layers to tap: names, node or tensor names, glob:PATTERN or regex:PATTERN, comma separated "
          + "(default: the first convolution and every residual block's output).")
  String layers;

  @Option(names = "--scale", description = "Pixel scale before normalisation (default from <model>.json, else 1/255).")
  Double scale;

  @Option(names = "--mean", split = ",", description = "Per-channel mean after scaling (default from <model>.json, else 0).")
  List<Float> mean;

  @Option(names = "--std", split = ",", description = "Per-channel standard deviation after scaling (default from <model>.json, else 1).")
  List<Float> std;

  @Option(names = "--input-size", paramLabel = "CxHxW", description = "Model input shape when the graph does not say it, e.g. 3x224x224.")
  String inputSize;

  @Option(names = "--threads", defaultValue = "0", description = "The engine's intra-op threads (default: one per core).")
  int threads;

  @Option(names = "--spin-wait", description = "Let ONNX Runtime's intra-op threads spin while they wait: faster when"
      + " the worker has its cores to itself, slower when it shares them (as in the demo). Default off.")
  boolean spinWait;

  @Option(names = "--execution-provider", defaultValue = "cpu", description = "cpu or cuda (cuda needs the onnxruntime_gpu build, CUDA 12, cuDNN 9).")
  String executionProvider;

  @Option(names = "--batch", defaultValue = "32", description = "Frames per inference batch (default ${DEFAULT-VALUE}).")
  int batch;

  /**
   * @param home the Tagscope installation folder (for the default model)
   * @return the model file
   */
  Path modelPath(Path home) {
    return model != null ? model : home.resolve(DEFAULT_MODEL);
  }

  /**
   * The engine chosen with {@code --engine}.
   *
   * @return {@code onnx}, {@code djl}, or {@code null} when the model file's extension decides
   * @throws IllegalArgumentException naming {@code --engine}, the accepted values and the default
   */
  String engine() {
    try {
      return ModelConfig.checkedEngine(engine);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("--engine: expected onnx or djl, got '" + engine + "'; leave it out to choose"
          + " by the model file (.onnx: ONNX Runtime, .pt: DJL)", e);
    }
  }

  /**
   * The worker's settings: model, taps, preprocessing overrides, batching and execution.
   *
   * @param home the Tagscope installation folder
   * @param clientOverrides extra Kafka client properties from {@code --kafka}
   * @return the settings
   * @throws IllegalArgumentException when {@code --input-size} or {@code --engine} is malformed or a
   *     value is out of range (the message names the option)
   */
  WorkerSettings settings(Path home, java.util.Map<String, Object> clientOverrides) {
    ModelOverrides o = ModelOverrides.NONE.withName(modelName).withNormalisation(scale, mean, std);
    if (inputSize != null) {
      String[] parts = inputSize.toLowerCase(java.util.Locale.ROOT).split("x");
      try {
        if (parts.length != 3) {
          throw new NumberFormatException();
        }
        o = o.withInputShape(Integer.parseInt(parts[0]), Integer.parseInt(parts[1]), Integer.parseInt(parts[2]));
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("--input-size: expected CxHxW such as 3x224x224, got '" + inputSize + "'");
      }
    }
    String chosenEngine = engine();
    java.util.Map<String, String> client = new java.util.LinkedHashMap<>();
    clientOverrides.forEach((k, v) -> client.put(k, String.valueOf(v)));
    return WorkerSettings.defaults(modelPath(home)).withLayers(layers).withBatchSize(batch).withPreprocessing(o)
        .withIntraOpThreads(threads).withIntraOpSpinning(spinWait).withExecutionProvider(executionProvider).withClientOverrides(client).withEngine(chosenEngine);
  }

  /** @return the Tagscope installation folder: {@code -Dtagscope.home}, set by ./tagscope, else the working directory */
  static Path home() {
    String h = System.getProperty("tagscope.home");
    return Path.of(h == null ? "." : h).toAbsolutePath().normalize();
  }
}
