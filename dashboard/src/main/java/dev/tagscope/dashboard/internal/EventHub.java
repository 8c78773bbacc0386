package dev.tagscope.dashboard.internal;

import dev.tagscope.dashboard.internal.ApiModel.ChangeEvent;
import io.javalin.http.sse.SseClient;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Fans changes of the {@link DashboardView} out to the browsers connected to
 * {@code /api/events} (server-sent events).
 *
 * <p>Changes are gathered for one coalescing interval; within it, changes of one type to one
 * (model, version, layer, probe) collapse into one event carrying the newest {@code windowsSeen}. A
 * dedicated thread writes the events, so a slow browser never holds up the Kafka reader. Each
 * event's name is its type ({@code probe}, {@code importance}, {@code tag-response},
 * {@code validation}, {@code history}, {@code alert}, {@code top-examples}, {@code probe-image}) and its
 * data a small {@link ChangeEvent} JSON object. A comment line ({@code : keep-alive}) goes to
 * every client each keep-alive interval so proxies do not close idle connections and closed
 * browsers are noticed.
 */
public final class EventHub implements Consumer<ChangeEvent>, AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(EventHub.class);

  private final Set<SseClient> clients = ConcurrentHashMap.newKeySet();
  private final Map<String, ChangeEvent> pending = new LinkedHashMap<>();
  private final ScheduledExecutorService timer;

  /**
   * Starts the writer thread.
   *
   * @param coalescing interval over which changes are gathered
   * @param keepAlive interval between keep-alive comments
   */
  public EventHub(Duration coalescing, Duration keepAlive) {
    ScheduledThreadPoolExecutor t = new ScheduledThreadPoolExecutor(1, r -> {
      Thread th = new Thread(r, "tagscope-dashboard-events");
      th.setDaemon(true);
      return th;
    });
    t.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
    this.timer = t;
    long c = coalescing.toMillis();
    timer.scheduleWithFixedDelay(this::flush, c, c, TimeUnit.MILLISECONDS);
    long k = keepAlive.toMillis();
    timer.scheduleWithFixedDelay(this::keepAlive, k, k, TimeUnit.MILLISECONDS);
  }

  /**
   * Registers a browser; called from Javalin's SSE handler. The connection stays open until
   * the browser leaves or {@link #close()}.
   *
   * @param client the new client
   */
  public void register(SseClient client) {
    client.keepAlive();
    client.onClose(() -> clients.remove(client));
    client.sendComment("connected");
    clients.add(client);
  }

  /** @return browsers connected now */
  public int clientCount() {
    return clients.size();
  }

  /** Queues a change; called on the Kafka reader's thread, never blocks on the network. */
  @Override
  public void accept(ChangeEvent e) {
    String key = e.type() + '\u0000' + e.model() + '\u0000' + e.version() + '\u0000' + e.layer() + '\u0000' + e.probe();
    synchronized (pending) {
      pending.remove(key); // re-insert so the newest change goes last
      pending.put(key, e);
    }
  }

  private void flush() {
    List<ChangeEvent> batch;
    synchronized (pending) {
      if (pending.isEmpty()) {
        return;
      }
      batch = new ArrayList<>(pending.values());
      pending.clear();
    }
    if (clients.isEmpty()) {
      return;
    }
    for (ChangeEvent e : batch) {
      String data = Json.write(e);
      for (SseClient c : clients) {
        send(c, () -> c.sendEvent(e.type(), data));
      }
    }
  }

  private void keepAlive() {
    for (SseClient c : clients) {
      send(c, () -> c.sendComment("keep-alive"));
    }
  }

  private void send(SseClient c, Runnable write) {
    try {
      if (c.terminated()) {
        clients.remove(c);
        return;
      }
      write.run();
      if (c.terminated()) {
        clients.remove(c);
      }
    } catch (RuntimeException ex) {
      LOG.debug("dropping SSE client after a failed write: {}", ex.toString());
      clients.remove(c);
      closeQuietly(c);
    }
  }

  private static void closeQuietly(SseClient c) {
    try {
      c.close();
    } catch (RuntimeException ignored) {
      // the connection is gone already
    }
  }

  /** Stops the writer thread and closes every client connection. */
  @Override
  public void close() {
    timer.shutdownNow();
    try {
      timer.awaitTermination(2, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    for (SseClient c : clients) {
      closeQuietly(c);
    }
    clients.clear();
  }
}
