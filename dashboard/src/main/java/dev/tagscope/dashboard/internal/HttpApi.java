package dev.tagscope.dashboard.internal;

import dev.tagscope.dashboard.internal.ApiModel.ErrorBody;
import io.javalin.Javalin;
import io.javalin.http.Context;
import io.javalin.http.staticfiles.Location;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.BooleanSupplier;

/**
 * The dashboard's HTTP surface on Javalin 6: the JSON API, the server-sent event stream and
 * the static page.
 *
 * <ul>
 *   <li>{@code GET /api/probes} - probes seen;
 *   <li>{@code GET /api/layers} - model, version, layer, windowsSeen, filters, updatedAt, history
 *       buckets held and whether an alert is open, per layer of each model version;
 *   <li>{@code GET /api/importance?model=&version=&layer=} - ranked filters of one model version
 *       ({@code version} left out or empty: records without a version);
 *   <li>{@code GET /api/history?model=&version=&layer=[&top=8]} - the layer's buckets of
 *       {@code tagscope.importance-history}, oldest first, with rho and top-k overlap against the
 *       reference, the alert threshold, and the importance in each bucket of the latest bucket's
 *       {@code top} best filters (1..64); 404 before the first bucket;
 *   <li>{@code GET /api/alerts[?model=&layer=&limit=100]} - alerts of {@code tagscope.alerts},
 *       newest first (by bucket start, stimulus time), at most {@code limit} (1..1000);
 *   <li>{@code GET /api/compare?model=&layer=&a=&b=[&k=8]} - two versions side by side: Spearman
 *       rho and top-k overlap of their latest running importances, and both rankings;
 *   <li>{@code GET /api/spectrum?probe=&layer=&filter=} - latest window of one filter;
 *   <li>{@code GET /api/validation?model=&layer=} - how far the layer's ranking predicts
 *       ablation damage: per criterion Spearman rho with its 95 % interval, pruning curves
 *       ({@code layer=*}: the whole network); 404 until {@code tagscope validate} has written one;
 *   <li>{@code GET /api/validation?model=} - every validation of the model, sorted by layer
 *       ({@code []} when none);
 *   <li>{@code GET /api/filter?model=&version=&layer=&filter=} - the filter panel
 *       ({@link FilterView}): the filter's running rank, importance and score, its top examples
 *       (probe, image id, activation, label, class name, image URL), its visualisation (URL and the
 *       objective it reached) when the visualisations folder has one, and its spatial map
 *       ({@code rows}, {@code cols}, {@code cells}, {@code regions}, {@code imPairs}, {@code probe},
 *       image URL) when a probe of that model version whose regions lie on a grid has a tag response;
 *       404 when the layer has neither importance nor top examples, or neither lists the filter;
 *   <li>{@code GET /api/probe-image?probe=&image=} - a probe image as PNG (ImageIO; grey or RGB,
 *       its own size); 404 when it is not held;
 *   <li>{@code GET /api/visualization?model=&version=&layer=&filter=} - the filter's
 *       visualisation PNG, the file the folder's {@code index.json} names (a path never comes
 *       from the request); 404 when there is none;
 *   <li>{@code GET /api/classes} - {@code {"classes":[...]}}, the model's class names by label
 *       ({@code []} when the dashboard was given none);
 *   <li>{@code GET /api/events} - server-sent events, see {@link EventHub};
 *   <li>{@code GET /healthz} - {@code {"status":"ok","caughtUp":..,"sseClients":..}};
 *   <li>{@code /} - the page ({@code src/main/resources/public}), Chart.js from its webjar under
 *       {@code /webjars/chart.js/4.4.7/dist/chart.umd.js}.
 * </ul>
 *
 * <p>Errors are JSON ({@link ErrorBody}): 400 for a missing or malformed parameter, 404 for an
 * unknown model, layer, probe or filter, or a layer with no validation (and for unknown
 * {@code /api} paths). Every response
 * carries a Content-Security-Policy that allows scripts, styles and connections from the
 * dashboard's own origin only ({@code script-src 'self'}, no inline script), plus
 * {@code X-Content-Type-Options: nosniff}.
 */
public final class HttpApi {
  /** The Content-Security-Policy sent with every response. */
  public static final String CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
      + "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; "
      + "frame-ancestors 'none'";

  private static final String JSON = "application/json; charset=utf-8";
  /** Request attribute set once an error body is written, so the 404 fallback leaves it alone. */
  private static final String ERROR_WRITTEN = "tagscope.errorWritten";

  private HttpApi() {}

