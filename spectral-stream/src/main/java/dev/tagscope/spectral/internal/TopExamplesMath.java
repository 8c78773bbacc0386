package dev.tagscope.spectral.internal;

import dev.tagscope.schemas.FilterExamples;
import dev.tagscope.schemas.TopExample;
import dev.tagscope.schemas.TopExamples;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * The top examples of a layer ({@code TopExamples}, topic {@code Topics.TOP_EXAMPLES}): one image's
 * contribution, and the merge that keeps the {@code k} best images per filter. No Kafka in it.
 *
 * <p>An example's activation is the mean over the image's frames of the filter's reduced value
 * (the "top activating images" of a unit, as in Zeiler &amp; Fergus, "Visualizing and
 * Understanding Convolutional Networks", ECCV 2014, section 4, here over a probe's modulated
 * frames instead of one still image). Order, as the schema says: highest activation first, ties
 * by probeId, then imageId (so the list does not depend on the order images arrived in).
 */
public final class TopExamplesMath {
  /** Highest activation first; ties by probeId, then imageId. */
  public static final Comparator<TopExample> ORDER = Comparator.comparingDouble(TopExample::getActivation).reversed()
      .thenComparing(TopExample::getProbeId).thenComparing(TopExample::getImageId);

  private TopExamplesMath() {}

  /**
   * One image's contribution: for every filter one example, the image itself.
   *
   * @param model the model's name
   * @param version the model version, empty when the workers did not say
   * @param layer the layer
   * @param k most examples per filter the result says it keeps
   * @param probeId the probe
   * @param imageId the image, as its frames name it
   * @param frames frames the means are over (at least 1)
   * @param means {@code [C]} per filter the mean of its reduced value over those frames, layer units
   * @return a TopExamples with {@code imagesSeen = 1} and one example per filter
   */
  public static TopExamples ofImage(String model, String version, String layer, int k, String probeId, String imageId,
                                    int frames, double[] means) {
    List<FilterExamples> filters = new ArrayList<>(means.length);
    for (int c = 0; c < means.length; c++) {
      TopExample e = TopExample.newBuilder().setProbeId(probeId).setImageId(imageId).setActivation(means[c]).setFrames(frames).build();
      filters.add(FilterExamples.newBuilder().setFilter(c).setExamples(new ArrayList<>(List.of(e))).build());
    }
    return TopExamples.newBuilder().setModel(model).setModelVersion(version).setLayer(layer).setK(k).setImagesSeen(1)
        .setFilters(filters).build();
  }

  /**
   * Folds {@code next} into {@code kept}: per filter the union of both lists, an image of
   * {@code next} replacing the same (probeId, imageId) of {@code kept} (an image counts once per
   * filter; a probe published again under its id replaces its earlier numbers), sorted by
   * {@link #ORDER}, at most {@code k}. An image once dropped from a list cannot come back when the
   * image that displaced it is replaced; that only happens to republished probes.
   *
   * @param kept what was kept so far, or null before the first image
   * @param next one image's contribution ({@link #ofImage}) or another merged set
   * @param k most examples per filter to keep
   * @return the merged set: model, version and layer of {@code next}, {@code k},
   *     {@code imagesSeen} the sum of both; when the filter counts differ (the layer's shape
   *     changed under one model version, which a model version cannot do) {@code next} alone, cut to {@code k}
   */
  public static TopExamples merge(TopExamples kept, TopExamples next, int k) {
    boolean same = kept != null && kept.getFilters().size() == next.getFilters().size();
    List<FilterExamples> out = new ArrayList<>(next.getFilters().size());
    for (int c = 0; c < next.getFilters().size(); c++) {
      List<TopExample> fresh = next.getFilters().get(c).getExamples();
      List<TopExample> all = new ArrayList<>(fresh);
      if (same) {
        for (TopExample e : kept.getFilters().get(c).getExamples()) {
          if (fresh.stream().noneMatch(x -> x.getProbeId().equals(e.getProbeId()) && x.getImageId().equals(e.getImageId()))) {
            all.add(e);
          }
        }
      }
      all.sort(ORDER);
      out.add(FilterExamples.newBuilder().setFilter(c).setExamples(new ArrayList<>(all.subList(0, Math.min(k, all.size())))).build());
    }
    return TopExamples.newBuilder().setModel(next.getModel()).setModelVersion(next.getModelVersion()).setLayer(next.getLayer())
        .setK(k).setImagesSeen(next.getImagesSeen() + (same ? kept.getImagesSeen() : 0)).setFilters(out).build();
  }
}
