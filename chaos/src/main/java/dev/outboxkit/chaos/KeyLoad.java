package dev.outboxkit.chaos;

import java.time.Duration;
import java.util.Objects;

/**
 * What the writers do with idempotency keys and the consumer inbox besides appending events (see
 * {@link KeyClaims}), and how often the purge of expired rows runs against them ({@link
 * PurgeLoop}).
 *
 * @param perTransaction idempotency keys claimed, and inbox message ids recorded, in each writer
 *     transaction; 0 turns the keys, the inbox and the purge off
 * @param ttl how long a key or inbox entry lives: short, so that rows keep expiring under the
 *     writers and get replaced or purged while they hold them
 * @param purgeInterval the pause between two purges
 * @param purgeBatchSize rows per purge statement (one batch per table and purge)
 */
public record KeyLoad(
    int perTransaction, Duration ttl, Duration purgeInterval, int purgeBatchSize) {

  /** Keys (and inbox ids) per writer transaction by default: {@value}. */
  public static final int DEFAULT_PER_TRANSACTION = 3;

  /** Key and inbox entry time to live by default: 1 s. */
  public static final Duration DEFAULT_TTL = Duration.ofSeconds(1);

  /** Pause between purges by default: 150 ms. */
  public static final Duration DEFAULT_PURGE_INTERVAL = Duration.ofMillis(150);

  /** Rows per purge statement by default: {@value}. */
  public static final int DEFAULT_PURGE_BATCH_SIZE = 20;

  /** Each writer's keys and inbox ids: twice the number it claims per transaction, in rotation. */
  static final int ROTATION = 2;

  public KeyLoad {
    Objects.requireNonNull(ttl, "ttl");
    Objects.requireNonNull(purgeInterval, "purgeInterval");
    if (perTransaction < 0) {
      throw new IllegalArgumentException(
          "--idempotency-keys must be 0 (off) or more, was " + perTransaction);
    }
    if (ttl.isNegative() || ttl.isZero()) {
      throw new IllegalArgumentException("--idempotency-ttl must be positive, was " + ttl);
    }
    if (purgeInterval.isNegative() || purgeInterval.isZero()) {
      throw new IllegalArgumentException("--purge-interval must be positive, was " + purgeInterval);
    }
    if (purgeBatchSize < 1) {
      throw new IllegalArgumentException(
          "--purge-batch-size must be at least 1, was " + purgeBatchSize);
    }
  }

  /** The defaults: 3 keys and 3 inbox ids per transaction, 1 s TTL, a purge of 20 every 150 ms. */
  public static KeyLoad defaults() {
    return new KeyLoad(
        DEFAULT_PER_TRANSACTION, DEFAULT_TTL, DEFAULT_PURGE_INTERVAL, DEFAULT_PURGE_BATCH_SIZE);
  }

  /** No keys, no inbox, no purge: the writers only append events. */
  public static KeyLoad off() {
    return new KeyLoad(0, DEFAULT_TTL, DEFAULT_PURGE_INTERVAL, DEFAULT_PURGE_BATCH_SIZE);
  }

  /** Whether the writers claim keys and the purge runs. */
  public boolean enabled() {
    return perTransaction > 0;
  }
}
