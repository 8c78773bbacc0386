package dev.tagscope.worker.djl;

import ai.djl.MalformedModelException;
import ai.djl.Model;
import ai.djl.engine.EngineException;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.engine.PtSymbolBlock;
import ai.djl.pytorch.jni.IValue;
import ai.djl.pytorch.jni.AutogradMethods;
import ai.djl.pytorch.jni.JniUtils;
import dev.tagscope.worker.GateGradients;
import dev.tagscope.worker.LayerInfo;
import dev.tagscope.worker.ModelConfig;
import dev.tagscope.worker.ModelDescription;
import dev.tagscope.worker.Preprocessing;
import dev.tagscope.worker.TappedLayer;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Function;

/**
 * {@link GateGradients} through DJL's PyTorch autograd, on the {@code gated(input, gates)} method
 * of a TorchScript export ({@code tools/torchscript_export.py}): {@code gates} is float32
 * {@code [N, G]}, and every 4-D node output of the ONNX graph is multiplied by its slice of it
 * ({@link TorchScriptArchive#gates()}), so the gradient of the loss with respect to a gate is
 * {@code sum_{h,w} a * dL/da} over that filter's map (Molchanov et al., CVPR 2019, section 3).
 * DJL cannot read the gradient of an intermediate tensor, but it can read that of an input
 * (a leaf): hence gates as an input rather than hooks on the layers.
 *
 * <p>One batch: gates of ones that require a gradient, {@code gated} through
 * {@link AutogradMethods#run} (DJL's own {@code IValueUtils.runMethod} runs without autograd), the summed cross-entropy {@code sum_n (logsumexp(z_n) - z_n[label_n])}
 * (so that each image's gates receive the gradient of its own loss), backward, and the gates'
 * gradient copied out. Autograd is on for the calling thread only during the call and turned off
 * again afterwards (PyTorch's grad mode is thread-local; {@link DjlActivationModel} keeps it off
 * for inference). The module's weights do not require gradients, so nothing else is accumulated.
 *
 * <p>Thread-safe: each call has its own native memory scope.
 */
public final class DjlGateGradients implements GateGradients {
  /** The traced method that takes the gates. */
  static final String GATED = "gated";

  private final Model model;
  private final ModelDescription description;
  private final TorchScriptArchive archive;
  private final List<TappedLayer> layers;
  /** Per layer, in {@link #layers} order, the first column of its gates. */
  private final int[] offsets;
  private final int gateCount;

  private DjlGateGradients(Model model, ModelDescription description, TorchScriptArchive archive,
                           List<TappedLayer> layers, int[] offsets) {
    this.model = model;
    this.description = description;
    this.archive = archive;
    this.layers = List.copyOf(layers);
    this.offsets = offsets.clone();
    this.gateCount = archive.gates().stream().mapToInt(TorchScriptArchive.Gate::channels).sum();
  }

  /**
   * Loads a TorchScript export for gate gradients.
   *
   * @param config the {@code .pt} file and the layers whose gates are read ({@link ModelConfig#layers()}); cpu only
   * @return the gradients
   * @throws IllegalArgumentException when the file is missing or not a Tagscope export, when it has no
   *     {@code gated} method (an export older than the gates: export it again), when a selected layer
   *     is not gated (only 4-D tensors are), or as {@link DjlActivationModel#load} for the engine
   */
  public static DjlGateGradients load(ModelConfig config) {
    Objects.requireNonNull(config, "config");
    Path path = config.modelPath();
    TorchScriptArchive archive = TorchScriptArchive.read(path);
    if (archive.gates().isEmpty() || archive.gatedOutput() == null) {
      throw new IllegalArgumentException(path + " has no gated(input, gates) method (its tagscope.json lists no gates):"
          + " it predates the Taylor criterion; export it again with tools/torchscript_export.py");
    }
    ModelDescription d = ModelDescription.of(archive.graph(), config);
    List<TappedLayer> layers = new ArrayList<>();
    int[] offsets = new int[d.selected().size()];
    for (int i = 0; i < offsets.length; i++) {
      LayerInfo l = d.selected().get(i);
      TorchScriptArchive.Gate g = archive.gates().stream().filter(x -> x.tensor().equals(l.tensorName())).findFirst()
          .orElseThrow(() -> new IllegalArgumentException("layer " + l.label() + " (tensor " + l.tensorName() + ") has no"
              + " gates in " + path + ": only 4-D [N,C,H,W] float tensors are gated; choose such layers with --layers"));
      offsets[i] = g.offset();
      layers.add(new TappedLayer(l, g.channels(), true));
    }
    Model model = DjlActivationModel.newModel(d.name(), config);
    try {
      DjlActivationModel.loadForAutograd(model, path);
    } catch (IOException | MalformedModelException | EngineException e) {
      model.close();
      throw new IllegalArgumentException("DJL's PyTorch engine cannot load " + path + ": " + e.getMessage(), e);
    }
    return new DjlGateGradients(model, d, archive, layers, offsets);
  }

  @Override
  public List<TappedLayer> layers() {
    return layers;
  }

  @Override
  public String sourceSha256() {
    return archive.sourceSha256();
  }

  /**
   * G, the number of gates of one image (every gated tensor's channels).
   *
   * @return G
   */
  public int gateCount() {
    return gateCount;
  }

