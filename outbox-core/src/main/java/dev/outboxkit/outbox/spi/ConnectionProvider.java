package dev.outboxkit.outbox.spi;

import dev.outboxkit.outbox.NoActiveTransactionException;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;

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
   * Binds state to the transaction active on the calling thread, so the outbox can hold the events
   * of a transaction and insert them together just before it commits ({@link
   * dev.outboxkit.outbox.Outbox.Builder#deferAppends}).
   *
   * <p>Returns the state bound under {@code key} in this transaction, created with {@code factory}
   * on the first call. From then on the provider runs the state's callbacks: {@link
   * TransactionBound#beforeCommit} once, inside the transaction, before it commits; the savepoint
   * callbacks for every savepoint set or rolled back to in the transaction. A transaction suspended
   * for an inner one (e.g. Spring's {@code REQUIRES_NEW}) does not share its state with it.
   *
   * <p>The default returns {@code null}: the provider cannot run work before commit, so the outbox
   * writes at once. A provider that cannot see every savepoint of its transactions must return
   * {@code null} too.
   *
   * @param key identifies the state; compared by identity
   * @param factory creates the state on the first call in a transaction
   * @return the bound state, or {@code null} when this provider cannot hold state for the active
   *     transaction
   * @throws NoActiveTransactionException when no transaction is active on this thread
   * @since 0.2
   */
  default <S extends TransactionBound> @Nullable S bindToTransaction(
      Object key, Supplier<S> factory) {
    return null;
  }

  /**
   * Tells state bound to the active transaction that a savepoint is being set. Code that sets
   * savepoints on the transaction's connection itself (not through the transaction framework) calls
   * it, so events held for the commit are undone with a rollback to the savepoint. The default does
   * nothing.
   *
   * @param savepoint identifies the savepoint; compared by identity
   * @since 0.2
   */
  default void savepointSet(Object savepoint) {}

  /**
   * Tells state bound to the active transaction that the transaction is being rolled back to a
   * savepoint announced with {@link #savepointSet}. The default does nothing.
   *
   * @param savepoint the savepoint
   * @since 0.2
   */
  default void rolledBackToSavepoint(Object savepoint) {}

  /**
   * State bound to one transaction with {@link #bindToTransaction}, and the callbacks a provider
   * runs on it, on the transaction's thread.
   *
   * @since 0.2
   */
  interface TransactionBound {

    /**
     * Runs once just before the transaction commits, inside it. An exception rolls the transaction
     * back and reaches the caller of the commit. Never runs when the transaction rolls back.
     */
    void beforeCommit();

    /**
     * A savepoint was set in the transaction.
     *
     * @param savepoint identifies it; compared by identity
     */
    void savepointSet(Object savepoint);

    /**
     * The transaction is being rolled back to a savepoint.
     *
     * @param savepoint the savepoint; one this state has not seen was set before the state existed
     */
    void rolledBackToSavepoint(Object savepoint);

    /**
     * The transaction's owner asked to flush pending work to the database now (Spring's {@code
     * TransactionStatus.flush()} under a JDBC transaction manager), so the transaction's own
     * queries see it. An exception reaches that caller. The default does nothing.
     *
     * @since 0.9
     */
    default void flush() {}
  }

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
