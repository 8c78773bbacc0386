package dev.tagscope.worker;

import org.apache.kafka.common.KafkaException;

/**
 * Why an {@link InferenceWorker} stopped when {@code commitTransaction} kept timing out: every
 * attempt ({@link WorkerSettings#commitRetries()} + 1 of them, each waiting up to the producer's
 * {@code max.block.ms}) ended without an answer from the transaction coordinator.
 *
 * <p>Kafka allows nothing but calling {@code commitTransaction} again after such a timeout (an
 * abort is refused, because the commit may already be completing), so the worker closes its
 * producer instead. The transaction's fate is then the coordinator's: it commits if the commit
 * request reached it, otherwise it is aborted after {@code transaction.timeout.ms} or as soon
 * as an instance with the same {@code transactional.id} starts. Either way no frame is lost or
 * written twice: start the worker again (with the same instance id) once the brokers answer.
 * {@link #getCause()} is the last {@link org.apache.kafka.common.errors.TimeoutException}.
 */
public final class CommitTimeoutException extends KafkaException {
  private static final long serialVersionUID = 1L;

  private final int attempts;

  /**
   * @param message what timed out and what to do
   * @param attempts how many times {@code commitTransaction} was called
   * @param cause the last timeout
   */
  CommitTimeoutException(String message, int attempts, Throwable cause) {
    super(message, cause);
    this.attempts = attempts;
  }

  /**
   * How many times {@code commitTransaction} was called before the worker gave up.
   *
   * @return attempts, at least 1
   */
  public int attempts() {
    return attempts;
  }
}
