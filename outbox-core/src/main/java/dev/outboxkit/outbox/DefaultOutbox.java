package dev.outboxkit.outbox;

import dev.outboxkit.outbox.internal.EventFactory;
import dev.outboxkit.outbox.internal.HeldAppends;
import dev.outboxkit.outbox.internal.JdbcOutboxStore;
import dev.outboxkit.outbox.spi.ConnectionProvider;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * The outbox: validate and build envelopes, then insert them with the transaction's connection.
 *
 * <p>With {@code deferAppends}, and a {@link ConnectionProvider} that can run work before commit,
 * {@link #append} only validates and holds the event in the transaction's {@link HeldAppends}; they
 * are inserted together before the commit (see {@link Outbox.Builder#deferAppends}).
 */
final class DefaultOutbox implements Outbox {

  private final ConnectionProvider connections;
  private final JdbcOutboxStore store;
  private final EventFactory events;
  private final List<Runnable> commitListeners;
  private final boolean deferAppends;
  private final int heldRows;
  private final long heldBytes;

  /** The key of this outbox's held events in a transaction; one per outbox (per table). */
  private final Object heldKey = new Object();

  DefaultOutbox(
      ConnectionProvider connections,
      List<Runnable> commitListeners,
      JdbcOutboxStore store,
      EventFactory events,
      boolean deferAppends,
      int heldRows,
      long heldBytes) {
    this.connections = connections;
    this.commitListeners = commitListeners;
    this.store = store;
    this.events = events;
    this.deferAppends = deferAppends;
    this.heldRows = heldRows;
    this.heldBytes = heldBytes;
  }

  @Override
  public OutboxEvent append(OutboxMessage message) {
    return write(List.of(Objects.requireNonNull(message, "message")), true).get(0);
  }

  @Override
  public List<OutboxEvent> appendAll(List<OutboxMessage> messages) {
    Objects.requireNonNull(messages, "messages");
    if (messages.isEmpty()) {
      return List.of();
    }
    return write(messages, false);
  }

  @Override
  public void flush() {
    if (!deferAppends) {
      return;
    }
    transactional(
        connection -> {
          HeldAppends held = held();
          if (held != null) {
            held.flush();
          }
          return null;
        },
        0);
  }

  /**
   * Validates, then inserts at once or holds for the commit. {@code appendAll} inserts at once even
   * when deferring, after the events held before it, so order is kept and its errors still surface
   * at the call.
   */
  private List<OutboxEvent> write(List<OutboxMessage> messages, boolean mayHold) {
    List<OutboxEvent> envelopes = events.create(messages);
    transactional(
        connection -> {
          HeldAppends held = deferAppends ? held() : null;
          if (held == null || held.closed()) {
            store.insert(connection, envelopes);
            commitListeners.forEach(connections::afterCommit);
          } else {
            held.hold(envelopes);
            if (!mayHold) {
              held.flush();
            }
          }
          return null;
        },
        envelopes.size());
    return envelopes;
  }

  /** This outbox's held events in the active transaction, or null when it cannot hold them. */
  private @Nullable HeldAppends held() {
    return connections.bindToTransaction(
        heldKey,
        () -> {
          // Once per transaction, not once per held event.
          commitListeners.forEach(connections::afterCommit);
          return new HeldAppends(this::insertHeld, heldRows, heldBytes);
        });
  }

  private void insertHeld(List<OutboxEvent> held) {
    transactional(connection -> store.insert(connection, held), held.size());
  }

  private <T> T transactional(ConnectionProvider.ConnectionCallback<T> work, int events) {
    try {
      return connections.withTransactionConnection(
          connection -> {
            requireTransaction(connection);
            return work.apply(connection);
          });
    } catch (SQLException e) {
      throw new OutboxStoreException(
          "Could not insert " + events + " event(s) into " + store.table(), e);
    }
  }

  private static void requireTransaction(Connection connection) throws SQLException {
    if (connection.getAutoCommit()) {
      throw new NoActiveTransactionException(
          "The outbox was given a connection in auto-commit mode, so its events would commit"
              + " on their own. Append inside a transaction.");
    }
  }

  @Override
  public OutboxTable table() {
    return store.table();
  }

  @Override
  public String toString() {
    return "Outbox[table="
        + store.table()
        + ", dialect="
        + store.dialect()
        + (deferAppends ? ", deferAppends" : "")
        + "]";
  }
}
