package dev.tagscope.worker.internal;

import dev.tagscope.schemas.DeadLetter;
import dev.tagscope.schemas.DeadLetterFitter;
import dev.tagscope.schemas.DeadLetters;
import dev.tagscope.schemas.Topics;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.serialization.Serializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where the inference worker's refused records go: {@code tagscope.dlq}, through the worker's
 * transactional producer, so a dead letter commits or aborts with the batch that refused it.
 *
 * <p>It owns the one size limit of dead letters. A dead letter copies the refused record, so it can
 * be larger than Kafka takes; {@link DeadLetterFitter} cuts it to the limit. The limit starts at
 * what the producer accepts ({@code max.request.size}, never above {@code buffer.memory}), known in
 * advance. The topic's {@code max.message.bytes} is not known: when the broker refuses a dead letter
 * as too large, the transaction fails, and {@link #learnLimit()} halves the limit below the refused
 * size before the batch is retried, down to {@value #MIN_DEAD_LETTER_BYTES} bytes. The limit only
 * ever goes down, so the same batch cannot fail this way for ever.
 *
 * <p>Not thread-safe apart from the producer callback: used by the worker's poll thread.
 */
public final class DeadLetterSink {
  /**
   * Smallest size dead letters are cut to after the broker refused larger ones, in bytes: the
   * stage, the source coordinates and a reason fit in it, so a broker refusing even this has a
   * misconfigured {@code max.message.bytes} that no cut can work around.
   */
  public static final int MIN_DEAD_LETTER_BYTES = 1024;

  private static final Logger log = LoggerFactory.getLogger(DeadLetterSink.class);

  private final Producer<byte[], byte[]> producer;
  private final String stage;
  private final Serializer<DeadLetter> values = Topics.DLQ.valueSerde().serializer();
  private final Counter committed;
  /** Largest dead-letter record, in bytes; starts at what the producer accepts, lowered when the broker refuses one. */
  private int limit;
  /** Smallest dead letter the broker refused as too large since last looked at (written by the producer's I/O thread). */
  private final AtomicInteger refusedBytes = new AtomicInteger(Integer.MAX_VALUE);

  /**
   * Registers the counter {@value DeadLetters#RECORDS_METER}{@code {stage=<stage>}}.
   *
   * @param producer the transactional producer the dead letters go through (not closed here)
   * @param producerProps the configuration {@code producer} was built from, already validated by it;
   *     its {@code max.request.size} and {@code buffer.memory} give the first limit
   * @param stage the stage named on every dead letter and on the counter
   * @param registry where the counter is registered
   */
  public DeadLetterSink(Producer<byte[], byte[]> producer, Map<String, Object> producerProps, String stage,
                        MeterRegistry registry) {
    this.producer = Objects.requireNonNull(producer, "producer");
    this.stage = Objects.requireNonNull(stage, "stage");
    this.limit = DeadLetterFitter.producerRecordLimit(producerProps);
    this.committed = Counter.builder(DeadLetters.RECORDS_METER).tag("stage", stage)
        .description("Records sent to the dead-letter topic").register(registry);
  }


  /**
   * Sends a dead letter for {@code r} in the open transaction, cut to the current limit when it is
   * larger (logged). A dead letter the broker then refuses as too large fails the transaction; its
   * size is kept for {@link #learnLimit()}.
   *
   * @param r the refused record, copied into the dead letter (key and value bytes, topic, partition,
   *     offset)
   * @param reason why it was refused, with the fix where there is one
   * @throws org.apache.kafka.common.KafkaException when the producer refuses the send (the
   *     transaction is then to be aborted)
   */
  public void send(ConsumerRecord<byte[], byte[]> r, String reason) {
    DeadLetter letter = DeadLetters.of(stage, reason, r.topic(), r.partition(), r.offset(), r.key(), r.value());
    String topic = Topics.DLQ.name();
    DeadLetterFitter.Fitted d = DeadLetterFitter.fit(letter, l -> values.serialize(topic, l), limit);
    if (d.truncated()) {
      log.warn("dead letter for {}-{}@{} truncated to fit {} bytes: {}", r.topic(), r.partition(), r.offset(),
          limit, d.letter().getError());
    }
    int size = d.sizeUpperBound();
    // Runs on the producer's I/O thread (or here, when the producer refuses the record itself).
    // The failed record fails the transaction; the retry then cuts dead letters below this size.
    producer.send(new ProducerRecord<>(topic, null, null, d.key(), d.value(), d.headers()), (metadata, e) -> {
      if (e instanceof RecordTooLargeException) {
        refusedBytes.accumulateAndGet(size, Math::min);
      }
    });
    log.debug("dead letter for {}-{}@{}: {}", r.topic(), r.partition(), r.offset(), reason);
  }

  /**
   * Lowers the limit after the broker refused a dead letter as too large (the producer's own limit
   * is known in advance; the topic's {@code max.message.bytes} is not): to half the smallest refused
   * size, at least {@value #MIN_DEAD_LETTER_BYTES} bytes. Halving converges on any limit in a few
   * retries of the batch. Call it outside any transaction, before each one begins and after each
   * abort; it does nothing when nothing was refused.
   *
   * @throws IllegalStateException when even a dead letter of {@value #MIN_DEAD_LETTER_BYTES}
   *     bytes or less was refused: no cut helps, the topic's setting must change
   */
  public void learnLimit() {
    int refused = refusedBytes.getAndSet(Integer.MAX_VALUE);
    if (refused == Integer.MAX_VALUE) {
      return;
    }
    if (refused <= MIN_DEAD_LETTER_BYTES) {
      throw new IllegalStateException("the broker refuses dead letters of " + refused + " bytes as too large; raise"
          + " max.message.bytes of " + Topics.DLQ.name() + " (or the broker's message.max.bytes) above "
          + MIN_DEAD_LETTER_BYTES);
    }
    int next = Math.max(MIN_DEAD_LETTER_BYTES, refused / 2);
    if (next < limit) {
      log.warn("the broker refused a dead letter of {} bytes as too large (max.message.bytes of {} is lower than"
          + " the producer's max.request.size); dead letters are now truncated to {} bytes", refused,
          Topics.DLQ.name(), next);
      limit = next;
    }
  }

  /**
   * Counts dead letters whose transaction committed, in {@value DeadLetters#RECORDS_METER}.
   *
   * @param letters how many {@link #send} calls the committed transaction held, at least 0
   */
  public void committed(long letters) {
    committed.increment(letters);
  }
}
