package dev.outboxkit.idempotency;

import dev.outboxkit.idempotency.internal.DefaultInbox;
import dev.outboxkit.idempotency.internal.InboxSql;
import dev.outboxkit.outbox.NoActiveTransactionException;
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
 * Makes a message consumer effectively-once: each message id is recorded in the inbox table in the
 * same transaction as the handler's writes, and a message whose id is already there is skipped.
 *
 * <pre>{@code
 * @KafkaListener(topics = "payment-events")
 * @Transactional
 * public void on(ConsumerRecord<String, byte[]> record) {
 *   kafkaInbox.process(record, r -> ledger.book(parse(r.value())));
 * }
 * }</pre>
 *
 * <p>At-least-once delivery plus this gives exactly-once effects: a redelivery after a crash, a
 * rebalance or a relay retry finds its id and does nothing. Duplicates are logged at DEBUG and
 * counted as {@code outbox.inbox.duplicates}. A handler that throws leaves no id behind.
 * Thread-safe.
 */
public interface Inbox {

  /**
   * Runs {@code handler} unless this consumer processed {@code messageId} before.
   *
   * @param consumer who processes, e.g. the service or listener name; ids are unique per consumer
   * @param messageId the message id, e.g. the {@code outbox-event-id} header; 1 to 255 characters
   * @param handler the handling, in the caller's transaction
   * @return {@code true} when the handler ran, {@code false} for a duplicate
   * @throws NoActiveTransactionException when no transaction is active
   * @throws IdempotencyKeyInFlightException when a concurrent consumer holds the same message past
   *     the lock timeout (a rebalance overlap); the message will be redelivered
   */
  boolean process(String consumer, String messageId, Runnable handler);

  /** A builder; {@link Builder#connectionProvider} and {@link Builder#dialect} are required. */
  static Builder builder() {
    return new Builder();
  }

  /** Configures an {@link Inbox}. */
  final class Builder {
    private @Nullable ConnectionProvider connectionProvider;
    private @Nullable OutboxDialect dialect;
    private OutboxTable table = OutboxTable.of(IdempotencyDefaults.INBOX_TABLE);
    private Duration ttl = IdempotencyDefaults.INBOX_TTL;
    private Duration lockTimeout = IdempotencyDefaults.LOCK_TIMEOUT;
    private Clock clock = Clock.systemUTC();
    private MeterRegistry meterRegistry = Metrics.globalRegistry;

    private Builder() {}

    /**
     * How to join the caller's transaction. Required.
     *
     * @param connectionProvider the binding
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
     * The inbox table. Default: {@value IdempotencyDefaults#INBOX_TABLE}.
     *
     * @param table the table
     */
    public Builder table(OutboxTable table) {
      this.table = Objects.requireNonNull(table, "table");
      return this;
    }

    /**
     * How long a processed id is remembered. Default: 7 days; keep it longer than the topic's
     * retention plus any replay you might do.
     *
     * @param ttl positive
     */
    public Builder ttl(Duration ttl) {
      this.ttl = Idempotency.Builder.positive("ttl", ttl);
      return this;
    }

    /**
     * How long to wait for a concurrent consumer holding the same id. Default: 5 seconds.
     *
     * @param lockTimeout positive
     */
    public Builder lockTimeout(Duration lockTimeout) {
      this.lockTimeout = Idempotency.Builder.positive("lockTimeout", lockTimeout);
      return this;
    }

    /**
     * The clock. Default: {@link Clock#systemUTC()}.
     *
     * @param clock the clock
     */
    public Builder clock(Clock clock) {
      this.clock = Objects.requireNonNull(clock, "clock");
      return this;
    }

    /**
     * Where {@code outbox.inbox.duplicates} is counted. Default: Micrometer's global registry.
     *
     * @param meterRegistry the registry
     */
    public Builder meterRegistry(MeterRegistry meterRegistry) {
      this.meterRegistry = Objects.requireNonNull(meterRegistry, "meterRegistry");
      return this;
    }

    /** Builds it. Does no I/O. */
    public Inbox build() {
      if (connectionProvider == null || dialect == null) {
        throw new IllegalStateException("Inbox.builder() needs a connectionProvider and a dialect");
      }
      return new DefaultInbox(
          connectionProvider, InboxSql.of(dialect, table), ttl, lockTimeout, clock, meterRegistry);
    }
  }
}
