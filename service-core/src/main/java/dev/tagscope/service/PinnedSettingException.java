package dev.tagscope.service;

import java.util.Optional;

/**
 * A client override that sets one of the Kafka settings exactly-once depends on to another value
 * than the one {@link KafkaClientPolicy} pins. Thrown before any client is built; the message
 * names the key, the value given, the pinned value, why it is pinned and the fix, e.g.
 *
 * <pre>
 * isolation.level is pinned to read_committed, got read_uncommitted: a read_uncommitted consumer
 * also sees records of aborted transactions, which breaks exactly-once; remove the override
 * (--kafka isolation.level=read_uncommitted)
 * </pre>
 */
public final class PinnedSettingException extends IllegalArgumentException {
  private static final long serialVersionUID = 1L;

  /** The key as given, possibly with a Kafka Streams client prefix such as {@code consumer.}. */
  private final String key;
  private final String given;
  private final String pinned;
  private final String reason;

  /**
   * @param key the key as given, possibly prefixed
   * @param given the value given, as text
   * @param pinned the pinned value; {@code null} when the key may not be set at all on this client
   * @param message the whole message
   * @param reason why the key is pinned
   */
  PinnedSettingException(String key, String given, String pinned, String reason, String message) {
    super(message);
    this.key = key;
    this.given = given;
    this.pinned = pinned;
    this.reason = reason;
  }

  /**
   * The key the override set.
   *
   * @return the key as given, with its Kafka Streams client prefix if it had one
   */
  public String key() {
    return key;
  }

  /**
   * The value the override gave.
   *
   * @return the value as text
   */
  public String given() {
    return given;
  }

  /**
   * The value Tagscope uses instead.
   *
   * @return the pinned value; empty when Tagscope does not set the key on this client and no
   *     override may set it (a {@code transactional.id} on a client that runs no transactions)
   */
  public Optional<String> pinned() {
    return Optional.ofNullable(pinned);
  }

  /**
   * Why the key is pinned.
   *
   * @return what exactly-once loses when the key is changed
   */
  public String reason() {
    return reason;
  }
}
