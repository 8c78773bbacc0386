package dev.tagscope.worker.djl;

import ai.djl.Device;
import ai.djl.MalformedModelException;
import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.engine.EngineException;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.ParameterStore;
import dev.tagscope.schemas.Reduction;
import dev.tagscope.worker.ActivationModel;
import dev.tagscope.worker.FloatTensor;
import dev.tagscope.worker.LayerInfo;
import dev.tagscope.worker.ModelConfig;
import dev.tagscope.worker.ModelDescription;
import dev.tagscope.worker.ModelVersion;
import dev.tagscope.worker.Preprocessing;
import dev.tagscope.worker.Reductions;
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
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link ActivationModel} on DJL's PyTorch engine, running a TorchScript export of an ONNX model
 * ({@code tools/torchscript_export.py}; for the bundled model {@code models/fmnist-resnet32.pt}, the
 * weights of {@code models/fmnist-resnet32.onnx}).
 *
 * <p><b>How layers are tapped.</b> The exported module's {@code forward(input)} returns a tuple of
 * every node output of the ONNX graph, in graph order; the archive records the ONNX tensor name of
 * each element and carries the graph itself without weights ({@link TorchScriptArchive}). The model
 * is resolved from that graph by the same code as for ONNX Runtime ({@link ModelDescription}): the
 * same layer labels, default taps, {@code --layers} selection, sidecar {@code <model>.json} (the
 * {@code .pt} shares the {@code .onnx}'s card) and preprocessing. One forward call per batch yields
 * every tapped {@code [N,C,H,W]} tensor; only the tapped ones (and, for {@link #forward}, the graph's
 * own outputs) are copied to Java, and each is reduced by {@link Reductions}, the code ONNX Runtime's
 * results go through. So both engines give the same report for the same weights, up to float
 * rounding (within 1e-4; {@code DjlActivationModelTest}).
 *
 * <p><b>Engine.</b> PyTorch's CPU natives come from {@code ai.djl.pytorch:pytorch-native-cpu:2.7.1}
 * on the classpath (Linux x86-64) and are unpacked once into DJL's cache ({@code ~/.djl.ai}, about
 * 450 MB); {@code ai.djl.offline} is set to {@code true} before the engine starts unless it is set
 * already, so DJL never tries a download. {@link ModelConfig#intraOpThreads()} sizes PyTorch's
 * intra-op pool ({@code ai.djl.pytorch.num_threads}), which is one per process: the first DJL model
 * loaded sets it. The execution provider must be {@code cpu}; spinning does not apply. Any batch
 * size runs in one call (a traced module is batch-agnostic). Each thread that runs a batch has
 * PyTorch's autograd and profiling graph executor turned off for it (both are thread-local in
 * PyTorch), as inference wants.
 *
 * <p>Thread-safe for {@link #run} and {@link #forward} (each call has its own native memory scope);
 * {@link #close()} frees the module once no run is in flight.
 */
public final class DjlActivationModel implements ActivationModel {
  private static final Logger log = LoggerFactory.getLogger(DjlActivationModel.class);
  /** DJL's name of its PyTorch engine. */
  static final String PYTORCH = "PyTorch";
  /** Whether this thread's PyTorch modes are set for inference ({@link #inferenceModesForThisThread()}). */
  private static final ThreadLocal<Boolean> INFERENCE_MODES = ThreadLocal.withInitial(() -> false);

  private final Model model;
  private final ModelDescription description;
  private final List<TappedLayer> taps;
  /** Per tap, in {@link #taps} order, its index among forward's outputs. */
  private final int[] tapIndex;
  /** Graph output name to its index among forward's outputs. */
  private final Map<String, Integer> outputIndex;
  private final int outputCount;

  private DjlActivationModel(Model model, ModelDescription description, List<TappedLayer> taps, int[] tapIndex,
                             Map<String, Integer> outputIndex, int outputCount) {
    this.model = model;
    this.description = description;
    this.taps = List.copyOf(taps);
    this.tapIndex = tapIndex.clone();
    this.outputIndex = Map.copyOf(outputIndex);
    this.outputCount = outputCount;
  }

  /**
   * Loads a TorchScript model (see {@link ActivationModel#load(ModelConfig)}) and runs one trial
   * batch of zeros to learn each tap's shape.
   *
   * @param config the {@code .pt} file, layers, overrides, threads; execution provider {@code cpu}
   * @return a ready model
   * @throws IllegalArgumentException when the file is missing, lacks Tagscope's extra files or its
   *     module does not return a selected layer; as {@link ModelDescription#of} for the graph,
   *     sidecar and layer selection; when a tap is not {@code [N,C,H,W]} or {@code [N,C]}; when the
   *     execution provider is not {@code cpu}; or when PyTorch's natives cannot be loaded
   */
  public static DjlActivationModel load(ModelConfig config) {
    Objects.requireNonNull(config, "config");
    if (!config.executionProvider().equals(ModelConfig.CPU)) {
      throw new IllegalArgumentException("executionProvider=" + config.executionProvider() + " is not available with"
          + " engine djl: only DJL's CPU natives are bundled; use executionProvider=cpu (or engine onnx)");
    }
    Path path = config.modelPath();
    TorchScriptArchive archive = TorchScriptArchive.read(path);
    // The twin holds the ONNX model's weights: it reports that model's version (unless its card names one).
    ModelDescription d = ModelDescription.of(archive.graph(), config)
        .withVersion(ModelVersion.ofExport(path, archive.sourceSha256()));
    int[] tapIndex = new int[d.selected().size()];
    for (int i = 0; i < tapIndex.length; i++) {
      LayerInfo l = d.selected().get(i);
      tapIndex[i] = archive.indexOf(l.tensorName());
      if (tapIndex[i] < 0) {
        throw new IllegalArgumentException("layer " + l.label() + " (tensor " + l.tensorName() + ") is not among the"
            + " outputs of " + path + "; export the model again with tools/torchscript_export.py, or choose another"
            + " layer with --layers");
      }
    }
    Map<String, Integer> outputIndex = new LinkedHashMap<>();
    for (String o : d.outputNames()) {
      int i = archive.indexOf(o);
      if (i >= 0) {
        outputIndex.put(o, i);
      }
    }
    Model model = newModel(d.name(), config);
    try {
      loadForAutograd(model, path);
    } catch (IOException | MalformedModelException | EngineException e) {
      model.close();
      throw new IllegalArgumentException("DJL's PyTorch engine cannot load " + path + ": " + e.getMessage(), e);
    }
    DjlActivationModel m = new DjlActivationModel(model, d, List.of(), tapIndex, outputIndex, archive.outputs().size());
    try {
      List<TappedLayer> taps = m.trialRun(d.selected());
      log.info("loaded model {} version {} from {} on DJL {} (PyTorch {}): input {} [{},{},{}], {} tappable tensors,"
          + " tapping {}", d.name(), d.version(), path, Engine.getDjlVersion(), model.getNDManager().getEngine().getVersion(), d.inputName(),
          d.preprocessing().channels(), d.preprocessing().height(), d.preprocessing().width(), d.layers().size(),
          taps.stream().map(TappedLayer::name).collect(Collectors.toList()));
      return new DjlActivationModel(model, d, taps, tapIndex, outputIndex, archive.outputs().size());
    } catch (RuntimeException e) {
      model.close();
      throw e;
    }
  }

  /**
   * Loads a TorchScript file so that autograd can run through it, with frozen weights.
   * {@code trainParam}: DJL otherwise loads the weights as inference tensors, through which autograd
   * cannot differentiate even with respect to an input (feature visualisation and the gate gradients
   * need that); DJL then marks every weight as needing a gradient, which nothing here uses, so they are
   * set off again: a backward pass computes only the gradients of the input or the gates.
   *
   * @param model a new model on the PyTorch engine ({@link #newModel})
   * @param path the {@code .pt} file
   * @throws IOException when the file cannot be read
   * @throws MalformedModelException when PyTorch cannot read it as TorchScript
   */
  static void loadForAutograd(Model model, Path path) throws IOException, MalformedModelException {
    model.load(path, null, Map.of("trainParam", "true"));
    model.getBlock().getParameters().values().forEach(p -> p.getArray().setRequiresGradient(false));
  }

  /** A model on the PyTorch engine, which is started here on first use: offline, with the configured threads. */
  static Model newModel(String name, ModelConfig config) {
    if (System.getProperty("ai.djl.offline") == null) {
      System.setProperty("ai.djl.offline", "true");
    }
    if (config.intraOpThreads() > 0 && System.getProperty("ai.djl.pytorch.num_threads") == null) {
      System.setProperty("ai.djl.pytorch.num_threads", Integer.toString(config.intraOpThreads()));
    }
    try {
      return Model.newInstance(name, Device.cpu(), PYTORCH);
    } catch (EngineException | UnsatisfiedLinkError e) {
      throw new IllegalArgumentException("DJL's PyTorch engine could not start: it needs"
          + " ai.djl.pytorch:pytorch-native-cpu:2.7.1 (classifier linux-x86_64) and pytorch-jni:2.7.1-0.35.1 on the"
          + " classpath, on a Linux x86-64 host; use engine onnx with the .onnx model otherwise (" + e.getMessage() + ")", e);
    }
  }

  /** Runs a batch of one zero image to learn each selected layer's channel count and rank. */
  private List<TappedLayer> trialRun(List<LayerInfo> selected) {
    Preprocessing pre = description.preprocessing();
    return infer(new float[pre.inputLength()], 1, out -> {
      List<TappedLayer> found = new ArrayList<>();
      for (int i = 0; i < selected.size(); i++) {
        NDArray a = out.get(tapIndex[i]);
        if (a.getDataType() != DataType.FLOAT32) {
          throw new IllegalArgumentException("layer " + selected.get(i).label() + " (tensor "
              + selected.get(i).tensorName() + ") is not float32 (" + a.getDataType() + "); choose another layer with"
              + " --layers (see --list-layers)");
        }
        found.add(ModelDescription.tapped(selected.get(i), a.getShape().getShape()));
      }
      return found;
    });
  }

  /**
   * Runs forward on {@code n} frames in a memory scope of its own and hands the outputs to
   * {@code use}, which must copy what it keeps: the scope is closed when it returns.
   */
  private <T> T infer(float[] input, int n, Function<NDList, T> use) {
    Preprocessing pre = description.preprocessing();
    pre.checkBatch(input, n);
    int len = pre.inputLength();
    inferenceModesForThisThread();
    try (NDManager scope = model.getNDManager().newSubManager()) {
      NDArray x = scope.create(FloatBuffer.wrap(input, 0, n * len),
          new Shape(n, pre.channels(), pre.height(), pre.width()));
      NDList out;
      try {
        out = model.getBlock().forward(new ParameterStore(scope, false), new NDList(x), false);
      } catch (EngineException e) {
        throw new IllegalStateException("DJL's PyTorch engine failed on a batch of " + n + " for model "
            + description.name() + ": " + e.getMessage(), e);
      }
      out.attach(scope);
      if (out.size() != outputCount) {
        throw new IllegalStateException("the module of model " + description.name() + " returned " + out.size()
            + " tensors, but its archive names " + outputCount + "; export it again with tools/torchscript_export.py");
      }
      return use.apply(out);
    }
  }

  /**
   * Turns off, for the calling thread, PyTorch's autograd and its profiling graph executor. Both
   * are thread-local in PyTorch, and DJL sets them only on the thread that starts the engine. The
   * profiling executor re-specialises the module for every new input shape: measured here, calls
   * alternating between batches of 32 and 16 frames (as the worker's polls and a probe's last batch
   * of an image give) took about 280 ms each with it and 30 ms without.
   */
  static void inferenceModesForThisThread() {
    if (!INFERENCE_MODES.get()) {
      JniUtils.setGraphExecutorOptimize(false);
      JniUtils.setGradMode(false);
      INFERENCE_MODES.set(true);
    }
  }

  @Override
  public String name() {
    return description.name();
  }

  @Override
  public String version() {
    return description.version();
  }

  @Override
  public Preprocessing preprocessing() {
    return description.preprocessing();
  }

  @Override
  public List<String> classes() {
    return description.classes();
  }

  @Override
  public List<LayerInfo> listLayers() {
    return description.layers();
  }

  @Override
  public List<TappedLayer> tappedLayers() {
    return taps;
  }

  @Override
  public Map<String, float[][]> run(float[] input, int n, Reduction reduction) {
    Objects.requireNonNull(reduction, "reduction");
    return infer(input, n, out -> {
      Map<String, float[][]> reduced = new LinkedHashMap<>();
      for (int i = 0; i < taps.size(); i++) {
        FloatTensor t = copy(taps.get(i), out.get(tapIndex[i]), n);
        int spatial = t.rank() == 4 ? t.dim(2) * t.dim(3) : 1;
        reduced.put(taps.get(i).name(), Reductions.reduceAll(t.data(), n, taps.get(i).channels(), spatial, reduction));
      }
      return reduced;
    });
  }

  @Override
  public Forward forward(float[] input, int n) {
    return infer(input, n, out -> {
      Map<String, FloatTensor> layers = new LinkedHashMap<>();
      for (int i = 0; i < taps.size(); i++) {
        layers.put(taps.get(i).name(), copy(taps.get(i), out.get(tapIndex[i]), n));
      }
      Map<String, FloatTensor> outputs = new LinkedHashMap<>();
      for (String o : description.outputNames()) {
        Integer i = outputIndex.get(o);
        if (i != null && out.get(i).getDataType() == DataType.FLOAT32) {
          NDArray a = out.get(i);
          outputs.put(o, new FloatTensor(a.getShape().getShape(), a.toFloatArray()));
        }
      }
      return new Forward(layers, outputs);
    });
  }

  /** A tap's output copied to Java, checked against the shape the trial run gave. */
  private static FloatTensor copy(TappedLayer t, NDArray a, int n) {
    long[] s = a.getShape().getShape();
    if (s.length < 2 || s[0] != n || s[1] != t.channels() || (s.length == 4) != t.spatial()) {
      throw new IllegalStateException("layer " + t.name() + " returned shape " + a.getShape() + ", expected [" + n + ","
          + t.channels() + (t.spatial() ? ",H,W]" : "]"));
    }
    return new FloatTensor(s, a.toFloatArray());
  }

  /**
   * The loaded TorchScript module and where a tapped layer is among its {@code forward} outputs,
   * for gradient-based tools that run the module themselves with autograd on (feature visualisation,
   * {@code dev.tagscope.worker.djl.visual}); public because a subpackage cannot see package-private
   * members. Inference goes through {@link #run} and {@link #forward}.
   *
   * @param layer a tapped layer's label, as in {@link #tappedLayers()}
   * @return the DJL model (owned by this object: do not close it) and the layer's output index
   * @throws IllegalArgumentException when the layer is not tapped
   */
  public Module module(String layer) {
    for (int i = 0; i < taps.size(); i++) {
      if (taps.get(i).name().equals(layer)) {
        return new Module(model, tapIndex[i]);
      }
    }
    throw new IllegalArgumentException("layer " + layer + " is not tapped by model " + description.name()
        + "; tapped: " + taps.stream().map(TappedLayer::name).collect(Collectors.toList()));
  }

  /**
   * @param model the loaded DJL model
   * @param outputIndex the layer's index in the tuple {@code forward(input)} returns
   */
  public record Module(Model model, int outputIndex) {}

  @Override
  public void close() {
    model.close();
  }

  @Override
  public String toString() {
    return "DjlActivationModel[" + description.name() + ", taps=" + taps.stream().map(TappedLayer::name)
        .collect(Collectors.toList()) + "]";
  }
}
