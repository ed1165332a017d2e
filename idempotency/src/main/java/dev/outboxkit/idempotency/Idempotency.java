package dev.outboxkit.idempotency;

import dev.outboxkit.idempotency.internal.DefaultIdempotency;
import dev.outboxkit.idempotency.internal.IdempotencySql;
import dev.outboxkit.outbox.NoActiveTransactionException;
import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.spi.ConnectionProvider;
import dev.outboxkit.outbox.spi.OutboxDialect;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Metrics;
import java.time.Clock;
import java.time.Duration;
import java.util.Objects;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;

/**
 * Runs work at most once per idempotency key, recording the key and the work's result in the
 * caller's database transaction.
 *
 * <p><b>First call:</b> the key is inserted, the work runs, its result is stored; all of it commits
 * or rolls back with the caller's own writes, so a rolled-back attempt leaves no key and a retry
 * runs the work. <b>Same key again:</b> the stored result is returned without running the work.
 * <b>Same key, different fingerprint:</b> {@link IdempotencyOutcome.Mismatch}, nothing runs.
 * <b>Concurrent duplicate:</b> it waits (up to the lock timeout) for the first transaction, then
 * replays its result, or, if the first is still running, gets {@link IdempotencyOutcome.InFlight};
 * the work never runs twice. Keys expire after a time to live and are purged in bounded batches by
 * {@link IdempotencyPurger}.
 *
 * <p>If the work throws, its key is removed before the exception reaches the caller, so even a
 * caller that commits anyway leaves no key behind. Use READ COMMITTED (the default of PostgreSQL
 * and of Spring) on PostgreSQL. Thread-safe.
 */
public interface Idempotency {

  /**
   * Runs {@code work} unless the key was used before.
   *
   * @param key the key and its scope
   * @param fingerprint what identifies the request the key was first used for, e.g. a hash of
   *     method, path and body; 1 to 255 characters
   * @param resultType the result's type, to read a stored result back
   * @param work the work; it runs in the caller's transaction and must not commit it
   * @return what happened; never {@code null}
   * @throws NoActiveTransactionException when no transaction is active
   * @throws InvalidIdempotencyKeyException when the fingerprint is empty or too long
   */
  <T> IdempotencyOutcome<T> execute(
      IdempotencyKey key, String fingerprint, Class<T> resultType, Supplier<@Nullable T> work);

  /** A builder; {@link Builder#connectionProvider} and {@link Builder#dialect} are required. */
  static Builder builder() {
    return new Builder();
  }

  /** Configures an {@link Idempotency}. */
  final class Builder {

    private @Nullable ConnectionProvider connectionProvider;
    private @Nullable OutboxDialect dialect;
    private OutboxTable table = OutboxTable.of(IdempotencyDefaults.KEY_TABLE);
    private Duration ttl = IdempotencyDefaults.KEY_TTL;
    private Duration lockTimeout = IdempotencyDefaults.LOCK_TIMEOUT;
    private ResultCodec codec = ResultCodec.json();
    private Clock clock = Clock.systemUTC();
    private MeterRegistry meterRegistry = Metrics.globalRegistry;

    private Builder() {}

    /**
     * How to join the caller's transaction. Required.
     *
     * @param connectionProvider the binding, e.g. Spring's
     */
    public Builder connectionProvider(ConnectionProvider connectionProvider) {
      this.connectionProvider = Objects.requireNonNull(connectionProvider, "connectionProvider");
      return this;
    }

    /**
     * The database's dialect. Required.
     *
     * @param dialect the dialect
     */
    public Builder dialect(OutboxDialect dialect) {
      this.dialect = Objects.requireNonNull(dialect, "dialect");
      return this;
    }

    /**
     * The key table. Default: {@value IdempotencyDefaults#KEY_TABLE}.
     *
     * @param table the table
     */
    public Builder table(OutboxTable table) {
      this.table = Objects.requireNonNull(table, "table");
      return this;
    }

    /**
     * How long a key is remembered. Default: 24 hours. After that the same key runs the work again.
     *
     * @param ttl positive
     */
    public Builder ttl(Duration ttl) {
      this.ttl = positive("ttl", ttl);
      return this;
    }

    /**
     * How long a duplicate waits for a concurrent first attempt. Default: 5 seconds. Rounded up to
     * whole seconds on MySQL and MariaDB.
     *
     * @param lockTimeout positive
     */
    public Builder lockTimeout(Duration lockTimeout) {
      this.lockTimeout = positive("lockTimeout", lockTimeout);
      return this;
    }

    /**
     * How results are stored. Default: JSON.
     *
     * @param codec the codec
     */
    public Builder resultCodec(ResultCodec codec) {
      this.codec = Objects.requireNonNull(codec, "resultCodec");
      return this;
    }

    /**
     * The clock for creation and expiry times. Default: {@link Clock#systemUTC()}.
     *
     * @param clock the clock
     */
    public Builder clock(Clock clock) {
      this.clock = Objects.requireNonNull(clock, "clock");
      return this;
    }

    /**
     * Where the {@code idempotency.requests} counter goes. Default: Micrometer's global registry.
     *
     * @param meterRegistry the registry
     */
    public Builder meterRegistry(MeterRegistry meterRegistry) {
      this.meterRegistry = Objects.requireNonNull(meterRegistry, "meterRegistry");
      return this;
    }

    /**
     * Builds it. Does no I/O.
     *
     * @throws IllegalStateException when a required option is missing
     */
    public Idempotency build() {
      if (connectionProvider == null || dialect == null) {
        throw new IllegalStateException(
            "Idempotency.builder() needs a connectionProvider and a dialect");
      }
      return new DefaultIdempotency(
          connectionProvider,
          IdempotencySql.of(dialect, table),
          ttl,
          lockTimeout,
          codec,
          clock,
          meterRegistry);
    }

    static Duration positive(String option, Duration value) {
      if (value == null || value.isNegative() || value.isZero()) {
        throw new IllegalArgumentException(option + " must be positive but was " + value);
      }
      return value;
    }
  }
}
