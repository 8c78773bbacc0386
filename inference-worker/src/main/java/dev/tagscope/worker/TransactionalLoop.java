package dev.tagscope.worker;

import dev.tagscope.schemas.Topics;
import dev.tagscope.worker.internal.ProbeCache;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.kafka.KafkaClientMetrics;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.ConsumerGroupMetadata;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.FencedInstanceIdException;
import org.apache.kafka.common.errors.OutOfOrderSequenceException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.errors.UnsupportedVersionException;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The inference worker's exactly-once consume-process-produce loop: poll {@code tagscope.stimuli},
 * begin a transaction, let the body send its records, add the consumer offsets
 * ({@code sendOffsetsToTransaction} with the group metadata, KIP-447), commit; on an abortable
 * error abort, seek back to the committed offsets and retry the batch after a back-off. It owns the
 * Kafka clients from then on: it binds their Micrometer metrics, aborts an open transaction when
 * partitions are revoked or lost, and closes them when it stops. What a batch turns into is the
 * body's business ({@link #run}); the failure rules are those of the {@link InferenceWorker} class
 * docs, which are the user's documentation of this loop.
 *
 * <p>It sits beside {@link InferenceWorker}, not in {@code internal}, because its commit rule throws
 * the public {@link CommitTimeoutException}. One thread runs {@link #run}; {@link #stop()},
 * {@link #awaitStop()} and the getters may be called from any thread.
 */
final class TransactionalLoop {
  private static final Logger log = LoggerFactory.getLogger(TransactionalLoop.class);
  private static final Duration CLOSE_WAIT = Duration.ofSeconds(30);
  private static final Duration MAX_BACKOFF = Duration.ofSeconds(5);

  private final WorkerSettings settings;
  private final Supplier<ActivationModel> model;
  private final KafkaConsumer<byte[], byte[]> consumer;
  private final Producer<byte[], byte[]> producer;
  private final ProbeCache probes;
  private final List<KafkaClientMetrics> clientMetrics = new ArrayList<>();

  private final AtomicBoolean clientsClosed = new AtomicBoolean();
  private final CountDownLatch stopped = new CountDownLatch(1);
  private volatile boolean closing;
  private volatile boolean running;
  /** Set once transactions are initialised, the probe specs read and the stimuli subscribed. */
  private volatile boolean ready;
  private volatile Throwable failure;
  private boolean inTransaction;
  private volatile Runnable beforeCommit = () -> { };

  /**
   * Takes over the clients and binds Micrometer's {@link KafkaClientMetrics} of the consumer and
   * the producer to {@code registry}. Nothing connects before {@link #run}.
   *
   * @param settings poll timeout, commit retries and back-off, instance id (for the logs)
   * @param model the model served now (a swap replaces it, keeping its name and taps): its name is in
   *     the group id and the {@code transactional.id}
   *     (logged), its taps in the start log
   * @param consumer the {@code tagscope.stimuli} consumer: grouped, {@code read_committed}, no auto-commit
   * @param producer the transactional producer the body sends through ({@code initTransactions} not yet called)
   * @param probes the probe reader: read to the end at start, polled between transactions
   * @param registry where the client metrics are bound
   */
  TransactionalLoop(WorkerSettings settings, Supplier<ActivationModel> model, KafkaConsumer<byte[], byte[]> consumer,
                    Producer<byte[], byte[]> producer, ProbeCache probes, MeterRegistry registry) {
    this.settings = Objects.requireNonNull(settings, "settings");
    this.model = Objects.requireNonNull(model, "model");
    this.consumer = Objects.requireNonNull(consumer, "consumer");
    this.producer = Objects.requireNonNull(producer, "producer");
    this.probes = Objects.requireNonNull(probes, "probes");
    for (KafkaClientMetrics m : List.of(new KafkaClientMetrics(consumer), new KafkaClientMetrics(producer))) {
      m.bindTo(registry);
      clientMetrics.add(m);
    }
  }

  /**
   * Test seam: runs on the poll thread right before each {@code commitTransaction}; a
   * {@link KafkaException} thrown here fails the transaction like a broker error would.
   *
   * @param hook the action
   */
  void beforeCommitForTests(Runnable hook) {
    this.beforeCommit = Objects.requireNonNull(hook);
  }

  /**
   * Whether {@link #run} is in its poll loop.
   *
   * @return true while running
   */
  boolean isRunning() {
    return running;
  }

  /**
   * Whether the loop polls: transactions initialised, probe specs read, stimuli subscribed.
   *
   * @return true from then until the loop ends
   */
  boolean isReady() {
    return ready;
  }

  /**
   * Why the loop stopped on its own (fenced, fatal Kafka error, a commit that kept timing out), if it did.
   *
   * @return the cause, empty after a normal stop or while running
   */
  Optional<Throwable> failure() {
    return Optional.ofNullable(failure);
  }

  /**
   * Whether the clients are closed (by {@link #run} returning, or by {@link #closeClients()}).
   *
   * @return true once closed
   */
  boolean clientsClosed() {
    return clientsClosed.get();
  }

  /**
   * Asks the loop to stop after the transaction in flight; a timed-out producer call is then not
   * retried. Idempotent; does not wait (see {@link #awaitStop()}).
   */
  void stop() {
    closing = true;
  }

  /**
   * Wakes a blocking {@code poll} and waits up to 30 s for {@link #run} to return; logs when it
   * does not. Call after {@link #stop()}, once {@link #run} has been called.
   */
  void awaitStop() {
    consumer.wakeup();
    try {
      if (!stopped.await(CLOSE_WAIT.toMillis(), TimeUnit.MILLISECONDS)) {
        log.warn("inference worker {} did not stop within {}", settings.instanceId(), CLOSE_WAIT);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /**
   * Initialises transactions, reads the probe specs, subscribes to {@code tagscope.stimuli} and runs
   * one transaction per non-empty poll batch until {@link #stop()}; then closes the clients. Errors
   * that stop the loop are not thrown but kept in {@link #failure()}. Call once.
   *
   * @param betweenTransactions runs on this thread after each poll, before the transaction over the
   *     polled records begins (also after an empty poll), outside any transaction: the worker switches
   *     to a swapped model there, so that every transaction is processed by one model
   * @param beforeAttempt runs on this thread before each {@code beginTransaction} and again right
   *     after each abort, outside any transaction, so that what a failed attempt taught applies to
   *     the retry; an {@link IllegalStateException} from it stops the loop
   * @param body processes one poll batch inside the open transaction, sending through the producer,
   *     and returns what to run once that transaction has committed (counting meters); a
   *     {@link KafkaException} or {@link IllegalStateException} from it aborts and retries the batch
   * @return true when it ran; false when {@link #stop()} came first: it then only closed the clients
   */
  boolean run(Runnable betweenTransactions, Runnable beforeAttempt, Function<ConsumerRecords<byte[], byte[]>, Runnable> body) {
    if (closing) {
      // awaitStop() may already be waiting for this run to stop: release it and close the clients
      closeClients();
      stopped.countDown();
      return false;
    }
    running = true;
    try {
      retryOnTimeout("initTransactions", producer::initTransactions);
      probes.refresh();
      consumer.subscribe(List.of(Topics.STIMULI.name()), new AbortOnRevoke());
      ready = true;
      ActivationModel m = model.get();
      log.info("inference worker {} started: model {} version {}, taps {}, group {}, transactional.id {}",
          settings.instanceId(), m.name(), m.version(),
          m.tappedLayers().stream().map(TappedLayer::name).collect(Collectors.toList()),
          settings.groupIdFor(m.name()), settings.transactionalIdFor(m.name()));
      long backoffMs = 0;
      while (!closing) {
        ConsumerRecords<byte[], byte[]> records = consumer.poll(settings.pollTimeout());
        probes.pollUpdates();
        betweenTransactions.run();
        if (records.isEmpty()) {
          continue;
        }
        if (processInTransaction(records, beforeAttempt, body)) {
          backoffMs = 0;
        } else {
          backoffMs = Math.min(MAX_BACKOFF.toMillis(), Math.max(100, backoffMs * 2));
          sleepUnlessClosing(backoffMs);
        }
      }
    } catch (WakeupException e) {
      if (!closing) {
        failure = e;
        log.error("inference worker woken up without close()", e);
      }
    } catch (ProducerFencedException | FencedInstanceIdException e) {
      failure = e;
      log.error("inference worker {} fenced by a newer instance with transactional.id {}; stopping",
          settings.instanceId(), settings.transactionalIdFor(model.get().name()), e);
    } catch (CommitTimeoutException e) {
      if (closing) { // close() asked to stop; the coordinator settles the transaction, nothing is lost
        log.warn("inference worker {} closed while its last commit timed out: {}", settings.instanceId(), e.getMessage());
      } else {
        failure = e;
        log.error("inference worker {} stopped: {}", settings.instanceId(), e.getMessage(), e);
      }
    } catch (RuntimeException e) {
      failure = e;
      log.error("inference worker {} stopped by a fatal error", settings.instanceId(), e);
    } finally {
      running = false;
      ready = false;
      closeClients();
      stopped.countDown();
    }
    return true;
  }

  /**
   * Processes one poll batch in one transaction.
   *
   * @return true when committed, false when aborted (the consumer has been rewound)
   */
  private boolean processInTransaction(ConsumerRecords<byte[], byte[]> records, Runnable beforeAttempt,
                                       Function<ConsumerRecords<byte[], byte[]>, Runnable> body) {
    beforeAttempt.run();
    producer.beginTransaction();
    inTransaction = true;
    Runnable onCommit;
    try {
      onCommit = body.apply(records);
      Map<TopicPartition, OffsetAndMetadata> offsets = nextOffsets(records);
      ConsumerGroupMetadata group = consumer.groupMetadata();
      // A timed-out sendOffsetsToTransaction leaves the transaction open and its request queued;
      // adding the group and the same offsets to the same transaction again changes nothing.
      retryOnTimeout("sendOffsetsToTransaction", () -> producer.sendOffsetsToTransaction(offsets, group));
      beforeCommit.run();
      commit(records.count());
      inTransaction = false;
    } catch (CommitTimeoutException e) {
      inTransaction = false; // Kafka refuses abortTransaction after a commit timed out; the coordinator decides
      throw e;
    } catch (ProducerFencedException | FencedInstanceIdException
             | OutOfOrderSequenceException | AuthorizationException | UnsupportedVersionException e) {
      // InvalidProducerEpochException is deliberately not here: Kafka 4.3.1 keeps it an abortable
      // error (the coordinator timed the transaction out and bumped the epoch; its Javadoc says to
      // call abortTransaction, which re-initialises the producer), so it takes the abort path below.
      inTransaction = false;
      throw e; // fatal: the producer cannot go on
    } catch (WakeupException e) {
      abortAndRewind(records, e, beforeAttempt);
      throw e;
    } catch (KafkaException | IllegalStateException e) {
      abortAndRewind(records, e, beforeAttempt);
      return false;
    }
    onCommit.run();
    return true;
  }

  /**
   * Commits, calling {@code commitTransaction} again when it times out (Kafka's contract: the
   * call is idempotent, and nothing else, not even an abort, is allowed until it succeeds).
   *
   * @throws CommitTimeoutException when every attempt timed out, or one did while closing
   */
  private void commit(int recordCount) {
    try {
      retryOnTimeout("commitTransaction", producer::commitTransaction);
    } catch (RetriesExhausted e) {
      throw new CommitTimeoutException("commitTransaction of the transaction over " + recordCount + " stimulus records"
          + " timed out " + e.attempts + " times" + (e.closing ? " (no more retries: closing)" : "")
          + "; whether it committed is up to the transaction coordinator (it commits if the request reached it,"
          + " else aborts after transaction.timeout.ms or when an instance with transactional.id "
          + settings.transactionalIdFor(model.get().name()) + " starts), so no frame is lost or repeated. Check that the brokers answer,"
          + " then restart the worker with instance id " + settings.instanceId()
          + "; raise commitRetries, commitRetryBackoff or the producer's max.block.ms to wait longer",
          e.attempts, e.getCause());
    }
  }

  /**
   * Runs a transactional producer call; when it throws {@link TimeoutException} (the broker did
   * not answer within {@code max.block.ms}), calls it again after a back-off that starts at
   * {@link WorkerSettings#commitRetryBackoff()} and doubles up to 5 s, at most
   * {@link WorkerSettings#commitRetries()} times. Other exceptions pass through at once.
   *
   * @param call the producer method, for the log
   * @param op the call
   * @throws RetriesExhausted (a {@link TimeoutException}) when the last allowed attempt timed
   *     out, or an attempt did after {@link #stop()}: stopping is then preferred to waiting
   */
  private void retryOnTimeout(String call, Runnable op) {
    long backoffMs = settings.commitRetryBackoff().toMillis();
    int attempts = settings.commitRetries() + 1;
    for (int attempt = 1; ; attempt++) {
      try {
        op.run();
        if (attempt > 1) {
          log.info("{} succeeded on attempt {} of {}", call, attempt, attempts);
        }
        return;
      } catch (TimeoutException e) {
        if (attempt >= attempts || closing) {
          log.error("{} timed out on attempt {} of {}; giving up{}: {}", call, attempt, attempts,
              closing ? " (closing)" : "", e.getMessage());
          throw new RetriesExhausted(call, attempt, closing, e);
        }
        log.warn("{} timed out on attempt {} of {}; calling it again in {} ms: {}", call, attempt, attempts, backoffMs,
            e.getMessage());
        sleepUnlessClosing(backoffMs);
        backoffMs = Math.min(MAX_BACKOFF.toMillis(), backoffMs * 2);
      }
    }
  }

  /** The last timeout of a call that was retried as often as allowed; still a {@link TimeoutException}. */
  private static final class RetriesExhausted extends TimeoutException {
    private static final long serialVersionUID = 1L;
    final int attempts;
    final boolean closing;

    RetriesExhausted(String call, int attempts, boolean closing, TimeoutException last) {
      super(call + " timed out " + attempts + " time(s)" + (closing ? " (closing, not retried)" : "") + ": "
          + last.getMessage(), last);
      this.attempts = attempts;
      this.closing = closing;
    }
  }

  private void abortAndRewind(ConsumerRecords<byte[], byte[]> records, RuntimeException cause, Runnable beforeAttempt) {
    log.warn("transaction over {} records failed, aborting and retrying: {}", records.count(), cause.toString());
    try {
      retryOnTimeout("abortTransaction", producer::abortTransaction);
    } catch (KafkaException | IllegalStateException e) {
      inTransaction = false;
      throw new IllegalStateException("cannot abort the failed transaction (" + cause + "); stopping: " + e, e);
    }
    inTransaction = false;
    beforeAttempt.run();
    if (!closing) {
      rewind(records);
    }
  }

  /** Seeks every assigned partition back to its committed offset (or this batch's first offset). */
  private void rewind(ConsumerRecords<byte[], byte[]> records) {
    Set<TopicPartition> assignment = consumer.assignment();
    Map<TopicPartition, OffsetAndMetadata> committed = consumer.committed(assignment);
    for (TopicPartition tp : assignment) {
      OffsetAndMetadata om = committed.get(tp);
      if (om != null) {
        consumer.seek(tp, om);
      } else {
        List<ConsumerRecord<byte[], byte[]>> rs = records.records(tp);
        if (!rs.isEmpty()) {
          consumer.seek(tp, rs.get(0).offset());
        }
      }
    }
  }

  private static Map<TopicPartition, OffsetAndMetadata> nextOffsets(ConsumerRecords<byte[], byte[]> records) {
    Map<TopicPartition, OffsetAndMetadata> out = new HashMap<>();
    for (TopicPartition tp : records.partitions()) {
      List<ConsumerRecord<byte[], byte[]>> rs = records.records(tp);
      out.put(tp, new OffsetAndMetadata(rs.get(rs.size() - 1).offset() + 1));
    }
    return out;
  }

  private void sleepUnlessClosing(long ms) {
    long end = System.currentTimeMillis() + ms;
    while (!closing && System.currentTimeMillis() < end) {
      try {
        Thread.sleep(Math.min(50, Math.max(1, end - System.currentTimeMillis())));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        closing = true;
      }
    }
  }

  /** Aborts an open transaction before partitions are taken away (never expected; see the class docs of InferenceWorker). */
  private final class AbortOnRevoke implements ConsumerRebalanceListener {
    @Override
    public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
      abortIfOpen("revoked", partitions);
    }

    @Override
    public void onPartitionsLost(Collection<TopicPartition> partitions) {
      abortIfOpen("lost", partitions);
    }

    @Override
    public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
      log.info("assigned {}", partitions);
    }

    private void abortIfOpen(String why, Collection<TopicPartition> partitions) {
      if (inTransaction) {
        log.warn("partitions {} {} during a transaction; aborting it", partitions, why);
        producer.abortTransaction();
        inTransaction = false;
      }
    }
  }

  /**
   * Closes the client metrics, aborts a transaction still open, then closes the stimuli consumer,
   * the probe reader and the producer (waiting at most 30 s for it); a failure to close one is
   * logged, not thrown. Idempotent; {@link #run} calls it when it returns.
   */
  void closeClients() {
    if (!clientsClosed.compareAndSet(false, true)) {
      return;
    }
    for (KafkaClientMetrics m : clientMetrics) {
      try {
        m.close();
      } catch (RuntimeException e) {
        log.debug("closing client metrics: {}", e.toString());
      }
    }
    if (inTransaction) {
      try {
        producer.abortTransaction();
      } catch (KafkaException | IllegalStateException e) {
        log.debug("abort on close: {}", e.toString());
      }
      inTransaction = false;
    }
    closeQuietly(consumer::close, "stimuli consumer");
    closeQuietly(probes::close, "probe reader");
    // Bounded: after a commit that timed out the producer would otherwise wait for ever for a
    // coordinator that does not answer; what it has not sent by then belongs to no committed transaction.
    closeQuietly(() -> producer.close(CLOSE_WAIT), "producer");
  }

  /**
   * Runs a close call, logging instead of throwing when it fails.
   *
   * @param r the close call
   * @param what the client, for the log
   */
  static void closeQuietly(Runnable r, String what) {
    try {
      r.run();
    } catch (RuntimeException e) {
      log.warn("closing the {} failed: {}", what, e.toString());
    }
  }
}
