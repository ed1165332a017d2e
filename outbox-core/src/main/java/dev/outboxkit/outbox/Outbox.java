package dev.outboxkit.outbox;

import static dev.outboxkit.outbox.OptionChecks.between;

import dev.outboxkit.outbox.internal.EventFactory;
import dev.outboxkit.outbox.internal.JdbcOutboxStore;
import dev.outboxkit.outbox.spi.ConnectionProvider;
import dev.outboxkit.outbox.spi.HeaderContributor;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.outbox.spi.PayloadCodec;
import dev.outboxkit.outbox.spi.PayloadSerializer;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * Appends events to the outbox table inside the caller's database transaction. A relay publishes
 * them to Kafka after they commit; events of a rolled-back transaction never existed.
 *
 * <pre>{@code
 * @Transactional
 * public Payment authorize(AuthorizePayment command) {
 *   Payment payment = payments.save(Payment.authorize(command));
 *   outbox.append("Payment", payment.id(), "PaymentAuthorized", new PaymentAuthorized(payment));
 *   return payment;
 * }
 * }</pre>
 *
 * <p><b>Transactions.</b> Every call joins the transaction active on the calling thread through the
 * {@link ConnectionProvider}, and throws {@link NoActiveTransactionException} when there is none:
 * the outbox never commits on its own. <b>Validation.</b> Events are checked and serialized before
 * anything is written; a bad one throws {@link InvalidEventException} and leaves the transaction
 * untouched. <b>Deferred appends.</b> With {@link Builder#deferAppends(boolean)}, {@link
 * #append(OutboxMessage)} validates the event at once but inserts the events of a transaction
 * together, just before it commits. <b>Threads.</b> Instances are thread-safe; create one per table
 * and share it.
 */
public interface Outbox {

  /**
   * Appends one event in the active transaction.
   *
   * @param message the event, never {@code null}
   * @return the stored envelope, with its id, timestamp and partition
   * @throws InvalidEventException when the event is invalid; nothing was written
   * @throws NoActiveTransactionException when no transaction is active
   * @throws OutboxStoreException when the database refused the insert; roll the transaction back.
   *     With {@link Builder#deferAppends(boolean) deferred appends} the insert may come later, so
   *     this may also come from a later {@code append}, {@code appendAll} or {@link #flush()}, or
   *     from the commit (which then rolls the transaction back)
   */
  OutboxEvent append(OutboxMessage message);

  /**
   * Appends one event without headers or tenant; see {@link #append(OutboxMessage)}.
   *
   * @param aggregateType routes to a topic, e.g. {@code "Payment"}
   * @param aggregateId the Kafka key and ordering key
   * @param eventType what happened, e.g. {@code "PaymentAuthorized"}
   * @param payload the body (serialized to JSON by default), or {@code null} for a tombstone
   * @return the stored envelope
   */
  default OutboxEvent append(
      String aggregateType, String aggregateId, String eventType, @Nullable Object payload) {
    return append(OutboxMessage.of(aggregateType, aggregateId, eventType, payload));
  }

  /**
   * Appends events in the active transaction, in list order, with one multi-row insert per {@link
   * Builder#insertBatchSize(int) batch}: a thousand events cost one round trip, not a thousand. All
   * events are validated first; if one is invalid, none is written.
   *
   * @param messages the events, never {@code null}; empty does nothing
   * @return the stored envelopes, in the same order
   * @throws InvalidEventException listing every invalid event; nothing was written
   * @throws NoActiveTransactionException when no transaction is active
   * @throws OutboxStoreException when the database refused an insert; roll the transaction back
   */
  List<OutboxEvent> appendAll(List<OutboxMessage> messages);

  /**
   * Inserts the events this transaction appended and the outbox still holds ({@link
   * Builder#deferAppends(boolean)}), so that queries later in the transaction see their rows. Does
   * nothing when appends are not deferred or nothing is held.
   *
   * @throws NoActiveTransactionException when appends are deferred and no transaction is active
   * @throws OutboxStoreException when the database refused the insert; roll the transaction back
   * @since 0.2
   */
  default void flush() {}

  /** The table this outbox writes to. */
  OutboxTable table();

  /** A builder; {@link Builder#connectionProvider} and {@link Builder#dialect} are required. */
  static Builder builder() {
    return new Builder();
  }

  /**
   * Configures an {@link Outbox}. Options are checked when set, naming the option in the message;
   * the outbox copies them at {@link #build()}, so a builder can be reused.
   */
  final class Builder {

    private @Nullable ConnectionProvider connectionProvider;
    private @Nullable OutboxDialect dialect;
    private OutboxTable table = OutboxTable.DEFAULT;
    private PayloadSerializer serializer = PayloadSerializer.json();
    private final List<HeaderContributor> headerContributors = new ArrayList<>();
    private @Nullable PayloadCodec payloadCodec;
    private final List<Runnable> commitListeners = new ArrayList<>();
    private Clock clock = Clock.systemUTC();
    private int partitions = OutboxDefaults.PARTITIONS;
    private int insertBatchSize = OutboxDefaults.INSERT_BATCH_SIZE;
    private int insertBatchBytes = OutboxDefaults.INSERT_BATCH_BYTES;
    private int maxPayloadBytes = OutboxDefaults.MAX_PAYLOAD_BYTES;
    private int maxHeadersBytes = OutboxDefaults.MAX_HEADERS_BYTES;
    private boolean deferAppends;

    private Builder() {}

    /**
     * How to join the caller's transaction. Required.
     *
     * @param connectionProvider e.g. the Spring binding or {@link
     *     dev.outboxkit.outbox.jdbc.JdbcTransactions}
     */
    public Builder connectionProvider(ConnectionProvider connectionProvider) {
      this.connectionProvider = Objects.requireNonNull(connectionProvider, "connectionProvider");
      return this;
    }

    /**
     * The SQL dialect of the database. Required; {@link OutboxDialect#detect} finds it from a
     * connection.
     *
     * @param dialect the dialect
     */
    public Builder dialect(OutboxDialect dialect) {
      this.dialect = Objects.requireNonNull(dialect, "dialect");
      return this;
    }

    /**
     * The outbox table. Default: {@value OutboxDefaults#TABLE_NAME} in the default schema.
     *
     * @param table the table
     */
    public Builder table(OutboxTable table) {
      this.table = Objects.requireNonNull(table, "table");
      return this;
    }

    /**
     * How payload objects become bytes. Default: JSON with a default Jackson mapper. {@code byte[]}
     * and {@code String} payloads bypass it.
     *
     * @param serializer the serializer
     */
    public Builder serializer(PayloadSerializer serializer) {
      this.serializer = Objects.requireNonNull(serializer, "serializer");
      return this;
    }

    /**
     * Adds a source of headers for every event, e.g. trace context. Default: none.
     *
     * @param contributor the contributor; contributors run in the order added
     */
    public Builder headerContributor(HeaderContributor contributor) {
      headerContributors.add(Objects.requireNonNull(contributor, "headerContributor"));
      return this;
    }

    /**
     * Adds an action to run after each transaction that appended events has committed, never after
     * a rollback; for example {@code relay::wakeUp}, so a relay in the same JVM publishes at once
     * instead of at its next poll. It runs only when the {@link ConnectionProvider} can observe
     * commits ({@link ConnectionProvider#afterCommit}). Default: none.
     *
     * @param listener a short, non-blocking action; it runs on the committing thread, once per
     *     {@code append}/{@code appendAll} call (once per transaction when appends are {@link
     *     #deferAppends(boolean) deferred})
     * @since 0.1
     */
    public Builder commitListener(Runnable listener) {
      commitListeners.add(Objects.requireNonNull(listener, "commitListener"));
      return this;
    }

    /**
     * The clock for event timestamps and ids. Default: {@link Clock#systemUTC()}.
     *
     * @param clock the clock
     */
    public Builder clock(Clock clock) {
      this.clock = Objects.requireNonNull(clock, "clock");
      return this;
    }

    /**
     * The number of outbox partitions. Default: {@value OutboxDefaults#PARTITIONS}. Writers and
     * relays must agree on it.
     *
     * @param partitions 1 to {@value OutboxDefaults#MAX_PARTITIONS}
     */
    public Builder partitions(int partitions) {
      this.partitions = between("partitions", partitions, 1, OutboxDefaults.MAX_PARTITIONS);
      return this;
    }

    /**
     * The most rows per multi-row insert. Default: {@value OutboxDefaults#INSERT_BATCH_SIZE}. Also
     * capped by the dialect's bind-parameter limit.
     *
     * @param rows at least 1
     */
    public Builder insertBatchSize(int rows) {
      this.insertBatchSize = between("insertBatchSize", rows, 1, Integer.MAX_VALUE);
      return this;
    }

    /**
     * The most payload and header bytes per multi-row insert. Default: {@value
     * OutboxDefaults#INSERT_BATCH_BYTES}. A single larger event still gets its own insert.
     *
     * @param bytes at least 1
     */
    public Builder insertBatchBytes(int bytes) {
      this.insertBatchBytes = between("insertBatchBytes", bytes, 1, Integer.MAX_VALUE);
      return this;
    }

    /**
     * The largest serialized payload. Default: {@value OutboxDefaults#MAX_PAYLOAD_BYTES}. Keep it
     * below the Kafka producer's {@code max.request.size} and the topic's {@code
     * max.message.bytes}.
     *
     * @param bytes at least 1
     */
    public Builder maxPayloadBytes(int bytes) {
      this.maxPayloadBytes = between("maxPayloadBytes", bytes, 1, Integer.MAX_VALUE);
      return this;
    }

    /**
     * The largest total size of an event's headers, as stored (JSON, UTF-8). Default: {@value
     * OutboxDefaults#MAX_HEADERS_BYTES}.
     *
     * @param bytes 1 to {@value OutboxDefaults#MAX_HEADERS_BYTES_LIMIT}
     */
    public Builder maxHeadersBytes(int bytes) {
      this.maxHeadersBytes =
          between("maxHeadersBytes", bytes, 1, OutboxDefaults.MAX_HEADERS_BYTES_LIMIT);
      return this;
    }

    /**
     * Encodes (encrypts) every payload before its row is written, so the table, the database's
     * change log, Kafka and the dead-letter topic hold only what the codec produced. Default: none,
     * payloads are stored as serialized. Size limits apply to the payload before encoding.
     *
     * @param codec the codec, e.g. {@code TinkPayloadCodec}; not null
     * @return this builder
     * @since 0.1
     */
    public Builder payloadCodec(PayloadCodec codec) {
      this.payloadCodec = Objects.requireNonNull(codec, "payloadCodec");
      return this;
    }

    /**
     * Holds the events that {@link Outbox#append(OutboxMessage)} adds in a transaction and inserts
     * them together, in append order, with one multi-row insert just before the transaction
     * commits: one round trip per transaction instead of one per event. Default: {@code false}.
     *
     * <p>Only when the {@link ConnectionProvider} can run work before commit ({@link
     * ConnectionProvider#bindToTransaction}; the Spring binding can, {@link
     * dev.outboxkit.outbox.jdbc.JdbcTransactions} cannot); otherwise appends are inserted at once
     * as without this option. What stays the same: every event is validated at {@code append}, so
     * an invalid one throws there; events commit and roll back with the transaction; savepoints of
     * the transaction framework undo held events too. What changes:
     *
     * <ul>
     *   <li>a database error on the insert (a missing table, a refused privilege, a full disk)
     *       surfaces from the commit, which rolls the whole transaction back, or from a later
     *       {@code append} that fills one insert ({@link #insertBatchSize}, {@link
     *       #insertBatchBytes}) or from {@link Outbox#flush()};
     *   <li>queries in the same transaction see the rows only after {@link Outbox#flush()} (or, in
     *       Spring under a JDBC transaction manager, {@code TransactionStatus.flush()}; a JPA
     *       manager's flush reaches only its EntityManager);
     *   <li>{@link Outbox#appendAll} still inserts at its call, after the events held before it;
     *   <li>savepoints set directly on the JDBC connection are not seen: code that does so must
     *       tell the provider ({@link ConnectionProvider#savepointSet}), as OutboxKit's idempotency
     *       support does.
     * </ul>
     *
     * @param defer whether to hold appends until the commit
     * @return this builder
     * @since 0.2
     */
    public Builder deferAppends(boolean defer) {
      this.deferAppends = defer;
      return this;
    }

    /**
     * Builds the outbox. Does no I/O: the table is checked by {@link OutboxSchema#verify}.
     *
     * @throws IllegalStateException when a required option is missing
     */
    public Outbox build() {
      if (connectionProvider == null) {
        throw new IllegalStateException(
            "Outbox.builder() needs a connectionProvider: how to join the caller's transaction");
      }
      if (dialect == null) {
        throw new IllegalStateException(
            "Outbox.builder() needs a dialect, e.g. OutboxDialect.postgresql() or"
                + " OutboxDialect.detect(connection)");
      }
      return new DefaultOutbox(
          connectionProvider,
          List.copyOf(commitListeners),
          new JdbcOutboxStore(dialect, table, insertBatchSize, insertBatchBytes),
          new EventFactory(
              clock,
              serializer,
              headerContributors,
              partitions,
              maxPayloadBytes,
              maxHeadersBytes,
              payloadCodec),
          deferAppends,
          Math.min(insertBatchSize, dialect.maxRowsPerInsert()),
          insertBatchBytes);
    }
  }
}
