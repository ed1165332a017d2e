package dev.outboxkit.idempotency;

import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.spi.ConnectionProvider;
import dev.outboxkit.outbox.spi.OutboxDialect;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Metrics;
import java.time.Clock;
import java.time.Duration;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * The options {@link Idempotency.Builder} and {@link Inbox.Builder} share: both record keys in a
 * table, in the caller's transaction, and wait a bounded time for a concurrent holder of a key.
 *
 * @param <B> the concrete builder
 */
public abstract class KeyTableBuilder<B extends KeyTableBuilder<B>> {

  @Nullable ConnectionProvider connectionProvider;
  @Nullable OutboxDialect dialect;
  OutboxTable table;
  Duration ttl;
  Duration lockTimeout = IdempotencyDefaults.LOCK_TIMEOUT;
  Clock clock = Clock.systemUTC();
  MeterRegistry meterRegistry = Metrics.globalRegistry;

  KeyTableBuilder(OutboxTable defaultTable, Duration defaultTtl) {
    this.table = defaultTable;
    this.ttl = defaultTtl;
  }

  @SuppressWarnings("unchecked")
  private B self() {
    return (B) this;
  }

  /**
   * How to join the caller's transaction. Required.
   *
   * @param connectionProvider the binding, e.g. Spring's
   */
  public B connectionProvider(ConnectionProvider connectionProvider) {
    this.connectionProvider = Objects.requireNonNull(connectionProvider, "connectionProvider");
    return self();
  }

  /**
   * The database's dialect. Required.
   *
   * @param dialect the dialect
   */
  public B dialect(OutboxDialect dialect) {
    this.dialect = Objects.requireNonNull(dialect, "dialect");
    return self();
  }

  /**
   * The table. Default: {@value IdempotencyDefaults#KEY_TABLE} for keys, {@value
   * IdempotencyDefaults#INBOX_TABLE} for the inbox.
   *
   * @param table the table
   */
  public B table(OutboxTable table) {
    this.table = Objects.requireNonNull(table, "table");
    return self();
  }

  /**
   * How long a key is remembered; after that it counts as absent. Default: 24 hours for keys, 7
   * days for the inbox (keep it longer than the topic's retention plus any replay you might do).
   *
   * @param ttl positive
   */
  public B ttl(Duration ttl) {
    this.ttl = positive("ttl", ttl);
    return self();
  }

  /**
   * How long a duplicate waits for a concurrent first attempt. Default: 5 seconds. Rounded up to
   * whole seconds on MySQL and MariaDB.
   *
   * @param lockTimeout positive
   */
  public B lockTimeout(Duration lockTimeout) {
    this.lockTimeout = positive("lockTimeout", lockTimeout);
    return self();
  }

  /**
   * The clock for creation and expiry times. Default: {@link Clock#systemUTC()}.
   *
   * @param clock the clock
   */
  public B clock(Clock clock) {
    this.clock = Objects.requireNonNull(clock, "clock");
    return self();
  }

  /**
   * Where the metrics go. Default: Micrometer's global registry.
   *
   * @param meterRegistry the registry
   */
  public B meterRegistry(MeterRegistry meterRegistry) {
    this.meterRegistry = Objects.requireNonNull(meterRegistry, "meterRegistry");
    return self();
  }

  /** The required options, or an exception naming what is missing. */
  final ConnectionProvider requiredConnectionProvider(String what) {
    if (connectionProvider == null || dialect == null) {
      throw new IllegalStateException(what + " needs a connectionProvider and a dialect");
    }
    return connectionProvider;
  }

  static Duration positive(String option, Duration value) {
    if (value == null || value.isNegative() || value.isZero()) {
      throw new IllegalArgumentException(option + " must be positive but was " + value);
    }
    return value;
  }
}
