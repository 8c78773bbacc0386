package dev.tagscope.worker.djl.visual;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.ParameterStore;
import dev.tagscope.worker.Preprocessing;
import dev.tagscope.worker.TappedLayer;
import dev.tagscope.worker.djl.DjlActivationModel;
import java.nio.FloatBuffer;
import java.util.Objects;
import java.util.Random;
import java.util.function.LongConsumer;

/**
 * Activation maximisation of filters of one tapped layer, with gradients from DJL's PyTorch autograd.
 *
 * <p><b>Objective</b> of filter {@code c} on image {@code x}: the spatial mean of channel {@code c}
 * of the layer's output {@code [N,C,H,W]} ({@code [N,C]} taps: the value itself), the quantity the
 * tag probe's default {@code MEAN} reduction follows. Several filters of a layer are optimised as
 * one batch, image {@code b} for filter {@code c_b}: the batch objective {@code sum_b obj_{c_b}(x_b)}
 * has {@code d/dx_b = d obj_{c_b}(x_b)/dx_b} because the images do not interact (the export is traced
 * with batch normalisation folded or in eval form, so no batch statistics are used even though the
 * forward call passes {@code training = true}, which DJL needs to record autograd; that call also
 * switches the module's train flag, so a model being optimised must not serve inference on another
 * thread at the same time: {@code tagscope visualize} and {@code demo --visualize} load a model of
 * their own), so one forward and backward call serves a whole layer.
 *
 * <p><b>Update</b> (Yosinski et al. 2015, section 3; jitter after Olah et al. 2017), per step and image:
 * shift the image circularly by a seeded random offset in {@code [-J, J]^2}; take the gradient there
 * and shift it back; {@code x += lr * g / rms(g)}; {@code x *= 1 - decay}; every {@code blurEvery}
 * steps a Gaussian blur; clip each channel to {@code [(0 - mean)/std, (255*scale - mean)/std]}.
 * See {@link VisualSettings} for the defaults.
 *
 * <p><b>Autograd.</b> {@link DjlActivationModel} turns PyTorch's grad mode off on every thread that
 * runs inference; here it is turned on for the calling thread around each gradient call and set
 * back to what it was, so inference on the same thread afterwards builds no graph.
 */
public final class ActivationMaximiser {
  /** Standard deviation of the start noise, in pixel levels (0..255). */
  static final double START_NOISE_LEVELS = 2;

  private final DjlActivationModel model;
  private final TappedLayer layer;
  private final DjlActivationModel.Module module;
  private final Preprocessing pre;
  private final float[] lo;
  private final float[] hi;

  /**
   * @param model the model; {@code layer} must be among its taps
   * @param layer the tapped layer's label
   * @throws IllegalArgumentException when the layer is not tapped
   */
  public ActivationMaximiser(DjlActivationModel model, String layer) {
    this.model = Objects.requireNonNull(model, "model");
    this.module = model.module(layer);
    this.layer = model.tappedLayers().stream().filter(t -> t.name().equals(layer)).findFirst().orElseThrow();
    this.pre = model.preprocessing();
    int c = pre.channels();
    lo = new float[c];
    hi = new float[c];
    for (int ch = 0; ch < c; ch++) {
      lo[ch] = -pre.meanOf(ch) / pre.stdOf(ch);
      hi[ch] = (float) ((255 * pre.scale() - pre.meanOf(ch)) / pre.stdOf(ch));
    }
  }

