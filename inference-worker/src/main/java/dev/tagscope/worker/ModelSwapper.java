package dev.tagscope.worker;

import dev.tagscope.worker.internal.FrameHandler;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.nio.file.Path;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The inference worker's current model and the hot swap to a new one (issue 9, model versions).
 * A new model file is loaded and checked on the caller's thread ({@link #swap}: the API, or the
 * {@link ModelWatcher}'s thread), outside any transaction, and queued; the poll thread takes it up
 * between two transactions ({@link #switchIfPending()}, called by the {@code TransactionalLoop}
 * after each poll, before a transaction begins), so every transaction is processed by exactly one
 * model version. The model it replaces is closed right after the switch when the worker owns it
 * (it loaded it, or it came from a swap), on the poll thread, which is the only one that runs it.
 *
 * <p>A swap is refused, the old model kept, and the refusal logged, counted and thrown, when the new
 * model's name differs (the consumer group and the {@code transactional.id} are the model's; start
 * a worker of that model instead), or its taps differ from the running ones by name or channel
 * count (the spectral stream's windows and the dashboard's rankings are per layer and filter; a
 * model of other layers is another deployment). The new model is loaded with the running model's
 * taps named explicitly, so a tap it lacks fails the load like an unknown {@code --layers} name.
 * A file whose version equals the running (or queued) one is not loaded at all.
 *
 * <p>Meters: counter {@value #SWAPS}{@code {outcome}} with outcomes {@code swapped} (the poll thread
 * switched), {@code unchanged} (same version), {@code refused} (the checks above),
 * {@code failed} (the file did not load, or changed while it was loaded), {@code superseded} (a
 * newer swap came before the poll thread took this one up); gauge {@value #VERSION}{@code {model,version}}
 * = 1 for the version running now (the previous version's gauge is removed at a switch).
 */
final class ModelSwapper {
  /** Counter of model swaps, tagged {@code outcome}. */
  static final String SWAPS = "tagscope.worker.model.swaps";
  /** Gauge, value 1, tagged with the model and the version running now. */
  static final String VERSION = "tagscope.worker.model.version";

  private static final Logger log = LoggerFactory.getLogger(ModelSwapper.class);

  /**
   * What the poll thread runs with.
   *
   * @param model the model
   * @param frames the handler made for it (its preprocessing, taps and version)
   * @param owned whether this worker closes the model when it is replaced or the worker closes
   */
  record Active(ActivationModel model, FrameHandler frames, boolean owned) {}

  /** A checked model waiting for the poll thread, and who waits for the switch. */
  private record Pending(Active next, CompletableFuture<String> switched) {}

  private final ModelConfig config;
  private final Function<ActivationModel, FrameHandler> handlers;
  private final MeterRegistry registry;
  private final AtomicReference<Pending> pending = new AtomicReference<>();
  private volatile Active active;
  private volatile boolean closed;
  private Gauge versionGauge;

  /**
   * @param initial the model the worker starts with
   * @param ownsInitial whether the worker closes it
   * @param config how a new model file is loaded (engine, threads, overrides; path and layers are replaced)
   * @param handlers makes the frame handler of a model
   * @param registry where the meters are registered
   */
  ModelSwapper(ActivationModel initial, boolean ownsInitial, ModelConfig config,
               Function<ActivationModel, FrameHandler> handlers, MeterRegistry registry) {
    this.config = Objects.requireNonNull(config, "config");
    this.handlers = Objects.requireNonNull(handlers, "handlers");
    this.registry = Objects.requireNonNull(registry, "registry");
    this.active = new Active(initial, handlers.apply(initial), ownsInitial);
    for (String outcome : new String[] {"swapped", "unchanged", "refused", "failed", "superseded"}) {
      counter(outcome);
    }
    versionGauge = gauge(initial);
  }

  private Counter counter(String outcome) {
    return Counter.builder(SWAPS).tag("outcome", outcome)
        .description("Model swaps of the inference worker, by outcome").register(registry);
  }

  private Gauge gauge(ActivationModel m) {
    return Gauge.builder(VERSION, () -> 1).tag("model", m.name()).tag("version", m.version())
        .description("The model version the worker runs now (value 1)").register(registry);
  }

  /**
   * The model and handler the poll thread runs now.
   *
   * @return the active model
   */
  Active active() {
    return active;
  }

  /**
   * Loads a model file, checks it against the running model, and queues it for the poll thread.
   *
   * @param file the new model file (its card beside it)
   * @param stillCurrent asked after the load; false (the file changed meanwhile) drops the loaded model
   * @return completed with the new version once the poll thread has switched to it; at once when the
   *     version is the running one; exceptionally when a newer swap supersedes it or the worker closes first
   * @throws IllegalArgumentException when the file does not load or the model is refused (see the class docs)
   * @throws IllegalStateException when the worker is closed
   */
  synchronized CompletableFuture<String> swap(Path file, BooleanSupplier stillCurrent) {
    if (closed) {
      throw new IllegalStateException("the worker is closed; a model swap needs a running worker");
    }
    Active now = active;
    Pending queued = pending.get();
    String current = queued != null ? queued.next.model().version() : now.model().version();
    String version;
    try {
      version = ModelVersion.of(file);
    } catch (IllegalArgumentException e) {
      counter("failed").increment();
      throw e;
    }
    if (version.equals(current)) {
      counter("unchanged").increment();
      log.info("model file {} has version {}, which the worker runs (or is about to); nothing to swap", file, version);
      return CompletableFuture.completedFuture(version);
    }
    String layers = now.model().tappedLayers().stream().map(TappedLayer::name).collect(Collectors.joining(","));
    ActivationModel next;
    try {
      next = ActivationModel.load(config.withModelPath(file).withLayers(layers));
    } catch (IllegalArgumentException | IllegalStateException e) {
      counter("failed").increment();
      log.warn("model swap to {} failed, keeping {} version {}: {}", file, now.model().name(), now.model().version(),
          e.getMessage());
      throw new IllegalArgumentException("model swap to " + file + " failed: " + e.getMessage(), e);
    }
    String refusal = refusal(now.model(), next);
    if (refusal == null && !unchanged(stillCurrent)) {
      next.close();
      counter("failed").increment();
      throw new IllegalArgumentException("model file " + file + " changed while it was loaded; it is loaded again once"
          + " it stays unchanged");
    }
    if (refusal != null) {
      next.close();
      counter("refused").increment();
      log.warn("model swap to {} refused, keeping {} version {}: {}", file, now.model().name(), now.model().version(),
          refusal);
      throw new IllegalArgumentException("model swap to " + file + " refused: " + refusal);
    }
    CompletableFuture<String> switched = new CompletableFuture<>();
    Pending old = pending.getAndSet(new Pending(new Active(next, handlers.apply(next), true), switched));
    if (old != null) {
      counter("superseded").increment();
      old.next.model().close();
      old.switched.completeExceptionally(new IllegalStateException("superseded by version " + next.version()));
    }
    log.info("model {} version {} from {} loaded; the worker switches to it before its next transaction",
        next.name(), next.version(), file);
    if (closed) {
      drainPending();
    }
    return switched;
  }

  /** Asks whether the file is still the one loaded; a check that fails (the file went away) counts as no. */
  private static boolean unchanged(BooleanSupplier stillCurrent) {
    try {
      return stillCurrent.getAsBoolean();
    } catch (RuntimeException e) {
      log.warn("cannot check the model file after loading it: {}", e.toString());
      return false;
    }
  }

  /** Why {@code next} cannot replace {@code now}, or null when it can. */
  static String refusal(ActivationModel now, ActivationModel next) {
    if (!next.name().equals(now.name())) {
      return "the new model is named '" + next.name() + "', the worker runs '" + now.name() + "'; a worker serves one"
          + " model (its consumer group and transactional.id are the model's): start a worker of '" + next.name()
          + "' instead, or give the new file the name '" + now.name() + "' (card field 'name')";
    }
    Map<String, Integer> had = channels(now);
    Map<String, Integer> has = channels(next);
    if (!had.equals(has)) {
      return "its taps " + has + " differ from the running model's " + had + " (layer name = filters); a hot swap keeps"
          + " every tapped layer and its filter count, so that windows and rankings stay comparable: deploy a model"
          + " with other layers as a new model name";
    }
    return null;
  }

  private static Map<String, Integer> channels(ActivationModel m) {
    Map<String, Integer> out = new TreeMap<>();
    for (TappedLayer t : m.tappedLayers()) {
      out.put(t.name(), t.channels());
    }
    return out;
  }

  /**
   * Switches to a queued model, if there is one, and closes the replaced one when owned. Call on the
   * poll thread only, outside any transaction.
   */
  void switchIfPending() {
    Pending p = pending.getAndSet(null);
    if (p == null) {
      return;
    }
    Active old = active;
    active = p.next;
    registry.remove(versionGauge);
    versionGauge = gauge(p.next.model());
    counter("swapped").increment();
    log.info("model {} switched from version {} to {} between two transactions", p.next.model().name(),
        old.model().version(), p.next.model().version());
    if (old.owned()) {
      old.model().close();
    }
    p.switched.complete(p.next.model().version());
  }

  /** Refuses further swaps and closes a queued model; the active one stays open (see {@link #closeActive()}). */
  void close() {
    closed = true;
    drainPending();
  }

  private void drainPending() {
    Pending p = pending.getAndSet(null);
    if (p != null) {
      p.next.model().close();
      p.switched.completeExceptionally(new IllegalStateException("the worker closed before it switched to version "
          + p.next.model().version()));
    }
  }

  /** Closes the active model when the worker owns it; call once the poll loop has stopped. */
  void closeActive() {
    Active a = active;
    if (a.owned()) {
      a.model().close();
    }
  }
}
