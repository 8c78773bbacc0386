package dev.tagscope.worker;

import ai.onnx.proto.OnnxMl;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import dev.tagscope.worker.internal.AblationGraph;
import dev.tagscope.worker.internal.OnnxGraph;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * A model whose tapped filters can be ablated: a filter's channel of the tapped tensor is set to
 * 0 for every image (Morcos et al., "On the importance of single directions for generalization",
 * ICLR 2018, section 2), and the model's logits are read after it. One ONNX Runtime session per
 * tapped layer serves every filter of that layer and every set of filters: the graph is cut at
 * the tapped tensor and a channel-mask input {@code [N,C,1,1]} is multiplied in after it (see
 * {@code AblationGraph}). The part of the network above the tap runs once per image
 * ({@link #upstream}); each mask then runs only the part below it ({@link #ablateLayer}).
 *
 * <pre>{@code
 * try (AblationModel m = AblationModel.load(ModelConfig.of(Path.of("models/fmnist-resnet32.onnx")))) {
 *   AblationModel.Upstream up = m.upstream(batch, n);                // batch: [N,C,H,W] preprocessed
 *   float[][] masks = new float[64][64];                              // one mask per filter of layer3.4
 *   for (int k = 0; k < 64; k++) { Arrays.fill(masks[k], 1f); masks[k][k] = 0f; }
 *   float[][] logits = m.ablateLayer(up, "layer3.4", masks);          // [64 * n][classes], row k*n+i
 * }
 * }</pre>
 *
 * <p>The model must have a dynamic batch dimension (masks are stacked along it), and every tap a
 * float {@code [N,C,H,W]} or {@code [N,C]} tensor. Not thread-safe: one caller at a time.
 */
public final class AblationModel implements AutoCloseable {
  private final OnnxActivationModel base;
  private final OrtEnvironment env;
  private final OrtSession upstreamSession;
  private final OrtSession networkSession;
  private final Map<String, LayerSession> layers = new LinkedHashMap<>();
  private final Map<String, String> networkMasks = new LinkedHashMap<>();
  private final Set<String> upstreamOutputs;
  private final String logitsName;
  private final OnnxMl.ModelProto proto;

  private record LayerSession(TappedLayer tap, OrtSession session, AblationGraph.Cut cut) {}

  private AblationModel(OnnxActivationModel base, OnnxGraph graph, ModelConfig config) {
    this.base = base;
    this.proto = graph.model();
    this.env = OrtEnvironment.getEnvironment();
    List<String> outputs = graph.outputNames();
    this.logitsName = outputs.get(0);
    LinkedHashSet<String> up = new LinkedHashSet<>();
    up.add(logitsName);
    List<OrtSession> opened = new ArrayList<>();
    try {
      for (TappedLayer t : base.tappedLayers()) {
        String tensor = t.info().tensorName();
        AblationGraph.Cut cut = AblationGraph.layerCut(proto, tensor, "tagscope-mask/" + t.name());
        if (!cut.outputs().contains(logitsName)) {
          throw new IllegalArgumentException("layer " + t.name() + ": the model's first output '" + logitsName
              + "' does not depend on it, so ablating it cannot be measured; tap another layer");
        }
        OrtSession s = OnnxActivationModel.createSession(env, cut.model(), config);
        opened.add(s);
        layers.put(t.name(), new LayerSession(t, s, cut));
        up.addAll(cut.frontier());
        networkMasks.put(tensor, "tagscope-mask/" + t.name());
      }
      this.upstreamOutputs = up;
      byte[] upstreamBytes = graph.withExtraOutputs(up);
      this.upstreamSession = OnnxActivationModel.createSession(env, upstreamBytes, config);
      opened.add(upstreamSession);
      this.networkSession = OnnxActivationModel.createSession(env, AblationGraph.maskedNetwork(proto, networkMasks), config);
    } catch (RuntimeException e) {
      opened.forEach(OnnxActivationModel::closeQuietly);
      throw e;
    }
  }

  /**
   * Loads a model for ablation: the same file, sidecar, taps and preprocessing as
   * {@link ActivationModel#load(ModelConfig)}, plus one cut session per tapped layer.
   *
   * @param config model file, layers, overrides, threads, execution provider
   * @return the model
   * @throws IllegalArgumentException as {@link ActivationModel#load(ModelConfig)}, and when the
   *     model's input has a fixed batch size, or its first output does not depend on a tap, or
   *     the configuration asks for another engine than ONNX Runtime (ablation rewrites the ONNX graph)
   */
  public static AblationModel load(ModelConfig config) {
    Objects.requireNonNull(config, "config");
    if (!config.resolvedEngine().equals(ModelConfig.ONNX)) {
      throw new IllegalArgumentException("engine " + config.resolvedEngine() + ": ablation cuts and rewrites the ONNX"
          + " graph, so it runs on ONNX Runtime only; pass the .onnx model (and --engine onnx or no --engine)");
    }
    OnnxActivationModel base = OnnxActivationModel.load(config);
    try {
      OnnxGraph graph = OnnxGraph.parse(OnnxActivationModel.readModel(config.modelPath()), config.modelPath().toString());
      if (base.fixedBatch() > 0) {
        throw new IllegalArgumentException("model " + config.modelPath() + " has a fixed batch size of " + base.fixedBatch()
            + "; ablation stacks masks along the batch dimension, so re-export it with a dynamic batch"
            + " (torch.onnx.export(..., dynamic_axes={'input': {0: 'N'}, ...}))");
      }
      return new AblationModel(base, graph, config);
    } catch (RuntimeException e) {
      base.close();
      throw e;
    }
  }

  /**
   * The unablated model (taps, preprocessing, classes, reduced runs).
   *
   * @return the model this ablation model was built on; closed with it
   */
  public ActivationModel activations() {
    return base;
  }

  /**
   * The tapped layers, in graph order.
   *
   * @return the taps with their filter counts
   */
  public List<TappedLayer> tappedLayers() {
    return base.tappedLayers();
  }

  /**
   * Tensors each layer's cut reads from above it.
   *
   * @param layer a tapped layer label
   * @return the frontier tensor names, the tapped tensor first
   * @throws IllegalArgumentException when the layer is not tapped
   */
  public List<String> frontier(String layer) {
    return session(layer).cut().frontier();
  }

  /**
   * The convolutions whose weights write a layer's channels, with each filter's weight L1 norm
   * summed over them (Li et al., ICLR 2017, section 3.1: {@code s_k = sum |F_k|}). A residual
   * block's output counts its last convolution and a projection shortcut, not an identity one.
   *
   * @param layer a tapped layer label
   * @return {@code [C]} L1 norms and the convolution node names, or empty when the layer is not
   *     written by convolutions through per-channel operators only (the reason is then given by
   *     {@link #producingWeightsReason(String)})
   * @throws IllegalArgumentException when the layer is not tapped
   */
  public Optional<WeightNorms> producingWeights(String layer) {
    LayerSession s = session(layer);
    List<OnnxMl.NodeProto> convs = AblationGraph.producingConvolutions(proto, s.tap().info().tensorName());
    if (convs.isEmpty()) {
      return Optional.empty();
    }
    double[] l1 = new double[s.tap().channels()];
    List<String> names = new ArrayList<>();
    for (OnnxMl.NodeProto c : convs) {
      double[] w = AblationGraph.convWeightL1(proto, c);
      if (w.length != l1.length) {
        return Optional.empty();
      }
      for (int k = 0; k < l1.length; k++) {
        l1[k] += w[k];
      }
      names.add(c.getName());
    }
    return Optional.of(new WeightNorms(l1, List.copyOf(names)));
  }

  /**
   * Why {@link #producingWeights(String)} found no convolution for a layer.
   *
   * @param layer a tapped layer label
   * @return a sentence naming the operator that stopped the walk
   */
  public String producingWeightsReason(String layer) {
    LayerSession s = session(layer);
    return "tensor " + s.tap().info().tensorName() + " (" + s.tap().info().opType() + ") is not written by a"
        + " convolution through per-channel operators only";
  }

  /**
   * Per-filter weight norms of a layer.
   *
   * @param l1 {@code [C]} sum over the producing convolutions of {@code sum |W[k,...]|}
   * @param convolutions the {@code Conv} node names used
   */
  public record WeightNorms(double[] l1, List<String> convolutions) {}

  /**
   * What the network computes above every cut for a batch: the unablated logits, the tapped
   * tensors, and every frontier tensor.
   *
   * @param n images in the batch
   * @param logits {@code [N][classes]} unablated logits
   * @param tensors tensor name to its value for the batch (first dimension N)
   */
  public record Upstream(int n, float[][] logits, Map<String, FloatTensor> tensors) {
    /**
     * The full tapped tensor of a layer.
     *
     * @param tap the layer
     * @return its tensor {@code [N,C,H,W]} or {@code [N,C]}
     */
    public FloatTensor tapped(TappedLayer tap) {
      return tensors.get(tap.info().tensorName());
    }
  }

  /**
   * Runs the unablated network on a batch and keeps what every cut needs.
   *
   * @param input preprocessed images, float {@code [N,C,H,W]} flat
   * @param n batch size N, at least 1
   * @return logits, tapped and frontier tensors
   * @throws IllegalArgumentException when {@code input} is too short or {@code n < 1}
   * @throws IllegalStateException when the engine fails
   */
  public Upstream upstream(float[] input, int n) {
    base.checkInput(input, n);
    Preprocessing p = base.preprocessing();
    long[] shape = {n, p.channels(), p.height(), p.width()};
    try (OnnxTensor in = OnnxTensor.createTensor(env, FloatBuffer.wrap(input, 0, n * p.inputLength()).slice(), shape);
         OrtSession.Result r = upstreamSession.run(Map.of(base.inputName(), in), upstreamOutputs)) {
      Map<String, FloatTensor> tensors = new HashMap<>();
      for (String name : upstreamOutputs) {
        tensors.put(name, tensor(r.get(name).orElseThrow(), name));
      }
      return new Upstream(n, rows(tensors.get(logitsName)), Map.copyOf(tensors));
    } catch (OrtException e) {
      throw new IllegalStateException("ONNX Runtime failed on the upstream pass of " + n + " images: " + e.getMessage(), e);
    }
  }

  /**
   * Logits of the network with a layer's filters masked, one mask after another on the same
   * images: row {@code g * N + i} is image {@code i} under mask {@code g}.
   *
   * @param up the upstream pass of the images
   * @param layer a tapped layer label
   * @param masks {@code [G][C]}: per mask, 1 keeps a filter and 0 ablates it (other values scale it)
   * @return {@code [G * N][classes]} logits
   * @throws IllegalArgumentException when the layer is not tapped or a mask's length is not C
   * @throws IllegalStateException when the engine fails
   */
  public float[][] ablateLayer(Upstream up, String layer, float[][] masks) {
    LayerSession s = session(layer);
    int c = s.tap().channels();
    int g = masks.length;
    int n = up.n();
    Map<String, OnnxTensor> feeds = new LinkedHashMap<>();
    try {
      for (String f : s.cut().frontier()) {
        FloatTensor t = up.tensors().get(f);
        feeds.put(f, tiled(t, g));
      }
      float[] mask = new float[g * n * c];
      for (int m = 0; m < g; m++) {
        if (masks[m].length != c) {
          throw new IllegalArgumentException("mask " + m + " has " + masks[m].length + " entries; layer " + layer + " has " + c + " filters");
        }
        for (int i = 0; i < n; i++) {
          System.arraycopy(masks[m], 0, mask, (m * n + i) * c, c);
        }
      }
      feeds.put(s.cut().mask(), OnnxTensor.createTensor(env, FloatBuffer.wrap(mask), maskShape(g * n, c, s.tap())));
      try (OrtSession.Result r = s.session().run(feeds, Set.of(logitsName))) {
        return rows(tensor(r.get(logitsName).orElseThrow(), logitsName));
      }
    } catch (OrtException e) {
      throw new IllegalStateException("ONNX Runtime failed ablating layer " + layer + ": " + e.getMessage(), e);
    } finally {
      feeds.values().forEach(OnnxTensor::close);
    }
  }

  /**
   * Logits of the whole network with filters of several layers masked at once (for pruning the
   * network as a whole).
   *
   * @param input preprocessed images, float {@code [N,C,H,W]} flat
   * @param n batch size N
   * @param masks layer label to its mask {@code [C]} (1 keep, 0 ablate); layers not named are kept
   * @return {@code [N][classes]} logits
   * @throws IllegalArgumentException when a layer is not tapped or a mask has the wrong length
   * @throws IllegalStateException when the engine fails
   */
  public float[][] ablateNetwork(float[] input, int n, Map<String, float[]> masks) {
    base.checkInput(input, n);
    for (String l : masks.keySet()) {
      session(l);
    }
    Preprocessing p = base.preprocessing();
    Map<String, OnnxTensor> feeds = new LinkedHashMap<>();
    try {
      feeds.put(base.inputName(), OnnxTensor.createTensor(env, FloatBuffer.wrap(input, 0, n * p.inputLength()).slice(),
          new long[] {n, p.channels(), p.height(), p.width()}));
      for (TappedLayer t : base.tappedLayers()) {
        float[] m = masks.get(t.name());
        if (m != null && m.length != t.channels()) {
          throw new IllegalArgumentException("mask of layer " + t.name() + " has " + m.length + " entries, not " + t.channels());
        }
        float[] rowsMask = new float[n * t.channels()];
        for (int i = 0; i < n; i++) {
          if (m == null) {
            Arrays.fill(rowsMask, i * t.channels(), (i + 1) * t.channels(), 1f);
          } else {
            System.arraycopy(m, 0, rowsMask, i * t.channels(), t.channels());
          }
        }
        feeds.put(networkMasks.get(t.info().tensorName()),
            OnnxTensor.createTensor(env, FloatBuffer.wrap(rowsMask), maskShape(n, t.channels(), t)));
      }
      try (OrtSession.Result r = networkSession.run(feeds, Set.of(logitsName))) {
        return rows(tensor(r.get(logitsName).orElseThrow(), logitsName));
      }
    } catch (OrtException e) {
      throw new IllegalStateException("ONNX Runtime failed on the masked network: " + e.getMessage(), e);
    } finally {
      feeds.values().forEach(OnnxTensor::close);
    }
  }

  private static long[] maskShape(int rows, int c, TappedLayer t) {
    return t.spatial() ? new long[] {rows, c, 1, 1} : new long[] {rows, c};
  }

  private LayerSession session(String layer) {
    LayerSession s = layers.get(layer);
    if (s == null) {
      throw new IllegalArgumentException("layer '" + layer + "' is not tapped; tapped layers: " + layers.keySet());
    }
    return s;
  }

  /** The tensor repeated {@code g} times along the batch dimension. */
  private OnnxTensor tiled(FloatTensor t, int g) throws OrtException {
    long[] shape = t.shape().clone();
    shape[0] *= g;
    float[] data = new float[t.data().length * g];
    for (int m = 0; m < g; m++) {
      System.arraycopy(t.data(), 0, data, m * t.data().length, t.data().length);
    }
    return OnnxTensor.createTensor(env, FloatBuffer.wrap(data), shape);
  }

  private static FloatTensor tensor(OnnxValue v, String name) {
    if (!(v instanceof OnnxTensor) || !(v.getInfo() instanceof TensorInfo)) {
      throw new IllegalStateException("tensor " + name + " is not a tensor: " + v.getInfo());
    }
    OnnxTensor t = (OnnxTensor) v;
    if (t.getInfo().type != OnnxJavaType.FLOAT) {
      throw new IllegalStateException("tensor " + name + " is not float32: " + t.getInfo()
          + "; ablation cuts need float tensors above the tap");
    }
    return new FloatTensor(t.getInfo().getShape(), OnnxActivationModel.floats(t));
  }

  private static float[][] rows(FloatTensor t) {
    int n = t.dim(0);
    int k = t.data().length / Math.max(n, 1);
    float[][] out = new float[n][k];
    for (int i = 0; i < n; i++) {
      System.arraycopy(t.data(), i * k, out[i], 0, k);
    }
    return out;
  }

  @Override
  public void close() {
    for (LayerSession s : layers.values()) {
      OnnxActivationModel.closeQuietly(s.session());
    }
    OnnxActivationModel.closeQuietly(upstreamSession);
    OnnxActivationModel.closeQuietly(networkSession);
    base.close();
  }

  @Override
  public String toString() {
    return "AblationModel[" + base.name() + ", layers=" + layers.keySet().stream().collect(Collectors.joining(",")) + "]";
  }
}
