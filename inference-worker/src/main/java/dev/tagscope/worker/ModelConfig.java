package dev.tagscope.worker;

import java.nio.file.Path;
import java.util.Locale;
import java.util.Objects;

/**
 * What {@link ActivationModel#load(ModelConfig)} needs.
 *
 * @param modelPath the model file, e.g. {@code models/fmnist-resnet32.onnx}; a sidecar
 *     {@code models/fmnist-resnet32.json} next to it is read when present
 * @param layers layers to tap: {@code null}, blank or {@code "default"} for the default taps,
 *     otherwise a comma list of layer names, node names, tensor names, {@code default}, or
 *     patterns {@code glob:layer3.*} / {@code regex:layer[12]\.0} (see {@link ActivationModel})
 * @param overrides field-by-field overrides of the sidecar ({@link ModelOverrides#NONE} for none)
 * @param intraOpThreads the engine's intra-op threads; 0 lets the engine choose (one per core). For DJL
 *     it sizes PyTorch's one thread pool per process, so the first DJL model loaded sets it
 * @param executionProvider {@code "cpu"} (default) or {@code "cuda"} (needs the
 *     {@code onnxruntime_gpu} artifact and CUDA 12 + cuDNN 9)
 * @param intraOpSpinning let ONNX Runtime's intra-op threads spin while they wait for work
 *     ({@code session.intra_op.allow_spinning}). Off by default: the worker usually shares its
 *     cores with Kafka clients, and with the Streams application and broker in the demo, and
 *     spinning threads take those cores away. On the 2-core development machine the demo's worker
 *     ran 27 % slower with spinning, while inference alone ({@code tagscope bench}) ran 14 % faster
 *     at batch 32; turn it on for a worker that has its cores to itself.
 * @param engine the backend that runs the model: {@value #ONNX} (ONNX Runtime) or {@value #DJL} (DJL's
 *     PyTorch engine on a TorchScript file, module {@code inference-worker-djl}); {@code null} or blank
 *     chooses by the file's extension ({@link #engineFor(Path)}). Normalised to lower case.
 */
