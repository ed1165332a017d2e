package dev.outboxkit.spring;

import dev.outboxkit.outbox.NoActiveTransactionException;
import dev.outboxkit.outbox.spi.ConnectionProvider;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.Objects;
import java.util.function.Consumer;
import java.util.function.Supplier;
import javax.sql.DataSource;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.jdbc.datasource.DataSourceUtils;
import org.springframework.transaction.support.TransactionSynchronization;
import org.springframework.transaction.support.TransactionSynchronizationManager;

/**
 * Joins the Spring-managed transaction: the outbox gets the very connection that {@code
 * JdbcTemplate}, JPA/Hibernate (through {@code JpaTransactionManager}) and jOOQ use in the same
 * transaction, so events commit and roll back with them.
 *
 * <p>Works with any transaction manager that binds the {@link DataSource}'s connection to the
 * thread ({@code DataSourceTransactionManager}, {@code JdbcTransactionManager}, {@code
 * JpaTransactionManager}). Thread-safe.
 *
 * <p>State bound with {@link #bindToTransaction} (an outbox's deferred appends) is a transaction
 * resource with a {@link TransactionSynchronization}: Spring's savepoint callbacks ({@code NESTED}
 * propagation, {@code TransactionStatus.createSavepoint}) reach it, and it is unbound while its
 * transaction is suspended and after completion. Its {@code beforeCommit} is run by the {@link
 * OutboxTransactionListener}, so only transactions that listener marked get state; all others
 * (read-only ones, ones of a transaction manager without the listener) get none, and their appends
 * are inserted at once.
 */
public final class SpringConnectionProvider implements ConnectionProvider {

  private static final Logger log = LoggerFactory.getLogger(SpringConnectionProvider.class);

  private final DataSource dataSource;

  /**
   * @param dataSource the data source whose transactions the outbox joins
   */
  public SpringConnectionProvider(DataSource dataSource) {
    this.dataSource = Objects.requireNonNull(dataSource, "dataSource");
  }

  @Override
  public <T> T withTransactionConnection(ConnectionCallback<T> work) throws SQLException {
    if (!TransactionSynchronizationManager.isActualTransactionActive()) {
      throw new NoActiveTransactionException(
          "No Spring transaction is active: append to the outbox from a @Transactional method or"
              + " inside TransactionTemplate.execute(...), so the events commit with your data");
    }
    // The transaction manager binds the DataSource's connection when the transaction begins. If
    // nothing is bound, the active transaction belongs to another manager (Kafka, JTA, a second
    // DataSource): DataSourceUtils would hand out a fresh connection that nobody commits.
    if (!TransactionSynchronizationManager.hasResource(dataSource)) {
      throw new NoActiveTransactionException(
          "A transaction is active, but not on the outbox's DataSource: run the outbox in a"
              + " transaction of that DataSource's transaction manager (e.g."
              + " @Transactional(transactionManager = \"...\"))");
    }
    Connection connection = DataSourceUtils.getConnection(dataSource);
    try {
      return work.apply(connection);
    } finally {
      DataSourceUtils.releaseConnection(connection, dataSource);
    }
  }

  @Override
  public void afterCommit(Runnable callback) {
    if (!TransactionSynchronizationManager.isSynchronizationActive()) {
      throw new NoActiveTransactionException("No Spring transaction synchronization is active");
    }
    TransactionSynchronizationManager.registerSynchronization(
        new TransactionSynchronization() {
          @Override
          public void afterCommit() {
            try {
              callback.run();
            } catch (RuntimeException e) {
              log.warn("An outbox after-commit callback failed; the transaction is committed", e);
            }
          }
        });
  }

  @Override
  public <S extends TransactionBound> @Nullable S bindToTransaction(
      Object key, Supplier<S> factory) {
    if (!TransactionSynchronizationManager.isSynchronizationActive()
        || !TransactionSynchronizationManager.isActualTransactionActive()
        || TransactionSynchronizationManager.isCurrentTransactionReadOnly()
        || !OutboxTransactionListener.covered(dataSource)) {
      return null;
    }
    @SuppressWarnings("unchecked")
    S bound = (S) TransactionSynchronizationManager.getResource(key);
    if (bound != null) {
      return bound;
    }
    S created = factory.get();
    TransactionSynchronizationManager.bindResource(key, created);
    TransactionSynchronizationManager.registerSynchronization(new BoundState(key, created));
    return created;
  }

  @Override
  public void savepointSet(Object savepoint) {
    forEachBound(state -> state.savepointSet(savepoint));
  }

  @Override
  public void rolledBackToSavepoint(Object savepoint) {
    forEachBound(state -> state.rolledBackToSavepoint(savepoint));
  }

  /** Only our own states: other synchronizations never hear of savepoints Spring did not set. */
  private static void forEachBound(Consumer<TransactionBound> action) {
    if (!TransactionSynchronizationManager.isSynchronizationActive()) {
      return;
    }
    for (TransactionSynchronization synchronization :
        TransactionSynchronizationManager.getSynchronizations()) {
      if (synchronization instanceof BoundState bound) {
        action.accept(bound.state);
      }
    }
  }

  /**
   * Runs a bound state's savepoint callbacks and keeps it bound to its own transaction only; the
   * {@link OutboxTransactionListener} runs its {@code beforeCommit}.
   */
  static final class BoundState implements TransactionSynchronization {
    private final Object key;
    private final TransactionBound state;

    BoundState(Object key, TransactionBound state) {
      this.key = key;
      this.state = state;
    }

    @Override
    public void suspend() {
      TransactionSynchronizationManager.unbindResourceIfPossible(key);
    }

    @Override
    public void resume() {
      TransactionSynchronizationManager.bindResource(key, state);
    }

    TransactionBound state() {
      return state;
    }

    @Override
    public void savepoint(Object savepoint) {
      state.savepointSet(savepoint);
    }

    @Override
    public void savepointRollback(Object savepoint) {
      state.rolledBackToSavepoint(savepoint);
    }

    /**
     * {@code TransactionStatus.flush()}: a JDBC transaction manager flushes its synchronizations,
     * so held events are inserted and the transaction's queries see them. (A JPA manager flushes
     * only its EntityManager; {@code Outbox.flush()} works under any manager.)
     */
    @Override
    public void flush() {
      state.flush();
    }

    @Override
    public void afterCompletion(int status) {
      TransactionSynchronizationManager.unbindResourceIfPossible(key);
    }
  }
}