  /**
   * The first column of a layer's gates.
   *
   * @param layer a name of {@link #layers()}
   * @return its offset in {@code [0, G)}
   * @throws IllegalArgumentException when the layer is not among {@link #layers()}
   */
  public int offset(String layer) {
    for (int i = 0; i < layers.size(); i++) {
      if (layers.get(i).name().equals(layer)) {
        return offsets[i];
      }
    }
    throw new IllegalArgumentException("layer " + layer + " is not among the gated layers " + layers);
  }

  /**
   * The logits of {@code gated} at given gates, forward only (autograd stays off).
   *
   * @param input preprocessed images {@code [N,C,H,W]}
   * @param n N
   * @param gates {@code [N, G]} row-major ({@link #gateCount()} per image); all ones gives {@code forward}'s logits
   * @return {@code [N][classes]}
   * @throws IllegalArgumentException when the input or gates do not hold {@code n} rows
   */
  public float[][] logits(float[] input, int n, float[] gates) {
    checkGates(gates, n);
    DjlActivationModel.inferenceModesForThisThread();
    return gated(input, n, scope -> scope.create(FloatBuffer.wrap(gates, 0, n * gateCount), new Shape(n, gateCount)),
        (g, z) -> rows(z.toFloatArray(), n));
  }

  @Override
  public Map<String, float[][]> gradients(float[] input, int n, int[] labels) {
    if (labels.length != n) {
      throw new IllegalArgumentException("labels: " + labels.length + " given for a batch of " + n + " images");
    }
    DjlActivationModel.inferenceModesForThisThread();
    boolean before = JniUtils.isGradMode();
    JniUtils.setGradMode(true);
    try {
      return gated(input, n, scope -> {
        NDArray g = scope.ones(new Shape(n, gateCount));
        g.setRequiresGradient(true);
        return g;
      }, (g, z) -> {
        int classes = (int) z.getShape().get(1);
        float[] oneHot = new float[n * classes];
        for (int i = 0; i < n; i++) {
          if (labels[i] < 0 || labels[i] >= classes) {
            throw new IllegalArgumentException("label " + labels[i] + " of image " + i + " is outside the model's " + classes
                + " classes (0.." + (classes - 1) + ")");
          }
          oneHot[i * classes + labels[i]] = 1f;
        }
        // Summed cross-entropy: each image's gates get the gradient of that image's loss alone.
        NDArray picked = z.getManager().create(FloatBuffer.wrap(oneHot), z.getShape());
        NDArray loss = z.logSoftmax(1).mul(picked).sum().neg();
        JniUtils.backward((PtNDArray) loss, (PtNDArray) loss.onesLike(), false, false);
        float[] grad = g.getGradient().toFloatArray();
        Map<String, float[][]> out = new LinkedHashMap<>();
        for (int l = 0; l < layers.size(); l++) {
          int c = layers.get(l).channels();
          float[][] rows = new float[n][c];
          for (int i = 0; i < n; i++) {
            System.arraycopy(grad, i * gateCount + offsets[l], rows[i], 0, c);
          }
          out.put(layers.get(l).name(), rows);
        }
        return out;
      });
    } finally {
      JniUtils.setGradMode(before);
    }
  }

  /** What a batch's result is made of: the gates passed in and the logits returned. */
  private interface Use<T> {
    T apply(NDArray gates, NDArray logits);
  }

  /** Runs {@code gated} on a batch in a memory scope of its own; {@code use} must copy what it keeps. */
  private <T> T gated(float[] input, int n, Function<NDManager, NDArray> gates, Use<T> use) {
    Preprocessing pre = description.preprocessing();
    pre.checkBatch(input, n);
    try (NDManager scope = model.getNDManager().newSubManager()) {
      NDArray x = scope.create(FloatBuffer.wrap(input, 0, n * pre.inputLength()),
          new Shape(n, pre.channels(), pre.height(), pre.width()));
      NDArray g = gates.apply(scope);
      IValue xi = IValue.from((PtNDArray) x);
      IValue gi = IValue.from((PtNDArray) g);
      IValue out = null;
      try {
        out = AutogradMethods.run((PtSymbolBlock) model.getBlock(), GATED, xi, gi);
        if (!out.isTensor()) {
          throw new IllegalStateException(GATED + " of " + model.getName() + " returned " + out.getType() + ", not the"
              + " tensor " + archive.gatedOutput() + "; export it again with tools/torchscript_export.py");
        }
        NDArray z = out.toTensor((PtNDManager) scope);
        if (z.getShape().dimension() != 2 || z.getShape().get(0) != n) {
          throw new IllegalStateException(GATED + " returned shape " + z.getShape() + ", expected [" + n + ",classes]");
        }
        return use.apply(g, z);
      } catch (EngineException e) {
        throw new IllegalStateException("DJL's PyTorch engine failed in " + GATED + " on a batch of " + n + " for model "
            + description.name() + ": " + e.getMessage(), e);
      } finally {
        xi.close();
        gi.close();
        if (out != null) {
          out.close();
        }
      }
    }
  }

  private void checkGates(float[] gates, int n) {
    if (gates.length < (long) n * gateCount) {
      throw new IllegalArgumentException("gates: " + gates.length + " values for " + n + " images x " + gateCount
          + " gates");
    }
  }

  private static float[][] rows(float[] flat, int n) {
    int w = flat.length / n;
    float[][] out = new float[n][w];
    for (int i = 0; i < n; i++) {
      System.arraycopy(flat, i * w, out[i], 0, w);
    }
    return out;
  }

  @Override
  public void close() {
    model.close();
  }

  @Override
  public String toString() {
    return "DjlGateGradients[" + description.name() + ", " + gateCount + " gates, layers="
        + layers.stream().map(TappedLayer::name).toList() + "]";
  }
}
