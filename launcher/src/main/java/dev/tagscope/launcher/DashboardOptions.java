package dev.tagscope.launcher;

import dev.tagscope.dashboard.DashboardSettings;
import java.util.Map;
import picocli.CommandLine.Option;

/** Where the dashboard listens; loopback unless told otherwise. */
public final class DashboardOptions {
  @Option(names = "--host", defaultValue = DashboardSettings.DEFAULT_HOST,
      description = "Interface the dashboard listens on (default ${DEFAULT-VALUE}; 0.0.0.0 exposes it to the network).")
  String host;

  @Option(names = "--port", defaultValue = "8080", description = "Dashboard port (default ${DEFAULT-VALUE}; 0 picks a free one).")
  int port;

  /**
   * @param kafkaOverrides extra consumer properties from {@code --kafka}
   * @return the settings
   * @throws IllegalArgumentException when host or port are invalid (the message names the field)
   */
  DashboardSettings settings(Map<String, Object> kafkaOverrides) {
    DashboardSettings s = DashboardSettings.defaults().withHost(host).withPort(port);
    for (Map.Entry<String, Object> e : kafkaOverrides.entrySet()) {
      s = s.withConsumerProperty(e.getKey(), String.valueOf(e.getValue()));
    }
    return s;
  }
}
