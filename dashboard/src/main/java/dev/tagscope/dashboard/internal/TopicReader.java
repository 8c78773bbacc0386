package dev.tagscope.dashboard.internal;

import dev.tagscope.schemas.ImportanceBucket;
import dev.tagscope.schemas.LayerImportance;
import dev.tagscope.schemas.LayerValidation;
import dev.tagscope.schemas.ProbeSpec;
import dev.tagscope.schemas.RankAlert;
import dev.tagscope.schemas.TagResponse;
import dev.tagscope.schemas.Topics;
import dev.tagscope.service.PartitionCatchUp.StartPosition;
import dev.tagscope.service.PartitionCatchUp;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.CloseOptions;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.InterruptException;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads {@code tagscope.probes}, {@code tagscope.importance}, {@code tagscope.tag-responses},
 * {@code tagscope.validation}, {@code tagscope.importance-history}, {@code tagscope.alerts},
 * {@code tagscope.top-examples} and {@code tagscope.probe-images}
 * into a {@link DashboardView} on one thread, with a plain consumer assigned to every partition:
 * no consumer group, no committed offsets (a {@link PartitionCatchUp}).
 *
 * <p>Start positions: the compacted probes, importance, validation, top-examples and probe-images
 * topics from the beginning
 * (their latest value per key is the state); the history and alerts topics from the beginning too
 * (their retention, 30 and 90 days, bounds what is replayed, and the view keeps only the latest
 * buckets per layer and the latest alerts), so the page's history survives a dashboard restart;
 * tag-responses from {@code max(beginning, end - replay)} per partition. Partitions that appear later (a topic created after the dashboard started, or
 * partitions added) are picked up on the next look-up (every second while a topic is missing,
 * every 10 s after; added partitions once the consumer's metadata is refreshed, which the
 * dashboard's consumer does every 10 s) with the same rule.
 *
 * <p>Values are decoded here, record by record, with the topic's serde from {@link Topics}, so
 * one undecodable record costs only itself: it is skipped, counted in
 * {@code tagscope.dashboard.skipped} (tag {@code topic}) and logged with topic, partition and
 * offset. The dashboard does <em>not</em> write dead letters: it has no committed position and
 * re-reads the topics from the start at every start, so it would send the same dead letter
 * again each time; and the stage that wrote the record (the spectral stream) owns the record
 * and its dead-letter path.
 */
public final class TopicReader implements Runnable {
  /**
   * Counter of records applied to the view, tagged {@code type} (importance, tag-response, probe,
   * validation, history, alert, top-examples, probe-image).
   */
  public static final String UPDATES_METER = "tagscope.dashboard.updates";
  /** Counter of records skipped as unreadable, tagged {@code topic}. */
  public static final String SKIPPED_METER = "tagscope.dashboard.skipped";

  private static final Logger LOG = LoggerFactory.getLogger(TopicReader.class);
  private static final Duration POLL = Duration.ofMillis(200);
  /** The topics read, in the order their partitions are looked up. */
  private static final List<String> TOPICS = List.of(
      Topics.PROBES.name(), Topics.IMPORTANCE.name(), Topics.TAG_RESPONSES.name(), Topics.VALIDATION.name(),
      Topics.IMPORTANCE_HISTORY.name(), Topics.ALERTS.name(), Topics.TOP_EXAMPLES.name(), Topics.PROBE_IMAGES.name());
  private final Consumer<byte[], byte[]> consumer;
  private final PartitionCatchUp<byte[], byte[]> catchUp;
  private final DashboardView view;
  private final Map<String, Counter> skipped = new HashMap<>();
  private final Map<String, Counter> updates = new HashMap<>();
  private final CountDownLatch caughtUp = new CountDownLatch(1);
  private volatile boolean running = true;

  /**
   * @param consumer a consumer with byte-array deserializers and no group; this reader owns
   *     and closes it
   * @param view where records go
   * @param tagResponseReplay tag-response records replayed per partition at start (>= 0)
   * @param registry where the counters go
   */
  public TopicReader(Consumer<byte[], byte[]> consumer, DashboardView view, int tagResponseReplay, MeterRegistry registry) {
    this.consumer = consumer;
    this.view = view;
    Map<String, StartPosition> starts = new LinkedHashMap<>();
    for (String topic : TOPICS) {
      starts.put(topic, topic.equals(Topics.TAG_RESPONSES.name()) ? StartPosition.lastRecords(tagResponseReplay)
          : StartPosition.beginning());
    }
    this.catchUp = new PartitionCatchUp<>("dashboard", consumer, starts, Duration.ofSeconds(5));
    for (String topic : TOPICS) {
      skipped.put(topic, skippedCounter(registry, topic));
    }
    for (String type : List.of("probe", "importance", "tag-response", "validation", "history", "alert", "top-examples",
        "probe-image")) {
      updates.put(type, Counter.builder(UPDATES_METER)
          .description("Records taken into the dashboard's in-memory view")
          .tag("type", type).register(registry));
    }
  }

  private static Counter skippedCounter(MeterRegistry registry, String topic) {
    return Counter.builder(SKIPPED_METER)
        .description("Records the dashboard could not decode or show, skipped (the upstream stage owns the DLQ)")
        .tag("topic", topic).register(registry);
  }

  /** Polls until {@link #stop()}, then closes the consumer. */
  @Override
  public void run() {
    try {
      while (running) {
        try {
          // Looks up new partitions when due; waits instead of polling while no topic exists yet.
          ConsumerRecords<byte[], byte[]> records = catchUp.poll(POLL);
          for (ConsumerRecord<byte[], byte[]> r : records) {
            handle(r);
          }
          checkCaughtUp();
        } catch (WakeupException | InterruptException e) {
          if (running) {
            LOG.warn("dashboard reader woken up while running; continuing");
          }
        } catch (KafkaException e) {
          if (!running) {
            break;
          }
          LOG.warn("dashboard reader: Kafka error, retrying in 1 s: {}", e.toString());
          sleepQuietly(1000);
        } catch (RuntimeException e) {
          if (!running) {
            break;
          }
          // Never let the reader thread die silently: the page would freeze with no sign why.
          LOG.error("dashboard reader: unexpected error, retrying in 1 s", e);
          sleepQuietly(1000);
        }
      }
    } finally {
      try {
        consumer.close(CloseOptions.timeout(Duration.ofSeconds(2)));
      } catch (RuntimeException e) {
        LOG.debug("closing the dashboard consumer: {}", e.toString());
      }
    }
  }

  /** Asks the loop to end; returns at once. */
  public void stop() {
    running = false;
    consumer.wakeup();
  }

  /** @return true once every partition assigned at start was read up to its end offset of that moment */
  public boolean caughtUp() {
    return caughtUp.getCount() == 0;
  }

  /**
   * @param timeout how long to wait
   * @return {@link #caughtUp()} after waiting at most {@code timeout}
   * @throws InterruptedException when interrupted
   */
  public boolean awaitCaughtUp(Duration timeout) throws InterruptedException {
    return caughtUp.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
  }

  private void checkCaughtUp() {
    if (caughtUp.getCount() != 0 && catchUp.caughtUpWithStart()) {
      LOG.info("dashboard caught up with its topics");
      caughtUp.countDown();
    }
  }

  /**
   * Decodes one record and hands it to the view; never throws for bad data.
   *
   * @param r the raw record
   */
  void handle(ConsumerRecord<byte[], byte[]> r) {
    String topic = r.topic();
    try {
      if (topic.equals(Topics.IMPORTANCE.name())) {
        String key = Topics.IMPORTANCE.keySerde().deserializer().deserialize(topic, r.key());
        LayerImportance v = Topics.IMPORTANCE.valueSerde().deserializer().deserialize(topic, r.value());
        view.acceptImportance(key, v);
        updates.get("importance").increment();
      } else if (topic.equals(Topics.TAG_RESPONSES.name())) {
        TagResponse v = Topics.TAG_RESPONSES.valueSerde().deserializer().deserialize(topic, r.value());
        view.acceptTagResponse(v);
        updates.get("tag-response").increment();
      } else if (topic.equals(Topics.PROBES.name())) {
        String key = Topics.PROBES.keySerde().deserializer().deserialize(topic, r.key());
        ProbeSpec v = Topics.PROBES.valueSerde().deserializer().deserialize(topic, r.value());
        view.acceptProbe(key, v);
        updates.get("probe").increment();
      } else if (topic.equals(Topics.VALIDATION.name())) {
        String key = Topics.VALIDATION.keySerde().deserializer().deserialize(topic, r.key());
        LayerValidation v = Topics.VALIDATION.valueSerde().deserializer().deserialize(topic, r.value());
        view.acceptValidation(key, v);
        updates.get("validation").increment();
      } else if (topic.equals(Topics.IMPORTANCE_HISTORY.name())) {
        ImportanceBucket v = Topics.IMPORTANCE_HISTORY.valueSerde().deserializer().deserialize(topic, r.value());
        view.acceptBucket(v);
        updates.get("history").increment();
      } else if (topic.equals(Topics.ALERTS.name())) {
        RankAlert v = Topics.ALERTS.valueSerde().deserializer().deserialize(topic, r.value());
        view.acceptAlert(v);
        updates.get("alert").increment();
      } else if (topic.equals(Topics.TOP_EXAMPLES.name())) {
        String key = Topics.TOP_EXAMPLES.keySerde().deserializer().deserialize(topic, r.key());
        view.acceptTopExamples(key, Topics.TOP_EXAMPLES.valueSerde().deserializer().deserialize(topic, r.value()));
        updates.get("top-examples").increment();
      } else if (topic.equals(Topics.PROBE_IMAGES.name())) {
        String key = Topics.PROBE_IMAGES.keySerde().deserializer().deserialize(topic, r.key());
        view.acceptProbeImage(key, Topics.PROBE_IMAGES.valueSerde().deserializer().deserialize(topic, r.value()));
        updates.get("probe-image").increment();
      }
    } catch (RuntimeException e) {
      Counter c = skipped.get(topic);
      if (c != null) {
        c.increment();
      }
      LOG.warn("dashboard skipped {}-{}@{}: {}", topic, r.partition(), r.offset(), e.getMessage());
    }
  }

  private static void sleepQuietly(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
