package dev.outboxkit.outbox;

import dev.outboxkit.outbox.internal.EventFactory;
import dev.outboxkit.outbox.internal.JdbcOutboxStore;
import dev.outboxkit.outbox.spi.ConnectionProvider;
import java.sql.SQLException;
import java.util.List;
import java.util.Objects;

/** The outbox: validate and build envelopes, then insert them with the transaction's connection. */
final class DefaultOutbox implements Outbox {

  private final ConnectionProvider connections;
  private final JdbcOutboxStore store;
  private final EventFactory events;
  private final List<Runnable> commitListeners;

  DefaultOutbox(
      ConnectionProvider connections,
      List<Runnable> commitListeners,
      JdbcOutboxStore store,
      EventFactory events) {
    this.connections = connections;
    this.commitListeners = commitListeners;
    this.store = store;
    this.events = events;
  }

  @Override
  public OutboxEvent append(OutboxMessage message) {
    return appendAll(List.of(Objects.requireNonNull(message, "message"))).get(0);
  }

  @Override
  public List<OutboxEvent> appendAll(List<OutboxMessage> messages) {
    Objects.requireNonNull(messages, "messages");
    if (messages.isEmpty()) {
      return List.of();
    }
    List<OutboxEvent> envelopes = events.create(messages);
    try {
      connections.withTransactionConnection(
          connection -> {
            if (connection.getAutoCommit()) {
              throw new NoActiveTransactionException(
                  "The outbox was given a connection in auto-commit mode, so its events would commit"
                      + " on their own. Append inside a transaction.");
            }
            int statements = store.insert(connection, envelopes);
            commitListeners.forEach(connections::afterCommit);
            return statements;
          });
    } catch (SQLException e) {
      throw new OutboxStoreException(
          "Could not insert " + envelopes.size() + " event(s) into " + store.table(), e);
    }
    return envelopes;
  }

  @Override
  public OutboxTable table() {
    return store.table();
  }

  @Override
  public String toString() {
    return "Outbox[table=" + store.table() + ", dialect=" + store.dialect() + "]";
  }
}
