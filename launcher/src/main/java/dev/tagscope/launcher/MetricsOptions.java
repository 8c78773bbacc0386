package dev.tagscope.launcher;

import io.javalin.Javalin;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import picocli.CommandLine.Option;

/**
 * A Prometheus registry for every service's meters, with Micrometer's JVM binders, optionally
 * scraped at {@code http://127.0.0.1:PORT/metrics}.
 */
public final class MetricsOptions {
  @Option(names = "--metrics-port", paramLabel = "PORT",
      description = "Serve Prometheus metrics on http://127.0.0.1:PORT/metrics (off by default).")
  Integer metricsPort;

  private PrometheusMeterRegistry registry;
  private Javalin server;
  private JvmGcMetrics gc;

  /**
   * @return the registry, created on first use
   * @throws IllegalArgumentException when the metrics port cannot be bound
   */
  synchronized MeterRegistry registry() {
    if (registry == null) {
      registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
      new JvmMemoryMetrics().bindTo(registry);
      new JvmThreadMetrics().bindTo(registry);
      new ProcessorMetrics().bindTo(registry);
      gc = new JvmGcMetrics();
      gc.bindTo(registry);
      if (metricsPort != null) {
        PrometheusMeterRegistry scraped = registry;
        server = Javalin.create(cfg -> cfg.showJavalinBanner = false)
            .get("/metrics", ctx -> ctx.contentType("text/plain; version=0.0.4; charset=utf-8").result(scraped.scrape()));
        try {
          server.start("127.0.0.1", metricsPort);
        } catch (RuntimeException e) {
          throw new IllegalArgumentException("--metrics-port: cannot listen on 127.0.0.1:" + metricsPort + " (" + e.getMessage() + ")", e);
        }
      }
    }
    return registry;
  }

  /** Stops the scrape endpoint and the GC binder. */
  synchronized void close() {
    if (server != null) {
      server.stop();
    }
    if (gc != null) {
      gc.close();
    }
    if (registry != null) {
      registry.close();
    }
  }
}