  /** A request the API refuses with 400. */
  static final class BadRequestException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    BadRequestException(String message) {
      super(message);
    }
  }

  /**
   * Builds (does not start) the Javalin application.
   *
   * @param view the in-memory view to serve
   * @param hub the server-sent event hub
   * @param caughtUp whether the reader has caught up with the topics (for {@code /healthz})
   * @return the application; start it with {@code app.start(host, port)}; it answers only
   *     requests addressed to a loopback name (see {@link #create(DashboardView, EventHub, BooleanSupplier, boolean)})
   */
  public static Javalin create(DashboardView view, EventHub hub, BooleanSupplier caughtUp) {
    return create(view, hub, caughtUp, true);
  }

  /**
   * Builds (does not start) the Javalin application.
   *
   * <p>With {@code loopbackHostsOnly}, a request whose {@code Host} header names anything but
   * {@code localhost}, {@code 127.x.x.x} or {@code [::1]} is refused with 403. A server bound to
   * 127.0.0.1 is otherwise still readable by any web page through DNS rebinding: the page's own
   * name is re-pointed at 127.0.0.1, and the browser then sends that name as the Host.
   *
   * @param view the in-memory view to serve
   * @param hub the server-sent event hub
   * @param caughtUp whether the reader has caught up with the topics (for {@code /healthz})
   * @param loopbackHostsOnly refuse requests addressed to non-loopback host names (use when bound to loopback)
   * @return the application; start it with {@code app.start(host, port)}
   */
  public static Javalin create(DashboardView view, EventHub hub, BooleanSupplier caughtUp, boolean loopbackHostsOnly) {
    return create(view, hub, caughtUp, loopbackHostsOnly, new FilterView(view, java.util.List.of(), null));
  }

  /**
   * Builds (does not start) the Javalin application, with the filter panel's class names and
   * visualisations.
   *
   * @param view the in-memory view to serve
   * @param hub the server-sent event hub
   * @param caughtUp whether the reader has caught up with the topics (for {@code /healthz})
   * @param loopbackHostsOnly refuse requests addressed to non-loopback host names (use when bound to loopback)
   * @param filters the filter panel over {@code view}, with class names and the visualisations folder
   * @return the application; start it with {@code app.start(host, port)}
   */
  public static Javalin create(DashboardView view, EventHub hub, BooleanSupplier caughtUp, boolean loopbackHostsOnly,
      FilterView filters) {
    Javalin app = Javalin.create(config -> {
      config.showJavalinBanner = false;
      config.startupWatcherEnabled = false;
      config.staticFiles.add(s -> {
        s.hostedPath = "/";
        s.directory = "/public";
        s.location = Location.CLASSPATH;
        s.headers = Map.of("Cache-Control", "no-cache", "Content-Security-Policy", CSP, "X-Content-Type-Options", "nosniff");
      });
      config.staticFiles.enableWebjars();
    });

    app.before(ctx -> {
      if (loopbackHostsOnly && !isLoopbackHost(ctx.host())) {
        throw new io.javalin.http.ForbiddenResponse("this dashboard answers only requests addressed to localhost or 127.0.0.1"
            + " (it is bound to loopback); start it with --host to serve other names");
      }
      ctx.header("Content-Security-Policy", CSP);
      ctx.header("X-Content-Type-Options", "nosniff");
      ctx.header("Referrer-Policy", "no-referrer");
      ctx.header("X-Frame-Options", "DENY");
    });

    app.get("/api/probes", ctx -> json(ctx, view.probes()));
    app.get("/api/layers", ctx -> json(ctx, view.layers()));
    app.get("/api/importance", ctx -> json(ctx,
        view.importance(required(ctx, "model"), version(ctx, "version"), required(ctx, "layer"))));
    app.get("/api/history", ctx -> json(ctx, view.history(required(ctx, "model"), version(ctx, "version"),
        required(ctx, "layer"), count(ctx, "top", DashboardView.DEFAULT_HISTORY_TOP, 64))));
    app.get("/api/alerts", ctx -> json(ctx, view.alerts(optional(ctx, "model"), optional(ctx, "layer"),
        count(ctx, "limit", 100, DashboardView.MAX_ALERTS))));
    app.get("/api/compare", ctx -> json(ctx, view.compare(required(ctx, "model"), required(ctx, "layer"),
        version(ctx, "a"), version(ctx, "b"), count(ctx, "k", DashboardView.DEFAULT_COMPARE_TOP_K, 10_000))));
    app.get("/api/spectrum", ctx -> json(ctx,
        view.spectrum(required(ctx, "probe"), required(ctx, "layer"), filterIndex(required(ctx, "filter")))));
    app.get("/api/validation", ctx -> {
      String model = required(ctx, "model");
      String layer = ctx.queryParam("layer");
      json(ctx, layer == null ? view.validations(model) : view.validation(model, nonEmpty(layer, "layer")));
    });
    app.get("/api/filter", ctx -> json(ctx, filters.filter(required(ctx, "model"), version(ctx, "version"),
        required(ctx, "layer"), filterIndex(required(ctx, "filter")))));
    app.get("/api/probe-image", ctx -> png(ctx, filters.probeImagePng(required(ctx, "probe"), required(ctx, "image"))));
    app.get("/api/visualization", ctx -> png(ctx, filters.visualizationPng(required(ctx, "model"), version(ctx, "version"),
        required(ctx, "layer"), filterIndex(required(ctx, "filter")))));
    app.get("/api/classes", ctx -> json(ctx, new ApiModel.ClassesView(filters.classes())));
    app.get("/healthz", ctx -> {
      Map<String, Object> body = new LinkedHashMap<>();
      body.put("status", "ok");
      body.put("caughtUp", caughtUp.getAsBoolean());
      body.put("sseClients", hub.clientCount());
      json(ctx, body);
    });
    app.sse("/api/events", hub::register);

    app.exception(BadRequestException.class, (e, ctx) -> error(ctx, 400, e.getMessage()));
    app.exception(DashboardView.NotFoundException.class, (e, ctx) -> error(ctx, 404, e.getMessage()));
    app.error(404, ctx -> {
      if (ctx.path().startsWith("/api/") && ctx.attribute(ERROR_WRITTEN) == null) {
        error(ctx, 404, "no such endpoint: " + ctx.method() + " " + ctx.path());
      }
    });
    return app;
  }

  /**
   * @param hostHeader the request's {@code Host} header, e.g. {@code 127.0.0.1:8080} or {@code [::1]:8080}; null when absent
   * @return whether it names a loopback address or {@code localhost} (an absent header is allowed: no browser omits it)
   */
  static boolean isLoopbackHost(String hostHeader) {
    if (hostHeader == null || hostHeader.isEmpty()) {
      return true;
    }
    String h = hostHeader.toLowerCase(java.util.Locale.ROOT);
    if (h.startsWith("[")) {
      int end = h.indexOf(']');
      return end > 0 && h.substring(1, end).equals("::1");
    }
    int colon = h.indexOf(':');
    String name = colon >= 0 ? h.substring(0, colon) : h;
    return name.equals("localhost") || name.matches("127\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}");
  }

  private static void json(Context ctx, Object body) {
    ctx.header("Cache-Control", "no-store");
    ctx.contentType(JSON).result(Json.write(body));
  }

  private static void png(Context ctx, byte[] bytes) {
    // A probe id may be reused with other images, and index.json rewritten: the browser asks again.
    ctx.header("Cache-Control", "no-cache");
    ctx.contentType("image/png").result(bytes);
  }

  private static void error(Context ctx, int status, String message) {
    ctx.attribute(ERROR_WRITTEN, Boolean.TRUE);
    ctx.status(status);
    json(ctx, new ErrorBody(status, message));
  }

  private static String required(Context ctx, String name) {
    String v = ctx.queryParam(name);
    if (v == null || v.isEmpty()) {
      throw new BadRequestException("query parameter '" + name + "' is required");
    }
    return v;
  }

  /** A model version: {@code ""} (records without a version) when left out or empty. */
  private static String version(Context ctx, String name) {
    String v = ctx.queryParam(name);
    return v == null ? "" : v;
  }

  /** @return the parameter, or null when left out (empty is refused: leave it out instead) */
  private static String optional(Context ctx, String name) {
    String v = ctx.queryParam(name);
    return v == null ? null : nonEmpty(v, name);
  }

  /** @return the integer parameter in 1..max, or {@code fallback} when left out */
  private static int count(Context ctx, String name, int fallback, int max) {
    String raw = ctx.queryParam(name);
    if (raw == null) {
      return fallback;
    }
    try {
      int n = Integer.parseInt(raw.trim());
      if (n < 1 || n > max) {
        throw new BadRequestException("query parameter '" + name + "' must be 1.." + max + "; got " + n);
      }
      return n;
    } catch (NumberFormatException e) {
      throw new BadRequestException("query parameter '" + name + "' must be an integer 1.." + max + "; got '" + raw + "'");
    }
  }

  private static String nonEmpty(String value, String name) {
    if (value.isEmpty()) {
      throw new BadRequestException("query parameter '" + name + "' must not be empty; leave it out for all");
    }
    return value;
  }

  private static int filterIndex(String raw) {
    try {
      int f = Integer.parseInt(raw.trim());
      if (f < 0) {
        throw new BadRequestException("query parameter 'filter' must be a filter (channel) index >= 0; got " + f);
      }
      return f;
    } catch (NumberFormatException e) {
      throw new BadRequestException("query parameter 'filter' must be an integer filter (channel) index; got '"
          + raw + "'");
    }
  }
}
