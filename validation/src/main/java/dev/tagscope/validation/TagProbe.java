package dev.tagscope.validation;

import dev.tagscope.producer.FrameSynthesizer;
import dev.tagscope.producer.Image;
import dev.tagscope.schemas.Reduction;
import dev.tagscope.tagging.AnalysisPlan;
import dev.tagscope.tagging.WindowGeometry;
import dev.tagscope.tagging.ProbePlan;
import dev.tagscope.tagging.spectral.LayerAccumulator;
import dev.tagscope.tagging.spectral.WindowAnalyzer;
import dev.tagscope.worker.ActivationModel;
import dev.tagscope.worker.FloatTensor;
import dev.tagscope.worker.Preprocessor;
import dev.tagscope.worker.Reductions;
import dev.tagscope.worker.TappedLayer;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntConsumer;

/**
 * The tag probe run offline, in one process and without Kafka: the same plan, frame synthesis,
 * model, reduction and spectral core as the streaming pipeline (stimulus-producer's
 * {@link FrameSynthesizer}, the worker's {@link Reductions}, spectral-stream's
 * {@link WindowAnalyzer} and {@link LayerAccumulator}), so it ranks the filters exactly as the
 * stream does for the same images. Frame {@code i} of image {@code k} is stimulus frame
 * {@code k * framesPerImage + i}, as the publisher numbers them; windows of an image start at
 * {@code 0, hop, 2*hop, ...} while they fit (DESIGN.md section 1).
 *
 * <p>Every reduction asked for is computed from the same full feature maps, so comparing
 * reductions costs one inference pass. Accumulators can be snapshotted after the first
 * {@code k} images, to compare probe lengths in the same run.
 */
public final class TagProbe {
  private static final int BATCH = 32;

  private final ActivationModel model;
  private final ProbePlan plan;
  private final List<Reduction> reductions;

  /**
   * @param model the model with its taps
   * @param plan the probe plan (fps, window, hop, frames per image, signal bins)
   * @param reductions the reductions to accumulate, e.g. all four
   * @throws IllegalArgumentException when no reduction is given
   */
  public TagProbe(ActivationModel model, ProbePlan plan, List<Reduction> reductions) {
    if (reductions.isEmpty()) {
      throw new IllegalArgumentException("reductions: give at least one");
    }
    this.model = model;
    this.plan = plan;
    this.reductions = List.copyOf(reductions);
  }

  /**
   * Accumulated tag responses per reduction and layer, snapshotted after given image counts.
   *
   * @param images the probe images, all of the plan's shape
   * @param snapshotsAt image counts after which to copy the accumulators (each {@code <= images.size()})
   * @param progress called with the number of frames done after each batch
   * @return image count to reduction to layer to accumulator (insertion order = layer order)
   * @throws IllegalArgumentException when an image does not match the plan's shape
   */
  public Map<Integer, Map<Reduction, Map<String, LayerAccumulator>>> run(List<Image> images, List<Integer> snapshotsAt,
                                                                           IntConsumer progress) {
    AnalysisPlan info = plan.analysis();
    WindowAnalyzer analyzer = new WindowAnalyzer(info);
    FrameSynthesizer synth = new FrameSynthesizer(plan);
    Preprocessor pre = new Preprocessor(model.preprocessing());
    WindowGeometry geometry = info.window();
    int frames = geometry.framesPerImage();
    int w = geometry.windowFrames();
    Map<Reduction, Map<String, LayerAccumulator>> acc = new EnumMap<>(Reduction.class);
    for (Reduction r : reductions) {
      Map<String, LayerAccumulator> layers = new LinkedHashMap<>();
      for (TappedLayer t : model.tappedLayers()) {
        layers.put(t.name(), new LayerAccumulator(info.signalBins()));
      }
      acc.put(r, layers);
    }
    Map<Integer, Map<Reduction, Map<String, LayerAccumulator>>> out = new LinkedHashMap<>();
    float[] input = new float[BATCH * pre.inputLength()];
    int done = 0;
    for (int k = 0; k < images.size(); k++) {
      Image image = images.get(k);
      // series[reduction][layer][filter][frame]
      Map<Reduction, Map<String, double[][]>> series = new EnumMap<>(Reduction.class);
      for (Reduction r : reductions) {
        Map<String, double[][]> m = new LinkedHashMap<>();
        for (TappedLayer t : model.tappedLayers()) {
          m.put(t.name(), new double[t.channels()][frames]);
        }
        series.put(r, m);
      }
      for (int start = 0; start < frames; start += BATCH) {
        int n = Math.min(BATCH, frames - start);
        for (int i = 0; i < n; i++) {
          long frameIndex = (long) k * frames + start + i;
          pre.apply(synth.render(image, frameIndex), image.channels(), image.height(), image.width(), input, i * pre.inputLength());
        }
        ActivationModel.Forward f = model.forward(input, n);
        for (TappedLayer t : model.tappedLayers()) {
          FloatTensor tensor = f.layers().get(t.name());
          int c = t.channels();
          int spatial = tensor.rank() == 4 ? tensor.dim(2) * tensor.dim(3) : 1;
          float[] row = new float[c];
          for (Reduction r : reductions) {
            double[][] s = series.get(r).get(t.name());
            for (int i = 0; i < n; i++) {
              Reductions.reduce(tensor.data(), i, c, spatial, r, row);
              for (int ch = 0; ch < c; ch++) {
                s[ch][start + i] = row[ch];
              }
            }
          }
        }
        done += n;
        progress.accept(done);
      }
      for (Reduction r : reductions) {
        for (Map.Entry<String, double[][]> e : series.get(r).entrySet()) {
          double[][] s = e.getValue();
          for (int wk = 0; wk <= geometry.lastWindow(); wk++) {
            int ws = geometry.windowStart(wk);
            double[][] window = new double[s.length][];
            for (int ch = 0; ch < s.length; ch++) {
              window[ch] = java.util.Arrays.copyOfRange(s[ch], ws, ws + w);
            }
            acc.get(r).get(e.getKey()).add(analyzer.analyze(window));
          }
        }
      }
      if (snapshotsAt.contains(k + 1)) {
        out.put(k + 1, copy(acc));
      }
    }
    if (!out.containsKey(images.size())) {
      out.put(images.size(), acc);
    }
    return out;
  }

  private static Map<Reduction, Map<String, LayerAccumulator>> copy(Map<Reduction, Map<String, LayerAccumulator>> acc) {
    Map<Reduction, Map<String, LayerAccumulator>> out = new EnumMap<>(Reduction.class);
    for (Map.Entry<Reduction, Map<String, LayerAccumulator>> r : acc.entrySet()) {
      Map<String, LayerAccumulator> layers = new LinkedHashMap<>();
      r.getValue().forEach((layer, a) -> layers.put(layer, a.copy()));
      out.put(r.getKey(), layers);
    }
    return out;
  }
}