public record ModelConfig(Path modelPath, String layers, ModelOverrides overrides, int intraOpThreads,
                          String executionProvider, boolean intraOpSpinning, String engine) {

  /** Execution provider names accepted by {@link #executionProvider()}. */
  public static final String CPU = "cpu";
  /** The CUDA execution provider. */
  public static final String CUDA = "cuda";
  /** The ONNX Runtime engine, {@link OnnxActivationModel}. */
  public static final String ONNX = "onnx";
  /** DJL's PyTorch engine on a TorchScript export (module {@code inference-worker-djl}). */
  public static final String DJL = "djl";
  /** The engines {@link #engine()} may name. */
  public static final java.util.List<String> ENGINES = java.util.List.of(ONNX, DJL);

  /**
   * Validates and normalises the configuration.
   *
   * @throws IllegalArgumentException naming the field and the fix
   */
  public ModelConfig {
    Objects.requireNonNull(modelPath, "modelPath");
    overrides = overrides == null ? ModelOverrides.NONE : overrides;
    executionProvider = executionProvider == null || executionProvider.isBlank()
        ? CPU : executionProvider.trim().toLowerCase(Locale.ROOT);
    if (!executionProvider.equals(CPU) && !executionProvider.equals(CUDA)) {
      throw new IllegalArgumentException("executionProvider must be 'cpu' or 'cuda', got '" + executionProvider + "'");
    }
    if (intraOpThreads < 0) {
      throw new IllegalArgumentException("intraOpThreads must be >= 0 (0 = ONNX Runtime's default), got " + intraOpThreads);
    }
    engine = checkedEngine(engine);
  }

  /**
   * Validates an engine name.
   *
   * @param engine {@value #ONNX}, {@value #DJL} (any case), or {@code null}/blank for the file's extension
   * @return the name in lower case, or {@code null}
   * @throws IllegalArgumentException naming the field, the accepted values and the default
   */
  public static String checkedEngine(String engine) {
    if (engine == null || engine.isBlank()) {
      return null;
    }
    String e = engine.trim().toLowerCase(Locale.ROOT);
    if (!ENGINES.contains(e)) {
      throw new IllegalArgumentException("engine must be 'onnx' or 'djl', got '" + engine + "'; leave it unset to"
          + " choose by the model file (.onnx: onnx, .pt: djl)");
    }
    return e;
  }

  /**
   * The engine a model file gets when none is configured: {@value #DJL} for a TorchScript file
   * ({@code .pt}), {@value #ONNX} for anything else.
   *
   * @param modelPath the model file
   * @return {@value #ONNX} or {@value #DJL}
   */
  public static String engineFor(Path modelPath) {
    return modelPath.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".pt") ? DJL : ONNX;
  }

  /**
   * The engine that runs this model: {@link #engine()}, else the one its file's extension gives.
   *
   * @return {@value #ONNX} or {@value #DJL}
   */
  public String resolvedEngine() {
    return engine != null ? engine : engineFor(modelPath);
  }

  /**
   * The TorchScript twin of a model file ({@code tools/torchscript_export.py}): a {@code .pt} is its
   * own; for {@code x.onnx} (or any other name) the {@code x.pt} beside it, which may not exist.
   * Gradients (the Taylor criterion, feature visualisation) come from the twin.
   *
   * @param model a model file
   * @return the path of its {@code .pt} twin
   */
  public static Path torchScriptTwin(Path model) {
    String file = model.getFileName().toString();
    if (file.endsWith(".pt")) {
      return model;
    }
    return model.resolveSibling((file.endsWith(".onnx") ? file.substring(0, file.length() - ".onnx".length()) : file) + ".pt");
  }

  /**
   * Default taps, no overrides, ONNX Runtime's thread count without spinning, CPU.
   *
   * @param modelPath the model file
   * @return a configuration
   */
  public static ModelConfig of(Path modelPath) {
    return new ModelConfig(modelPath, null, ModelOverrides.NONE, 0, CPU, false, null);
  }

  /**
   * @param modelPath the model file
   * @return a copy with the model file replaced (a hot swap loads the new file with the same settings)
   */
  public ModelConfig withModelPath(Path modelPath) {
    return new ModelConfig(modelPath, layers, overrides, intraOpThreads, executionProvider, intraOpSpinning, engine);
  }

  /**
   * @param layers layer selection (see {@link #layers()})
   * @return a copy with the layer selection replaced
   */
  public ModelConfig withLayers(String layers) {
    return new ModelConfig(modelPath, layers, overrides, intraOpThreads, executionProvider, intraOpSpinning, engine);
  }

  /**
   * @param overrides sidecar overrides
   * @return a copy with the overrides replaced
   */
  public ModelConfig withOverrides(ModelOverrides overrides) {
    return new ModelConfig(modelPath, layers, overrides, intraOpThreads, executionProvider, intraOpSpinning, engine);
  }

  /**
   * @param threads ONNX Runtime intra-op threads (0 = default)
   * @return a copy with the thread count replaced
   */
  public ModelConfig withIntraOpThreads(int threads) {
    return new ModelConfig(modelPath, layers, overrides, threads, executionProvider, intraOpSpinning, engine);
  }

  /**
   * @param provider {@code "cpu"} or {@code "cuda"}
   * @return a copy with the execution provider replaced
   */
  public ModelConfig withExecutionProvider(String provider) {
    return new ModelConfig(modelPath, layers, overrides, intraOpThreads, provider, intraOpSpinning, engine);
  }

  /**
   * @param spinning let intra-op threads spin while they wait (see {@link #intraOpSpinning()})
   * @return a copy with it replaced
   */
  public ModelConfig withIntraOpSpinning(boolean spinning) {
    return new ModelConfig(modelPath, layers, overrides, intraOpThreads, executionProvider, spinning, engine);
  }

  /**
   * @param engine {@value #ONNX}, {@value #DJL}, or {@code null} for the file's extension
   * @return a copy with the engine replaced
   */
  public ModelConfig withEngine(String engine) {
    return new ModelConfig(modelPath, layers, overrides, intraOpThreads, executionProvider, intraOpSpinning, engine);
  }
}
