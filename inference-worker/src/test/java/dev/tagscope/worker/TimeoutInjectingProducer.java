package dev.tagscope.worker;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.consumer.ConsumerGroupMetadata;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.Callback;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.Metric;
import org.apache.kafka.common.MetricName;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.metrics.KafkaMetric;

/**
 * A real producer whose {@code commitTransaction} and {@code sendOffsetsToTransaction} time out
 * a given number of times before reaching the broker, as they do when the transaction
 * coordinator does not answer within {@code max.block.ms}. A real broker cannot be made that
 * slow on demand, so the timeout is injected; everything else reaches the real producer.
 *
 * <p>After a timed-out commit it behaves as KafkaProducer 4.3.1 does (TransactionManager's
 * pending-transition check): only {@code commitTransaction} may be called;
 * {@code abortTransaction}, {@code beginTransaction}, {@code sendOffsetsToTransaction} and
 * {@code send} throw {@link IllegalStateException}.
 */
final class TimeoutInjectingProducer implements Producer<byte[], byte[]> {
  private final Producer<byte[], byte[]> delegate;
  private final AtomicInteger commitTimeoutsLeft;
  private final AtomicInteger sendOffsetsTimeoutsLeft;
  final AtomicInteger commitCalls = new AtomicInteger();
  final AtomicInteger commitTimeouts = new AtomicInteger();
  final AtomicInteger commits = new AtomicInteger();
  final AtomicInteger sendOffsetsCalls = new AtomicInteger();
  final AtomicInteger abortCalls = new AtomicInteger();
  private volatile boolean commitPending;

  /**
   * @param delegate the real producer
   * @param commitTimeouts how many commitTransaction calls time out first ({@code Integer.MAX_VALUE}: all)
   * @param sendOffsetsTimeouts how many sendOffsetsToTransaction calls time out first
   */
  TimeoutInjectingProducer(Producer<byte[], byte[]> delegate, int commitTimeouts, int sendOffsetsTimeouts) {
    this.delegate = delegate;
    this.commitTimeoutsLeft = new AtomicInteger(commitTimeouts);
    this.sendOffsetsTimeoutsLeft = new AtomicInteger(sendOffsetsTimeouts);
  }

  private void refuseWhileCommitPending(String operation) {
    if (commitPending) {
      throw new IllegalStateException("Cannot attempt operation `" + operation + "` because the previous call to"
          + " `commitTransaction` timed out and must be retried");
    }
  }

  @Override
  public void commitTransaction() {
    commitCalls.incrementAndGet();
    if (commitTimeoutsLeft.getAndUpdate(n -> n == Integer.MAX_VALUE ? n : Math.max(0, n - 1)) > 0) {
      commitPending = true;
      commitTimeouts.incrementAndGet();
      throw new TimeoutException("injected: CommitTransaction timed out - did not complete EndTxn with the"
          + " transaction coordinator within max.block.ms");
    }
    delegate.commitTransaction();
    commitPending = false;
    commits.incrementAndGet();
  }

  @Override
  public void sendOffsetsToTransaction(Map<TopicPartition, OffsetAndMetadata> offsets, ConsumerGroupMetadata group) {
    refuseWhileCommitPending("sendOffsetsToTransaction");
    sendOffsetsCalls.incrementAndGet();
    if (sendOffsetsTimeoutsLeft.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
      throw new TimeoutException("injected: SendOffsetsToTransaction timed out");
    }
    delegate.sendOffsetsToTransaction(offsets, group);
  }

  @Override
  public void abortTransaction() {
    abortCalls.incrementAndGet();
    refuseWhileCommitPending("abortTransaction");
    delegate.abortTransaction();
  }

  @Override
  public void beginTransaction() {
    refuseWhileCommitPending("beginTransaction");
    delegate.beginTransaction();
  }

  @Override
  public Future<RecordMetadata> send(ProducerRecord<byte[], byte[]> record) {
    return send(record, null);
  }

  @Override
  public Future<RecordMetadata> send(ProducerRecord<byte[], byte[]> record, Callback callback) {
    refuseWhileCommitPending("send");
    return delegate.send(record, callback);
  }

  @Override
  public void initTransactions() {
    delegate.initTransactions();
  }

  @Override
  public void registerMetricForSubscription(KafkaMetric metric) {
    delegate.registerMetricForSubscription(metric);
  }

  @Override
  public void unregisterMetricFromSubscription(KafkaMetric metric) {
    delegate.unregisterMetricFromSubscription(metric);
  }

  @Override
  public void flush() {
    delegate.flush();
  }

  @Override
  public List<PartitionInfo> partitionsFor(String topic) {
    return delegate.partitionsFor(topic);
  }

  @Override
  public Map<MetricName, ? extends Metric> metrics() {
    return delegate.metrics();
  }

  @Override
  public Uuid clientInstanceId(Duration timeout) {
    return delegate.clientInstanceId(timeout);
  }

  @Override
  public void close() {
    delegate.close();
  }

  @Override
  public void close(Duration timeout) {
    delegate.close(timeout);
  }
}
