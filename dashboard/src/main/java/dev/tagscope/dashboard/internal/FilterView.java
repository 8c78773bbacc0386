package dev.tagscope.dashboard.internal;

import dev.tagscope.dashboard.internal.ApiModel.ExampleView;
import dev.tagscope.dashboard.internal.ApiModel.FilterDetailView;
import dev.tagscope.dashboard.internal.ApiModel.FilterRow;
import dev.tagscope.dashboard.internal.ApiModel.SpatialMapView;
import dev.tagscope.dashboard.internal.ApiModel.VisualizationView;
import dev.tagscope.schemas.FilterExamples;
import dev.tagscope.schemas.ProbeImage;
import dev.tagscope.schemas.TopExample;
import dev.tagscope.schemas.TopExamples;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The filter panel's data: for one filter of one layer of one model version its running rank, its
 * top examples with labels and class names, its visualisation and its spatial map, gathered from
 * the {@link DashboardView}, the model's class names and the visualisations folder
 * ({@link Visualizations}). The dashboard loads no model: the class names come from the launcher.
 *
 * <p>Image URLs point back at the API ({@code /api/probe-image}, {@code /api/visualization}) with
 * every part URL-encoded; the pages never build paths from names.
 */
public final class FilterView {
  private final DashboardView view;
  private final List<String> classes;
  private final Visualizations visualizations;

  /**
   * @param view the topics' view
   * @param classes the model's class names by label; empty when unknown (labels are shown as numbers)
   * @param visualizationsFolder the folder {@code tagscope visualize} wrote, or null for none
   */
  public FilterView(DashboardView view, List<String> classes, Path visualizationsFolder) {
    this.view = java.util.Objects.requireNonNull(view, "view");
    this.classes = List.copyOf(classes);
    this.visualizations = new Visualizations(visualizationsFolder);
  }

  /** @return the class names given, by label */
  public List<String> classes() {
    return classes;
  }

  /**
   * Everything the panel shows about one filter.
   *
   * @param model model name
   * @param version model version, {@code ""} for records without one
   * @param layer layer name
   * @param filter filter (channel) index
   * @return the filter's detail
   * @throws DashboardView.NotFoundException when the layer has neither an importance nor top
   *     examples, or neither lists the filter
   */
  public FilterDetailView filter(String model, String version, String layer, int filter) {
    LayerId id = new LayerId(model, version, layer);
    Optional<TopExamples> top = view.examples().topExamples(id);
    Optional<FilterRow> row;
    try {
      row = view.filterRow(model, version, layer, filter);
    } catch (DashboardView.NotFoundException e) {
      if (top.isEmpty()) {
        throw e;
      }
      row = Optional.empty();
    }
    Optional<FilterExamples> fx = top.flatMap(t -> t.getFilters().stream().filter(f -> f.getFilter() == filter).findFirst());
    if (row.isEmpty() && fx.isEmpty()) {
      throw new DashboardView.NotFoundException("unknown filter " + filter + " in layer '" + layer + "' of model '" + model + "'"
          + (version.isEmpty() ? "" : " version '" + version + "'"));
    }
    List<ExampleView> examples = new ArrayList<>();
    for (TopExample e : fx.map(FilterExamples::getExamples).orElse(List.of())) {
      Optional<ProbeImage> img = view.examples().image(e.getProbeId(), e.getImageId());
      Integer label = img.map(ProbeImage::getLabel).orElse(null);
      examples.add(new ExampleView(e.getProbeId(), e.getImageId(), ApiModel.finite(e.getActivation()), e.getFrames(), label,
          className(label), img.isPresent() ? imageUrl(e.getProbeId(), e.getImageId()) : null,
          img.map(ProbeImage::getWidth).orElse(0), img.map(ProbeImage::getHeight).orElse(0)));
    }
    VisualizationView vis = visualizations.find(model, version, layer, filter).map(v -> new VisualizationView(
        "/api/visualization?model=" + enc(model) + "&version=" + enc(version) + "&layer=" + enc(layer) + "&filter=" + filter,
        v.method(), v.rank(), v.importance(), v.activation(), v.meanSampleActivation())).orElse(null);
    SpatialMapView map = view.spatialMap(model, version, layer, filter).map(m ->
        view.examples().image(m.probe(), m.imageId()).isPresent() ? m.withImageUrl(imageUrl(m.probe(), m.imageId())) : m)
        .orElse(null);
    return new FilterDetailView(model, version, layer, filter, row.map(FilterRow::rank).orElse(null),
        row.map(FilterRow::importance).orElse(null), row.map(FilterRow::score).orElse(null),
        top.map(TopExamples::getK).orElse(0), top.map(TopExamples::getImagesSeen).orElse(0L), List.copyOf(examples), vis, map,
        !classes.isEmpty());
  }

  /**
   * A probe image as PNG.
   *
   * @param probe probe id
   * @param image image id within the probe
   * @return the PNG bytes (grey or RGB, the image's own size)
   * @throws DashboardView.NotFoundException when the image is not held
   */
  public byte[] probeImagePng(String probe, String image) {
    return ExampleStore.png(view.examples().image(probe, image).orElseThrow(() -> new DashboardView.NotFoundException(
        "no image '" + image + "' of probe '" + probe + "' held (unknown, or dropped from the bounded cache)")));
  }

  /**
   * A filter's visualisation PNG, the file the folder's {@code index.json} names for it.
   *
   * @param model model name
   * @param version model version, {@code ""} for none
   * @param layer layer name
   * @param filter filter (channel) index
   * @return the file's bytes
   * @throws DashboardView.NotFoundException when the folder has none for the filter (or no folder is set)
   */
  public byte[] visualizationPng(String model, String version, String layer, int filter) {
    return visualizations.find(model, version, layer, filter).flatMap(visualizations::read)
        .orElseThrow(() -> new DashboardView.NotFoundException("no visualisation of filter " + filter + " of layer '" + layer
            + "' of model '" + model + "'" + (version.isEmpty() ? "" : " version '" + version + "'")
            + (visualizations.folder() == null ? "; no visualisations folder: run ./tagscope visualize, then start the dashboard"
                + " with --visualizations DIR" : " in " + visualizations.folder())));
  }

  private String className(Integer label) {
    return label != null && label >= 0 && label < classes.size() ? classes.get(label) : null;
  }

  private static String imageUrl(String probe, String image) {
    return "/api/probe-image?probe=" + enc(probe) + "&image=" + enc(image);
  }

  private static String enc(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8);
  }
}
