package dev.outboxkit.outbox.jdbc;

import dev.outboxkit.outbox.NoActiveTransactionException;
import dev.outboxkit.outbox.OutboxStoreException;
import dev.outboxkit.outbox.spi.ConnectionProvider;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import javax.sql.DataSource;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Transactions over a {@link DataSource} for applications without a transaction framework, and the
 * {@link ConnectionProvider} that lets an outbox join them.
 *
 * <pre>{@code
 * JdbcTransactions tx = JdbcTransactions.of(dataSource);
 * Outbox outbox = Outbox.builder().connectionProvider(tx).dialect(OutboxDialect.postgresql()).build();
 *
 * tx.execute(connection -> {
 *   insertPayment(connection, payment);
 *   outbox.append("Payment", payment.id(), "PaymentAuthorized", payment);
 * });
 * }</pre>
 *
 * <p>The transaction's connection is bound to the calling thread for the duration of the work. A
 * nested call on the same thread joins the outer transaction. The work's exceptions roll the
 * transaction back and reach the caller unchanged ({@link SQLException}s wrapped in {@link
 * OutboxStoreException}). Thread-safe.
 */
public final class JdbcTransactions implements ConnectionProvider {

  private static final Logger log = LoggerFactory.getLogger(JdbcTransactions.class);

  private final DataSource dataSource;
  private final ThreadLocal<@Nullable Bound> current = new ThreadLocal<>();

  private JdbcTransactions(DataSource dataSource) {
    this.dataSource = dataSource;
  }

  /**
   * Transactions on a data source.
   *
   * @param dataSource the data source; connections are taken per transaction and closed after it
   */
  public static JdbcTransactions of(DataSource dataSource) {
    return new JdbcTransactions(Objects.requireNonNull(dataSource, "dataSource"));
  }

  /**
   * Runs work in a transaction and returns its result: commit when it returns, rollback when it
   * throws.
   *
   * @param work the work, given the transaction's connection; it must not commit or close it
   */
  public <T> T inTransaction(ConnectionCallback<T> work) {
    Bound outer = current.get();
    if (outer != null) {
      return run(work, outer.connection);
    }
    try (Connection connection = dataSource.getConnection()) {
      boolean autoCommit = connection.getAutoCommit();
      connection.setAutoCommit(false);
      Bound bound = new Bound(connection);
      current.set(bound);
      T result;
      try {
        result = run(work, connection);
        connection.commit();
      } catch (Throwable e) { // also checked exceptions thrown sneakily (e.g. from Kotlin)
        rollback(connection, e);
        throw e;
      } finally {
        current.remove();
        restoreAutoCommit(connection, autoCommit);
      }
      bound.afterCommit.forEach(JdbcTransactions::runCallback);
      return result;
    } catch (SQLException e) {
      throw new OutboxStoreException("Transaction failed", e);
    }
  }

  /**
   * Restores the connection's auto-commit mode for the pool. Never throws: after a commit, a
   * failure here must not turn success into an error (and a retry into a duplicate).
   */
  private static void restoreAutoCommit(Connection connection, boolean autoCommit) {
    try {
      connection.setAutoCommit(autoCommit);
    } catch (SQLException e) {
      log.warn("Could not restore auto-commit on a connection after a transaction", e);
    }
  }

  /**
   * Runs work in a transaction: commit when it returns, rollback when it throws.
   *
   * @param work the work, given the transaction's connection; it must not commit or close it
   */
  public void execute(ConnectionAction work) {
    inTransaction(
        connection -> {
          work.accept(connection);
          return null;
        });
  }

  @Override
  public <T> T withTransactionConnection(ConnectionCallback<T> work) throws SQLException {
    Bound bound = current.get();
    if (bound == null) {
      throw new NoActiveTransactionException(
          "No transaction is active on this thread: call the outbox inside"
              + " JdbcTransactions.execute(...) or inTransaction(...)");
    }
    return work.apply(bound.connection);
  }

  @Override
  public void afterCommit(Runnable callback) {
    Bound bound = current.get();
    if (bound == null) {
      throw new NoActiveTransactionException("No transaction is active on this thread");
    }
    bound.afterCommit.add(callback);
  }

  private static <T> T run(ConnectionCallback<T> work, Connection connection) {
    try {
      return work.apply(connection);
    } catch (SQLException e) {
      throw new OutboxStoreException("Transaction work failed", e);
    }
  }

  private static void rollback(Connection connection, Throwable failure) {
    try {
      connection.rollback();
    } catch (SQLException e) {
      failure.addSuppressed(e);
    }
  }

  private static void runCallback(Runnable callback) {
    try {
      callback.run();
    } catch (RuntimeException e) {
      log.warn("An after-commit callback failed; the transaction is committed", e);
    }
  }

  /** Work with a transaction's connection that returns nothing. */
  @FunctionalInterface
  public interface ConnectionAction {

    /**
     * @param connection the transaction's connection; do not commit or close it
     * @throws SQLException to roll the transaction back
     */
    void accept(Connection connection) throws SQLException;
  }

  private static final class Bound {
    final Connection connection;
    final List<Runnable> afterCommit = new ArrayList<>();

    Bound(Connection connection) {
      this.connection = connection;
    }
  }
}
