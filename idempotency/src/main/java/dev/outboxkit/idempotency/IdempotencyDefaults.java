package dev.outboxkit.idempotency;

import java.time.Duration;

/** The defaults of every idempotency and inbox option, in one place. */
public final class IdempotencyDefaults {

  /** The table of idempotency keys: {@value}. */
  public static final String KEY_TABLE = "idempotency_key";

  /** The table of processed message ids: {@value}. */
  public static final String INBOX_TABLE = "inbox_message";

  /** How long a key is remembered: 24 hours, as Stripe does. */
  public static final Duration KEY_TTL = Duration.ofHours(24);

  /** How long a processed message id is remembered: 7 days, the default Kafka retention. */
  public static final Duration INBOX_TTL = Duration.ofDays(7);

  /**
   * How long a duplicate waits for a concurrent first attempt to finish before it is refused as in
   * flight: 5 seconds.
   */
  public static final Duration LOCK_TIMEOUT = Duration.ofSeconds(5);

  /** Rows deleted per statement when purging expired keys: {@value}. */
  public static final int PURGE_BATCH_SIZE = 1000;

  /** The longest key, scope or message id: {@value} characters. */
  public static final int MAX_KEY_LENGTH = 255;

  private IdempotencyDefaults() {}
}
