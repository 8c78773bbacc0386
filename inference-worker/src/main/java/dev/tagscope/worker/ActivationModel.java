package dev.tagscope.worker;

import dev.tagscope.schemas.Reduction;
import java.util.List;
import java.util.Map;

/**
 * A convolutional network that can be run on a batch and report the responses of chosen
 * intermediate layers (taps), each filter's map reduced to one number. Engine-agnostic
 * ({@link ActivationEngine}): ONNX Runtime runs an {@code .onnx} file; DJL's PyTorch engine runs the
 * TorchScript export of one ({@code .pt}, written by {@code tools/torchscript_export.py}; module
 * {@code inference-worker-djl}). {@link #load(ModelConfig)} picks by {@link ModelConfig#engine()},
 * else by the file's extension. Both expose the same layers under the same names and reduce them
 * with the same code ({@link Reductions}).
 *
 * <pre>{@code
 * try (ActivationModel model = ActivationModel.load(ModelConfig.of(Path.of("models/fmnist-resnet32.onnx")))) {
 *   Preprocessor pre = new Preprocessor(model.preprocessing());       // uint8 [C,H,W] -> float [C',H',W']
 *   float[] batch = new float[n * pre.inputLength()];                // [N,C',H',W']
 *   for (int i = 0; i < n; i++) pre.apply(pixels[i], 1, 28, 28, batch, i * pre.inputLength());
 *   Map<String, float[][]> r = model.run(batch, n, Reduction.MEAN);   // layer -> [N][filters]
 *   float[][] block = r.get("layer3.4");                              // [N][64]
 * }
 * }</pre>
 *
 * <h2>Layers</h2>
 * {@link #listLayers()} lists every tappable tensor: each activation (a node output computed
 * from the input, not a weight or constant) that is an {@code [N,C,H,W]} feature map or an
 * {@code [N,C]} vector, or whose rank the graph alone does not tell (the trial run at load
 * refuses any other shape). By default a model taps the output of every stage a user would name, each
 * labelled with its module's name from the exported graph:
 * <ul>
 *   <li>the first convolution, before its nonlinearity (linear in the pixels, so a check that the
 *       measurement adds no harmonics of its own);
 *   <li>every residual block (He et al. 2016) and inverted residual with a skip (Sandler et al.
 *       2018): the join's output, or the nonlinearity right after it;
 *   <li>in a network with residual blocks, every other block beside them in the same module,
 *       such as an inverted residual without a skip (it ends at its projection convolution and
 *       BatchNorm) or a stem or head convolution unit: the block's output;
 *   <li>in a plain convolution stack without residual blocks (VGG-like), every convolution's
 *       output after its nonlinearity (BatchNorm between them allowed).
 * </ul>
 * For the bundled ResNet-32 that gives 16 layers
 * {@code conv1, layer1.0 .. layer1.4, layer2.0 .. layer2.4, layer3.0 .. layer3.4}; for a
 * torchvision MobileNetV2 {@code features.0.0} and {@code features.0 .. features.18}; for a VGG
 * {@code features.0} and each ReLU ({@code features.1, features.3, ...}).
 * {@link ModelConfig#layers()} chooses others: a comma list of layer labels, node names,
 * tensor names, {@code default}, or patterns {@code glob:layer3.*} and {@code regex:...}
 * matched against all three. An unknown name fails at load with close matches.
 *
 * <h2>Shapes</h2>
 * Input: float32 {@code [N,C,H,W]} flat, already preprocessed (see {@link #preprocessing()}).
 * A tapped output must be {@code [N,C',H',W']} (reduced over {@code H',W'}) or {@code [N,C']}
 * (taken as-is); other ranks are refused when the model is loaded, which runs one trial batch.
 *
 * <p>Implementations are thread-safe for {@code run}/{@code forward}; {@link #close()} frees
 * native memory and must be called once no run is in flight.
 */
public interface ActivationModel extends AutoCloseable {

  /**
   * Loads a model with its sidecar {@code <model>.json}, selects the taps, and runs one trial batch.
   *
   * @param config model file, engine, layers, overrides, threads, execution provider
   * @return a ready model
   * @throws IllegalArgumentException when the file is missing or not a model, a layer name is
   *     unknown, a tapped output has an unsupported shape, the input shape cannot be determined,
   *     a preprocessing value is invalid, the execution provider is unavailable, or the engine is
   *     not on the classpath
   */
  static ActivationModel load(ModelConfig config) {
    return ActivationEngine.named(config.resolvedEngine()).load(config);
  }

