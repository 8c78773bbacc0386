package dev.tagscope.launcher;

import dev.tagscope.dashboard.DashboardSettings;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Option;

/** Where the dashboard listens; loopback unless told otherwise. */
public final class DashboardOptions {
  @Option(names = "--host", defaultValue = DashboardSettings.DEFAULT_HOST,
      description = "Interface the dashboard listens on (default ${DEFAULT-VALUE}; 0.0.0.0 exposes it to the network).")
  String host;

  @Option(names = "--port", defaultValue = "8080", description = "Dashboard port (default ${DEFAULT-VALUE}; 0 picks a free one).")
  int port;

  @Option(names = "--visualizations", paramLabel = "DIR",
      description = "Folder written by tagscope visualize, whose PNGs the filter panel shows (default: "
          + DashboardSettings.DEFAULT_VISUALIZATIONS + " when it exists).")
  Path visualizations;

  /**
   * @param kafkaOverrides extra consumer properties from {@code --kafka}
   * @param classes the model's class names by label, shown beside top examples (empty: label numbers)
   * @return the settings
   * @throws IllegalArgumentException when host, port or {@code --visualizations} are invalid (the
   *     message names the field and the fix)
   */
  DashboardSettings settings(Map<String, Object> kafkaOverrides, List<String> classes) {
    DashboardSettings s;
    try {
      s = DashboardSettings.defaults().withHost(host).withPort(port).withClasses(classes).withVisualizations(visualizations);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(e.getMessage().startsWith("visualizations") ? "--" + e.getMessage() : e.getMessage(), e);
    }
    for (Map.Entry<String, Object> e : kafkaOverrides.entrySet()) {
      s = s.withConsumerProperty(e.getKey(), String.valueOf(e.getValue()));
    }
    return s;
  }
}
