package dev.tagscope.worker;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import dev.tagscope.schemas.Reduction;
import dev.tagscope.worker.internal.OnnxGraph;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link ActivationModel} on ONNX Runtime (Java API). Layers are tapped by rewriting the graph:
 * the chosen intermediate tensor names are appended to {@code graph.output} and the session is
 * created from the rewritten bytes, so one {@code session.run} per batch yields every tapped
 * {@code [N,C,H,W]} tensor along with the logits. The session uses the {@code ALL_OPT} graph
 * optimisation level (BASIC is 5-6x slower here); ONNX Runtime keeps every graph output intact
 * under its fusions.
 *
 * <p>A model whose input has a fixed batch size (e.g. exported with N = 1) is run in chunks of
 * that size; a last chunk with fewer frames is padded with zeros and the padding rows are
 * dropped. {@link #load(ModelConfig)} runs one trial batch of zeros to learn each tap's shape
 * and refuses taps that are not {@code [N,C,H,W]} or {@code [N,C]} float32.
 */
public final class OnnxActivationModel implements ActivationModel {
  private static final Logger log = LoggerFactory.getLogger(OnnxActivationModel.class);

  private final OrtEnvironment env;
  private final OrtSession session;
  private final String name;
  private final String version;
  private final String inputName;
  private final Preprocessing preprocessing;
  private final List<String> classes;
  private final List<LayerInfo> layers;
  private final List<TappedLayer> taps;
  private final List<String> modelOutputs;
  private final int fixedBatch;
  private final Set<String> tapTensors;
  private final Set<String> allOutputs;
  /** The graph and settings a reduced session is made from, on first use of its reduction. */
  private final OnnxGraph graph;
  private final ModelConfig config;
  /** Per reduction, a session whose only outputs are the reduced taps ({@link OnnxGraph#withReducedTaps}). */
  private final Map<Reduction, ReducedSession> reducedSessions = new java.util.EnumMap<>(Reduction.class);
  /** Set by {@link #close()}; guarded by this. */
  private boolean closed;

  /** A session for one reduction: the taps it reduces in the graph, and the outputs a run fetches. */
  private record ReducedSession(OrtSession session, Set<String> reducedTaps, Set<String> outputs) {}

  private OnnxActivationModel(OrtEnvironment env, OrtSession session, String name, String version, String inputName,
                              Preprocessing preprocessing, List<String> classes, List<LayerInfo> layers,
                              List<TappedLayer> taps, List<String> modelOutputs, int fixedBatch, OnnxGraph graph,
                              ModelConfig config) {
    this.env = env;
    this.session = session;
    this.name = name;
    this.version = version;
    this.inputName = inputName;
    this.preprocessing = preprocessing;
    this.classes = List.copyOf(classes);
    this.layers = List.copyOf(layers);
    this.taps = List.copyOf(taps);
    this.modelOutputs = List.copyOf(modelOutputs);
    this.fixedBatch = fixedBatch;
    this.tapTensors = taps.stream().map(t -> t.info().tensorName()).collect(Collectors.toCollection(LinkedHashSet::new));
    LinkedHashSet<String> all = new LinkedHashSet<>(tapTensors);
    all.addAll(modelOutputs);
    this.allOutputs = all;
    this.graph = graph;
    this.config = config;
  }

  /**
   * Loads an ONNX model (see {@link ActivationModel#load(ModelConfig)}).
   *
   * @param config model file, layers, overrides, threads, execution provider
   * @return a ready model
   * @throws IllegalArgumentException when the file is missing or not ONNX, a layer is unknown or
   *     has an unsupported output shape, the input shape is unknown or contradicts the
   *     configuration, a preprocessing value is invalid, or CUDA was asked for but is unavailable
   */
  public static OnnxActivationModel load(ModelConfig config) {
    Objects.requireNonNull(config, "config");
    Path path = config.modelPath();
    OnnxGraph graph = OnnxGraph.parse(readModel(path), path.toString());
    ModelDescription d = ModelDescription.of(graph, config);
    String modelName = d.name();
    String inputName = d.inputName();
    Preprocessing pre = d.preprocessing();
    int fixedBatch = d.fixedBatch();
    List<LayerInfo> selected = d.selected();
    List<String> tapNames = selected.stream().map(LayerInfo::tensorName).collect(Collectors.toList());
    byte[] rewritten = graph.withExtraOutputs(tapNames);

    OrtEnvironment env = OrtEnvironment.getEnvironment();
    OrtSession session = createSession(env, rewritten, config);
    List<TappedLayer> taps;
    try {
      taps = probeTaps(env, session, inputName, pre, selected, Math.max(1, fixedBatch));
    } catch (RuntimeException e) {
      closeQuietly(session);
      throw e;
    }
    log.info("loaded model {} version {} from {}: input {} [{},{},{}], {} tappable tensors, tapping {}", modelName,
        d.version(), path, inputName, pre.channels(), pre.height(), pre.width(), graph.layers().size(),
        taps.stream().map(TappedLayer::name).collect(Collectors.toList()));
    OnnxActivationModel m = new OnnxActivationModel(env, session, modelName, d.version(), inputName, pre, d.classes(),
        graph.layers(), taps, graph.outputNames(), fixedBatch, graph, config);
    try {
      // The default reduction's session is made now, not in the worker's first transaction, where
      // compiling it would eat into the transaction timeout; other reductions are made on first use.
      m.reducedSession(Reduction.MEAN);
    } catch (RuntimeException e) {
      m.close();
      throw e;
    }
    return m;
  }

  /**
   * Creates an ONNX Runtime session for (possibly rewritten) model bytes with the configuration's
   * optimisation level, threads, spinning and execution provider; shared by every session
   * Tagscope makes of a model, so they all run alike.
   *
   * @param env the ONNX Runtime environment
   * @param bytes serialised {@code ModelProto}
   * @param config threads, spinning, execution provider; {@code modelPath} names the model in messages
   * @return the session
   * @throws IllegalArgumentException when ONNX Runtime refuses the model or CUDA is unavailable
   */
  static OrtSession createSession(OrtEnvironment env, byte[] bytes, ModelConfig config) {
    try (OrtSession.SessionOptions opts = new OrtSession.SessionOptions()) {
      opts.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
      if (config.intraOpThreads() > 0) {
        opts.setIntraOpNumThreads(config.intraOpThreads());
      }
      // ONNX Runtime spins by default; see ModelConfig#intraOpSpinning for why Tagscope does not.
      opts.addConfigEntry("session.intra_op.allow_spinning", config.intraOpSpinning() ? "1" : "0");
      if (config.executionProvider().equals(ModelConfig.CUDA)) {
        try {
          opts.addCUDA(0);
        } catch (OrtException | RuntimeException | UnsatisfiedLinkError e) {
          throw new IllegalArgumentException("executionProvider=cuda is unavailable: it needs the"
              + " com.microsoft.onnxruntime:onnxruntime_gpu:1.29.0 artifact on the classpath instead of onnxruntime,"
              + " and CUDA 12 with cuDNN 9 on the host; use executionProvider=cpu otherwise (" + e.getMessage() + ")", e);
        }
      }
      return env.createSession(bytes, opts);
    } catch (OrtException e) {
      throw new IllegalArgumentException("ONNX Runtime cannot load " + config.modelPath() + ": " + e.getMessage(), e);
    }
  }

  /**
   * Every tappable tensor of an ONNX file, from the graph alone (no session).
   *
   * @param path the {@code .onnx} file
   * @return all tappable tensors in graph order, defaults marked
   * @throws IllegalArgumentException when the file is missing or not ONNX
   */
  public static List<LayerInfo> listLayers(Path path) {
    return OnnxGraph.parse(readModel(path), path.toString()).layers();
  }

  static byte[] readModel(Path path) {
    if (!Files.isRegularFile(path)) {
      throw new IllegalArgumentException("model file " + path.toAbsolutePath() + " does not exist; pass the path of an"
          + " .onnx file (the bundled default is models/fmnist-resnet32.onnx)");
    }
    try {
      return Files.readAllBytes(path);
    } catch (IOException e) {
      throw new IllegalArgumentException("cannot read model file " + path + ": " + e.getMessage(), e);
    }
  }

  /** Runs a batch of zero images (the model's fixed batch size, else 1) to learn each tap's channel count and rank. */
  private static List<TappedLayer> probeTaps(OrtEnvironment env, OrtSession session, String inputName,
                                             Preprocessing pre, List<LayerInfo> selected, int batch) {
    long[] shape = {batch, pre.channels(), pre.height(), pre.width()};
    Set<String> wanted = selected.stream().map(LayerInfo::tensorName).collect(Collectors.toCollection(LinkedHashSet::new));
    try (OnnxTensor in = OnnxTensor.createTensor(env, FloatBuffer.wrap(new float[batch * pre.inputLength()]), shape);
         OrtSession.Result r = session.run(Map.of(inputName, in), wanted)) {
      List<TappedLayer> out = new ArrayList<>();
      for (LayerInfo l : selected) {
        OnnxValue v = r.get(l.tensorName()).orElseThrow();
        long[] s = checkedShape(l, v);
        out.add(ModelDescription.tapped(l, s));
      }
      return out;
    } catch (OrtException e) {
      throw new IllegalArgumentException("trial run of the model failed (input '" + inputName + "' "
          + Arrays.toString(shape) + "): " + e.getMessage(), e);
    }
  }

  private static long[] checkedShape(LayerInfo l, OnnxValue v) {
    if (!(v instanceof OnnxTensor) || ((OnnxTensor) v).getInfo().type != OnnxJavaType.FLOAT) {
      throw new IllegalArgumentException("layer " + l.label() + " (tensor " + l.tensorName() + ") is not a float32"
          + " tensor (" + v.getInfo() + "); choose another layer with --layers (see --list-layers)");
    }
    long[] s = ((TensorInfo) v.getInfo()).getShape();
    ModelDescription.checkRank(l, s);
    return s;
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public String version() {
    return version;
  }

  @Override
  public Preprocessing preprocessing() {
    return preprocessing;
  }

  @Override
  public List<String> classes() {
    return classes;
  }

  @Override
  public List<LayerInfo> listLayers() {
    return layers;
  }

  @Override
  public List<TappedLayer> tappedLayers() {
    return taps;
  }

  /** @return the model's fixed batch size, or 0 when the batch dimension is dynamic */
  int fixedBatch() {
    return fixedBatch;
  }

  /**
   * The graph input the image batch is fed to.
   *
   * @return e.g. {@code input}
   */
  public String inputName() {
    return inputName;
  }

  /**
   * The taps whose reductions the graph computes (the rest are reduced in Java after the run).
   *
   * @return tensor names of the tapped feature maps the graph reduces itself
   */
  Set<String> reducedInGraph(Reduction reduction) {
    return reducedSession(reduction).reducedTaps();
  }

  /**
   * The session of one reduction, made on its first use. Its reductions run inside the graph, so
   * only {@code [N,C]} leaves the engine per tapped feature map in {@link #run}, not every
   * {@code [N,C,H,W]} map (about 0.5 MB per frame for the bundled model's 16 taps).
   */
  private synchronized ReducedSession reducedSession(Reduction reduction) {
    if (closed) {
      throw new IllegalStateException("model " + name + " is closed");
    }
    return reducedSessions.computeIfAbsent(reduction, r -> {
      OnnxGraph.Rewritten rw = graph.withReducedTaps(tapTensors, r.name());
      Set<String> outputs = new LinkedHashSet<>();
      for (String t : tapTensors) {
        outputs.add(rw.reducedTaps().contains(t) ? OnnxGraph.reducedOutput(t, r.name()) : t);
      }
      return new ReducedSession(createSession(env, rw.bytes(), config), rw.reducedTaps(), outputs);
    });
  }

  @Override
  public Map<String, float[][]> run(float[] input, int n, Reduction reduction) {
    Objects.requireNonNull(reduction, "reduction");
    checkInput(input, n);
    Map<String, float[][]> out = new LinkedHashMap<>();
    for (TappedLayer t : taps) {
      out.put(t.name(), new float[n][t.channels()]);
    }
    int chunk = fixedBatch > 0 ? fixedBatch : n;
    for (int start = 0; start < n; start += chunk) {
      int m = Math.min(chunk, n - start);
      ReducedSession reduced = reducedSession(reduction);
      try (OrtSession.Result r = runChunk(reduced.session(), input, start, m, reduced.outputs())) {
        for (TappedLayer t : taps) {
          if (reduced.reducedTaps().contains(t.info().tensorName())) {
            // [rows, C, 1, 1] from the graph's own reduction
            OnnxValue v = r.get(OnnxGraph.reducedOutput(t.info().tensorName(), reduction.name())).orElseThrow();
            long[] s = ((OnnxTensor) v).getInfo().getShape();
            if (s.length < 2 || s[0] != rows(m) || s[1] != t.channels()) {
              throw new IllegalStateException("layer " + t.name() + " reduced to shape " + Arrays.toString(s)
                  + ", expected [" + rows(m) + "," + t.channels() + ",1,1]");
            }
            float[] data = floats((OnnxTensor) v);
            float[][] dst = out.get(t.name());
            for (int i = 0; i < m; i++) {
              System.arraycopy(data, i * t.channels(), dst[start + i], 0, t.channels());
            }
            continue;
          }
          OnnxValue v = r.get(t.info().tensorName()).orElseThrow();
          long[] s = checkedShape(t.info(), v);
          int channels = (int) s[1];
          if (channels != t.channels() || s[0] != rows(m)) {
            throw new IllegalStateException("layer " + t.name() + " returned shape " + Arrays.toString(s)
                + ", expected [" + rows(m) + "," + t.channels() + ",...]");
          }
          int spatial = s.length == 4 ? Math.toIntExact(s[2] * s[3]) : 1;
          float[] data = floats((OnnxTensor) v);
          float[][] dst = out.get(t.name());
          for (int i = 0; i < m; i++) {
            Reductions.reduce(data, i, channels, spatial, reduction, dst[start + i]);
          }
        }
      }
    }
    return out;
  }

  @Override
  public Forward forward(float[] input, int n) {
    checkInput(input, n);
    if (fixedBatch > 0 && n > fixedBatch) {
      throw new IllegalArgumentException("this model takes batches of at most " + fixedBatch + ", got " + n);
    }
    Map<String, FloatTensor> layerOut = new LinkedHashMap<>();
    Map<String, FloatTensor> modelOut = new LinkedHashMap<>();
    try (OrtSession.Result r = runChunk(input, 0, n, allOutputs)) {
      for (TappedLayer t : taps) {
        OnnxValue v = r.get(t.info().tensorName()).orElseThrow();
        long[] s = checkedShape(t.info(), v);
        layerOut.put(t.name(), firstRows(s, floats((OnnxTensor) v), n));
      }
      for (String o : modelOutputs) {
        OnnxValue v = r.get(o).orElseThrow();
        if (v instanceof OnnxTensor && ((OnnxTensor) v).getInfo().type == OnnxJavaType.FLOAT) {
          modelOut.put(o, firstRows(((TensorInfo) v.getInfo()).getShape(), floats((OnnxTensor) v), n));
        }
      }
    }
    return new Forward(layerOut, modelOut);
  }

  void checkInput(float[] input, int n) {
    preprocessing.checkBatch(input, n);
  }

  /** Rows fed to the engine for {@code m} frames: the fixed batch size (zero-padded), else {@code m}. */
  private int rows(int m) {
    return fixedBatch > 0 ? fixedBatch : m;
  }

  /** The first {@code n} rows of a tensor whose first dimension is the padded batch. */
  private FloatTensor firstRows(long[] shape, float[] data, int n) {
    if (shape.length == 0 || shape[0] != rows(n) || shape[0] == n) {
      return new FloatTensor(shape, data);
    }
    long[] s = shape.clone();
    s[0] = n;
    return new FloatTensor(s, Arrays.copyOf(data, Math.toIntExact(data.length / shape[0] * n)));
  }

  private OrtSession.Result runChunk(float[] input, int start, int m, Set<String> outputs) {
    return runChunk(session, input, start, m, outputs);
  }

  private OrtSession.Result runChunk(OrtSession on, float[] input, int start, int m, Set<String> outputs) {
    int len = preprocessing.inputLength();
    int rows = rows(m);
    long[] shape = {rows, preprocessing.channels(), preprocessing.height(), preprocessing.width()};
    FloatBuffer buf;
    if (rows == m) {
      buf = FloatBuffer.wrap(input, start * len, m * len).slice();
    } else { // a short last chunk of a fixed-batch model: zero rows after the m frames
      float[] padded = new float[rows * len];
      System.arraycopy(input, start * len, padded, 0, m * len);
      buf = FloatBuffer.wrap(padded);
    }
    try (OnnxTensor in = OnnxTensor.createTensor(env, buf, shape)) {
      return on.run(Map.of(inputName, in), outputs);
    } catch (OrtException e) {
      throw new IllegalStateException("ONNX Runtime failed on a batch of " + m + " for model " + name + ": "
          + e.getMessage(), e);
    }
  }

  static float[] floats(OnnxTensor t) {
    FloatBuffer b = t.getFloatBuffer();
    if (b.hasArray() && b.arrayOffset() == 0 && b.position() == 0 && b.array().length == b.remaining()) {
      return b.array();
    }
    float[] out = new float[b.remaining()];
    b.get(out);
    return out;
  }

  @Override
  public synchronized void close() {
    closed = true; // no reduced session is made after this, so none is left unclosed
    closeQuietly(session);
    reducedSessions.values().forEach(r -> closeQuietly(r.session()));
    reducedSessions.clear();
  }

  static void closeQuietly(OrtSession s) {
    try {
      s.close();
    } catch (OrtException | RuntimeException e) {
      log.warn("closing the ONNX Runtime session failed: {}", e.toString());
    }
  }

  @Override
  public String toString() {
    return "OnnxActivationModel[" + name + ", taps=" + taps.stream().map(TappedLayer::name).collect(Collectors.toList()) + "]";
  }
}