  /**
   * Lists every tappable tensor of a model file without creating an engine session (for
   * {@code tagscope worker --list-layers}; works even when no default tap exists).
   *
   * @param modelPath the model file; its extension chooses the engine ({@link ModelConfig#engineFor})
   * @return all tappable tensors in graph order, defaults marked
   * @throws IllegalArgumentException when the file is missing or not a model
   */
  static List<LayerInfo> listLayers(java.nio.file.Path modelPath) {
    return listLayers(modelPath, null);
  }

  /**
   * Lists every tappable tensor of a model file with a given engine, without running it.
   *
   * @param modelPath the model file
   * @param engine {@value ModelConfig#ONNX}, {@value ModelConfig#DJL}, or {@code null} for the file's extension
   * @return all tappable tensors in graph order, defaults marked
   * @throws IllegalArgumentException when the file is missing or not a model of that engine, or
   *     the engine is unknown or not on the classpath
   */
  static List<LayerInfo> listLayers(java.nio.file.Path modelPath, String engine) {
    String e = ModelConfig.checkedEngine(engine);
    return ActivationEngine.named(e != null ? e : ModelConfig.engineFor(modelPath)).listLayers(modelPath);
  }

  /**
   * A plain-text table of layers, one per line: label, op type, node name, tensor name, and
   * {@code *} for a default tap.
   *
   * @param layers layers, e.g. from {@link #listLayers()}
   * @return the table with a header line
   */
  static String layerTable(List<LayerInfo> layers) {
    int wl = "LAYER".length();
    int wo = "OP".length();
    int wn = "NODE".length();
    for (LayerInfo l : layers) {
      wl = Math.max(wl, l.label().length());
      wo = Math.max(wo, l.opType().length());
      wn = Math.max(wn, l.nodeName().length());
    }
    String fmt = "%-" + wl + "s  %-" + wo + "s  %-" + wn + "s  %s  %s%n";
    StringBuilder sb = new StringBuilder(String.format(fmt, "LAYER", "OP", "NODE", "DEFAULT", "TENSOR"));
    for (LayerInfo l : layers) {
      sb.append(String.format(fmt, l.label(), l.opType(), l.nodeName(), l.defaultTap() ? "   *   " : "       ",
          l.tensorName()));
    }
    return sb.toString();
  }

  /**
   * Model name, the {@code model} in importance keys {@code model/layer}.
   *
   * @return e.g. {@code fmnist-resnet32}
   */
  String name();

  /**
   * The version of this model, stamped on every record it produces ({@code ActivationFrame.modelVersion})
   * and part of the importance key {@code model@version/layer}: the model card's {@code version}
   * field when present, else {@code sha256:} and the first 12 hex digits of the model file's SHA-256
   * ({@link ModelVersion}), computed once at load.
   *
   * @return e.g. {@code sha256:3f2a9c01b7de}; never blank
   */
  String version();

  /**
   * Preprocessing that turns uint8 frames into this model's input.
   *
   * @return scale, mean/std and the input shape {@code [C,H,W]}
   */
  Preprocessing preprocessing();

  /**
   * Class names from the sidecar, index = logit index.
   *
   * @return class names; empty when the sidecar gives none
   */
  List<String> classes();

  /**
   * Every tappable tensor in graph order, defaults marked.
   *
   * @return all node outputs of the graph
   */
  List<LayerInfo> listLayers();

  /**
   * The layers this model instance taps, in graph order.
   *
   * @return tapped layers with their filter counts
   */
  List<TappedLayer> tappedLayers();

  /**
   * Runs a batch and reduces every tapped layer.
   *
   * @param input float32 {@code [N,C,H,W]} flat, length at least {@code n * preprocessing().inputLength()}
   * @param n batch size N, at least 1
   * @param reduction how each filter map {@code [H',W']} becomes one number
   * @return layer label to {@code [N][C']}, in tap order
   * @throws IllegalArgumentException when {@code input} is too short or {@code n < 1}
   * @throws IllegalStateException when the engine fails
   */
  Map<String, float[][]> run(float[] input, int n, Reduction reduction);

  /**
   * Runs a batch and returns full tensors: every tapped layer and every original model output.
   *
   * @param input float32 {@code [N,C,H,W]} flat
   * @param n batch size N
   * @return the tensors
   * @throws IllegalArgumentException when {@code input} is too short or {@code n < 1}
   * @throws IllegalStateException when the engine fails
   */
  Forward forward(float[] input, int n);

  /** Frees the engine's native resources. */
  @Override
  void close();

  /**
   * Full tensors of one batch.
   *
   * @param layers tapped layer label to its tensor {@code [N,C',H',W']} or {@code [N,C']}
   * @param outputs original model output name (e.g. {@code logits}) to its tensor
   */
  record Forward(Map<String, FloatTensor> layers, Map<String, FloatTensor> outputs) {}
}
