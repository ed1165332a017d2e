package dev.outboxkit.idempotency;

import dev.outboxkit.idempotency.internal.DefaultInbox;
import dev.outboxkit.idempotency.internal.InboxSql;
import dev.outboxkit.outbox.NoActiveTransactionException;
import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.spi.ConnectionProvider;
import java.util.Objects;

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
 * counted as {@code outbox.inbox.duplicates}. A handler that throws leaves neither its id nor its
 * SQL writes: claim and handler run inside a savepoint that is rolled back before the exception
 * reaches the caller, so a caller that catches and commits keeps none of the failed handling, and
 * the redelivery handles the message afresh. Thread-safe.
 */
public interface Inbox {

  /**
   * Runs {@code handler} unless this consumer processed {@code messageId} before.
   *
   * @param consumer who processes, e.g. the service or listener name; ids are unique per consumer
   * @param messageId the message id, e.g. the {@code outbox-event-id} header; 1 to 255 characters
   * @param handler the handling, in the caller's transaction
   * @return {@code true} when the handler ran, {@code false} for a duplicate
   * @throws RuntimeException what the handler threw, after its writes and the id were rolled back
   *     to a savepoint
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
  final class Builder extends KeyTableBuilder<Builder> {

    private Builder() {
      super(OutboxTable.of(IdempotencyDefaults.INBOX_TABLE), IdempotencyDefaults.INBOX_TTL);
    }

    /**
     * Builds it. Does no I/O.
     *
     * @throws IllegalStateException when a required option is missing
     */
    public Inbox build() {
      ConnectionProvider connections = requiredConnectionProvider("Inbox.builder()");
      return new DefaultInbox(
          connections,
          InboxSql.of(Objects.requireNonNull(dialect), table),
          ttl,
          lockTimeout,
          clock,
          meterRegistry);
    }
  }
}