  /**
   * The objective of each image's filter and its gradient with respect to the input, by autograd.
   *
   * @param input {@code n} preprocessed images, {@code [n,C,H,W]} flattened
   * @param filters the filter (channel) of each image, {@code n} of them
   * @param gradient receives {@code d obj_b / d x_b}, same layout as {@code input}
   * @return the objective of each image, {@code [n]}, in the layer's activation units
   * @throws IllegalArgumentException when a filter index is outside the layer or the sizes disagree
   */
  public float[] objectiveAndGradient(float[] input, int[] filters, float[] gradient) {
    int n = filters.length;
    int len = pre.inputLength();
    pre.checkBatch(input, n);
    if (gradient.length < n * len) {
      throw new IllegalArgumentException("gradient: needs " + n * len + " floats, has " + gradient.length);
    }
    int channels = layer.channels();
    float[] mask = new float[n * channels];
    for (int b = 0; b < n; b++) {
      if (filters[b] < 0 || filters[b] >= channels) {
        throw new IllegalArgumentException("filter " + filters[b] + " is not in layer " + layer.name() + ", which has "
            + channels + " filters (0.." + (channels - 1) + ")");
      }
      mask[b * channels + filters[b]] = 1;
    }
    boolean gradMode = JniUtils.isGradMode();
    JniUtils.setGradMode(true);
    try (NDManager scope = module.model().getNDManager().newSubManager()) {
      NDArray x = scope.create(FloatBuffer.wrap(input, 0, n * len), new Shape(n, pre.channels(), pre.height(), pre.width()));
      x.setRequiresGradient(true);
      NDList out = module.model().getBlock().forward(new ParameterStore(scope, false), new NDList(x), true);
      out.attach(scope);
      NDArray a = out.get(module.outputIndex());
      // PyTorch's DJL mean takes one axis: flatten H x W first. [n, C]
      NDArray perFilter = a.getShape().dimension() == 4 ? a.reshape(n, channels, -1).mean(new int[] {2}) : a;
      NDArray perImage = perFilter.mul(scope.create(mask, new Shape(n, channels))).sum(new int[] {1}); // [n]
      NDArray total = perImage.sum();
      JniUtils.backward((PtNDArray) total, (PtNDArray) scope.ones(total.getShape()), false, false);
      float[] g = x.getGradient().toFloatArray();
      System.arraycopy(g, 0, gradient, 0, n * len);
      return perImage.toFloatArray();
    } finally {
      JniUtils.setGradMode(gradMode);
    }
  }

  /**
   * Optimises one image per filter, as described above.
   *
   * @param filters the filters to visualise, each in {@code 0..C-1}
   * @param settings steps, learning rate, regularisers, seed
   * @param progress called with the filter-steps done after each step ({@code filters.length} each)
   * @return the images in normalised input space, {@code [filters.length, C, H, W]} flattened
   * @throws IllegalArgumentException when a filter index is outside the layer
   */
  public float[] maximise(int[] filters, VisualSettings settings, LongConsumer progress) {
    int n = filters.length;
    int len = pre.inputLength();
    int c = pre.channels();
    int h = pre.height();
    int w = pre.width();
    float[] x = new float[n * len];
    Random[] rng = new Random[n];
    for (int b = 0; b < n; b++) {
      // One stream per filter: a filter's image does not depend on which other filters share its batch.
      rng[b] = new Random(settings.seed() * 1_000_003L + layer.name().hashCode() * 31L + filters[b]);
      for (int ch = 0; ch < c; ch++) {
        float gray = (float) ((127.5 * pre.scale() - pre.meanOf(ch)) / pre.stdOf(ch));
        float sd = (float) (START_NOISE_LEVELS * pre.scale() / pre.stdOf(ch));
        for (int i = 0; i < h * w; i++) {
          x[b * len + ch * h * w + i] = gray + sd * (float) rng[b].nextGaussian();
        }
      }
    }
    float[] shifted = new float[n * len];
    float[] g = new float[n * len];
    int[] dy = new int[n];
    int[] dx = new int[n];
    int j = settings.jitterPixels();
    for (int step = 0; step < settings.steps(); step++) {
      for (int b = 0; b < n; b++) {
        dy[b] = j == 0 ? 0 : rng[b].nextInt(2 * j + 1) - j;
        dx[b] = j == 0 ? 0 : rng[b].nextInt(2 * j + 1) - j;
        ImageOps.roll(x, b * len, shifted, b * len, c, h, w, dy[b], dx[b]);
      }
      objectiveAndGradient(shifted, filters, g);
      boolean blur = settings.blurSigma() > 0 && (step + 1) % settings.blurEvery() == 0;
      for (int b = 0; b < n; b++) {
        int off = b * len;
        ImageOps.roll(g, off, shifted, off, c, h, w, -dy[b], -dx[b]);
        double ss = 0;
        for (int i = 0; i < len; i++) {
          ss += (double) shifted[off + i] * shifted[off + i];
        }
        double rms = Math.sqrt(ss / len);
        float k = rms > 0 ? (float) (settings.learningRate() / rms) : 0f;
        float keep = (float) (1 - settings.l2Decay());
        for (int i = 0; i < len; i++) {
          x[off + i] = (x[off + i] + k * shifted[off + i]) * keep;
        }
        if (blur) {
          ImageOps.gaussianBlur(x, off, c, h, w, settings.blurSigma());
        }
        for (int ch = 0; ch < c; ch++) {
          for (int i = 0; i < h * w; i++) {
            int p = off + ch * h * w + i;
            x[p] = Math.min(hi[ch], Math.max(lo[ch], x[p]));
          }
        }
      }
      progress.accept(n);
    }
    return x;
  }

  /** @return the tapped layer this maximiser works on */
  public TappedLayer layer() {
    return layer;
  }

  /** @return the model */
  DjlActivationModel model() {
    return model;
  }
}
