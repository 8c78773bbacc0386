package dev.tagscope.launcher;

import dev.tagscope.producer.LiveTraffic;
import dev.tagscope.schemas.FilterImportance;
import dev.tagscope.schemas.LayerImportance;
import dev.tagscope.tagging.spectral.ImportanceMath;
import dev.tagscope.tagging.spectral.LayerAccumulator;
import dev.tagscope.worker.InferenceWorker;
import dev.tagscope.worker.ModelSurgery;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * {@code tagscope demo --damage LAYER:N}: the damaged deployment of issue 9 on the demo's live
 * traffic. Once the first half of the requests is analysed, the N filters of the layer that rank
 * highest in the probe so far are zeroed in a copy of the model ({@link ModelSurgery}, with card
 * version {@code damaged-<layer>-top<N>}) and the worker swaps to it between two transactions.
 *
 * @param layer the layer to damage, one of the tapped layers
 * @param filters N, the filters to zero
 * @param model the ONNX model file the copy is made of
 */
record Damage(String layer, int filters, Path model) {
  /**
   * Checks {@code --damage} before anything starts.
   *
   * @param value {@code LAYER:N}
   * @param traffic the demo's live traffic, null without {@code --live-traffic}
   * @param model the worker's model file
   * @param layers the tapped layers
   * @param images images requested in all
   * @return the damage to do
   * @throws IllegalArgumentException naming {@code --damage} and the fix
   */
  static Damage parse(String value, LiveTraffic traffic, Path model, List<String> layers, int images) {
    if (traffic == null) {
      throw new IllegalArgumentException("--damage swaps the worker to a damaged model halfway through live traffic: give"
          + " --live-traffic as well");
    }
    if (traffic.sampling().everyK() != 1) {
      throw new IllegalArgumentException("--damage needs every request probed (--sample-every 1), so that the halves are known");
    }
    if (!model.getFileName().toString().endsWith(".onnx")) {
      throw new IllegalArgumentException("--damage rewrites an ONNX graph: give an .onnx --model, got " + model);
    }
    int colon = value.lastIndexOf(':');
    int n;
    try {
      n = colon < 1 ? -1 : Integer.parseInt(value.substring(colon + 1).trim());
    } catch (NumberFormatException e) {
      n = -1;
    }
    if (n < 1) {
      throw new IllegalArgumentException("--damage: expected LAYER:N with N >= 1 filters to zero, e.g. conv1:4; got '" + value + "'");
    }
    String layer = value.substring(0, colon).trim();
    if (!layers.contains(layer)) {
      throw new IllegalArgumentException("--damage: layer '" + layer + "' is not tapped; tapped: " + String.join(", ", layers));
    }
    if (images < 4) {
      throw new IllegalArgumentException("--damage needs at least 4 images (--count), half before and half after the swap; got "
          + images);
    }
    return new Damage(layer, n, model);
  }

  /**
   * The most important filters of a layer.
   *
   * @param importance the layer's importance
   * @param n how many
   * @return their indices, rank 1 first
   */
  static int[] topFilters(LayerImportance importance, int n) {
    return importance.getFilters().stream().sorted(Comparator.comparingInt(FilterImportance::getRank)).limit(n)
        .mapToInt(FilterImportance::getFilter).toArray();
  }

  /** @return the version the damaged copy reports */
  String version() {
    return "damaged-" + layer + "-top" + filters;
  }

  /**
   * Zeroes the layer's top filters (by the probe's importance so far) in a copy of the model and
   * swaps the worker to it; returns once the worker runs the copy.
   *
   * @param worker the running worker
   * @param collector the probe's tag responses so far
   * @param modelName the model's name
   * @param probeId the probe
   * @throws IllegalStateException when the layer has no windows yet or the swap fails or takes over 2 minutes
   */
  void swap(InferenceWorker worker, TagResponseCollector collector, String modelName, String probeId) {
    LayerAccumulator acc = collector.layers().get(layer);
    if (acc == null) {
      throw new IllegalStateException("--damage: no window of layer '" + layer + "' arrived before the swap");
    }
    int[] top = topFilters(ImportanceMath.of(modelName, layer, probeId, 0, acc), filters);
    try {
      Path dir = Files.createTempDirectory("tagscope-damaged-");
      String base = model.getFileName().toString().replaceFirst("\\.onnx$", "");
      Path copy = dir.resolve(base + "-damaged.onnx");
      ModelSurgery.zeroFilters(model, layer, top, copy, version());
      copy.toFile().deleteOnExit();
      copy.resolveSibling(base + "-damaged.json").toFile().deleteOnExit();
      dir.toFile().deleteOnExit();
      String running = worker.swapModel(copy).get(2, TimeUnit.MINUTES);
      System.out.printf("damaged deployment: %s filters %s zeroed, worker now runs version %s%n", layer, Arrays.toString(top),
          running);
    } catch (IOException e) {
      throw new UncheckedIOException("--damage: cannot write the damaged copy", e);
    } catch (ExecutionException | TimeoutException e) {
      throw new IllegalStateException("--damage: the worker did not swap to the damaged copy: " + e, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("--damage: interrupted while the worker swapped", e);
    }
  }
}
