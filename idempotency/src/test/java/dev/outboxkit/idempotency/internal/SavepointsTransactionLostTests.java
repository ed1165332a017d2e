package dev.outboxkit.idempotency.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.outboxkit.outbox.spi.ConnectionProvider;
import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Savepoint;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Review finding: with deferred appends, events appended earlier in a transaction are held in
 * memory, not in the database. When MySQL/MariaDB rolls the whole transaction back while an
 * idempotency claim waits (deadlock, lock timeout with innodb_rollback_on_timeout=ON), {@link
 * Savepoints} rethrows {@link DialectSupport.TransactionLostException} without telling the
 * provider, so the held events survive the server-side rollback. A caller that catches the
 * resulting {@code IdempotencyKeyInFlightException} ("nothing ran. Retry later") and returns
 * normally commits: the held events are inserted in the connection's next (implicit) transaction
 * and published although the business writes made before them were rolled back. Without deferral
 * they were rolled back with the rest. No server: a fake connection and a provider whose bound
 * state follows the documented {@link ConnectionProvider.TransactionBound} contract.
 */
class SavepointsTransactionLostTests {

  /** Holds appended events as HeldAppends does: a mark per savepoint seen, restored on rollback. */
  static final class Held implements ConnectionProvider.TransactionBound {
    final List<String> held = new ArrayList<>();
    final Map<Object, List<String>> marks = new IdentityHashMap<>();

    @Override
    public void beforeCommit() {}

    @Override
    public void savepointSet(Object savepoint) {
      marks.put(savepoint, List.copyOf(held));
    }

    @Override
    public void rolledBackToSavepoint(Object savepoint) {
      List<String> mark = marks.get(savepoint);
      held.clear();
      if (mark != null) {
        held.addAll(mark);
      }
    }
  }

  static final class Provider implements ConnectionProvider {
    final Held state = new Held();

    @Override
    public <T> T withTransactionConnection(ConnectionCallback<T> work) {
      throw new UnsupportedOperationException();
    }

    @Override
    public void savepointSet(Object savepoint) {
      state.savepointSet(savepoint);
    }

    @Override
    public void rolledBackToSavepoint(Object savepoint) {
      state.rolledBackToSavepoint(savepoint);
    }
  }

  private static Connection connection() {
    Savepoint savepoint =
        (Savepoint)
            Proxy.newProxyInstance(
                Savepoint.class.getClassLoader(),
                new Class<?>[] {Savepoint.class},
                (proxy, method, args) -> {
                  throw new UnsupportedOperationException(method.getName());
                });
    return (Connection)
        Proxy.newProxyInstance(
            Connection.class.getClassLoader(),
            new Class<?>[] {Connection.class},
            (proxy, method, args) ->
                switch (method.getName()) {
                  case "setSavepoint" -> savepoint;
                  case "rollback", "releaseSavepoint" -> null;
                  default -> throw new UnsupportedOperationException(method.getName());
                });
  }

  @Test
  void aTransactionTheServerRolledBackKeepsNoHeldEvent() {
    Provider provider = new Provider();
    // Appended (and held) before the idempotent call, in the same transaction.
    provider.state.held.add("OrderPlaced");

    assertThatThrownBy(
            () ->
                Savepoints.around(
                    connection(),
                    provider,
                    () -> {
                      throw new DialectSupport.TransactionLostException(
                          new SQLException(
                              "Deadlock found when trying to get lock", "40001", 1213));
                    }))
        .isInstanceOf(DialectSupport.TransactionLostException.class);

    assertThat(provider.state.held)
        .as(
            "the server rolled the whole transaction back; an event still held is inserted by a"
                + " commit that follows")
        .isEmpty();
  }
}
