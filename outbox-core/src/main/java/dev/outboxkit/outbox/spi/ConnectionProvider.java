package dev.outboxkit.outbox.spi;

import dev.outboxkit.outbox.NoActiveTransactionException;
import java.sql.Connection;
import java.sql.SQLException;

/**
 * Gives the outbox the JDBC connection of the caller's active transaction, so events commit and
 * roll back together with the business data.
 *
 * <p>The Spring starter binds this to Spring's transaction management, so JdbcTemplate, JPA and
 * jOOQ callers share one transaction; {@link dev.outboxkit.outbox.jdbc.JdbcTransactions} does it
 * for plain JDBC. Implementations are thread-safe and never open a transaction of their own.
 */
public interface ConnectionProvider {

  /**
   * Runs {@code work} with the connection of the transaction active on the calling thread.
   *
   * <p>The connection stays owned by the transaction: {@code work} must not commit, roll back or
   * close it.
   *
   * @param work what to do with the connection
   * @return what {@code work} returned
   * @throws NoActiveTransactionException when no transaction is active on this thread
   * @throws SQLException when {@code work} throws it
   */
  <T> T withTransactionConnection(ConnectionCallback<T> work) throws SQLException;

  /**
   * Runs {@code callback} once the active transaction has committed; never when it rolls back. Used
   * to wake a relay in the same JVM without waiting for its next poll.
   *
   * <p>The default does nothing: a provider that cannot observe commits leaves the relay to its
   * polling.
   *
   * @param callback a short, non-blocking action; exceptions from it are logged, not thrown
   * @since 0.1
   */
  default void afterCommit(Runnable callback) {}

  /**
   * Work with a transaction's connection.
   *
   * @param <T> the result type
   */
  @FunctionalInterface
  interface ConnectionCallback<T> {

    /**
     * @param connection the transaction's connection; do not close it
     * @return the result
     * @throws SQLException passed on to the caller
     */
    T apply(Connection connection) throws SQLException;
  }
}
