package dev.outboxkit.spring;

import java.util.Objects;
import javax.sql.DataSource;
import org.jspecify.annotations.Nullable;
import org.springframework.transaction.TransactionExecution;
import org.springframework.transaction.TransactionExecutionListener;
import org.springframework.transaction.support.TransactionSynchronization;
import org.springframework.transaction.support.TransactionSynchronizationManager;

/**
 * The commit point of deferred outbox appends ({@code outbox.store.defer-appends}): registered on
 * the transaction manager (Spring Boot adds {@code TransactionExecutionListener} beans to the
 * transaction managers it configures; add it yourself to one you build with {@code addListener}),
 * it marks each new transaction of the outbox's {@link DataSource} as one whose appends may be
 * held, and inserts them in {@link #beforeCommit}.
 *
 * <p>Why a listener and not only a {@code TransactionSynchronization}: the listener's {@code
 * beforeCommit} runs after every synchronization's {@code beforeCommit} and {@code
 * beforeCompletion}, so events appended from a {@code @TransactionalEventListener(phase =
 * BEFORE_COMMIT)} are still inserted, even when they are the transaction's first; an exception
 * there rolls the transaction back and reaches the caller of the commit. A transaction that this
 * listener did not mark (a transaction manager without it) holds nothing: its appends are inserted
 * at once. Thread-safe.
 */
public final class OutboxTransactionListener implements TransactionExecutionListener {

  private final DataSource dataSource;

  /**
   * @param dataSource the data source whose transactions may hold outbox appends
   */
  public OutboxTransactionListener(DataSource dataSource) {
    this.dataSource = Objects.requireNonNull(dataSource, "dataSource");
  }

  @Override
  public void afterBegin(TransactionExecution transaction, @Nullable Throwable beginFailure) {
    if (beginFailure != null
        || !transaction.isNewTransaction()
        || transaction.isReadOnly()
        || !TransactionSynchronizationManager.isSynchronizationActive()) {
      return;
    }
    Object connection = TransactionSynchronizationManager.getResource(dataSource);
    if (connection == null) {
      return; // a transaction of another resource (Kafka, another DataSource)
    }
    CommitPoint point = new CommitPoint(key(dataSource), connection);
    TransactionSynchronizationManager.unbindResourceIfPossible(point.key);
    TransactionSynchronizationManager.bindResource(point.key, point);
    TransactionSynchronizationManager.registerSynchronization(point);
  }

  @Override
  public void beforeCommit(TransactionExecution transaction) {
    if (!transaction.isNewTransaction() || !covered(dataSource)) {
      return; // a nested (savepoint) commit: the enclosing transaction's commit inserts them
    }
    CommitPoint point =
        (CommitPoint) TransactionSynchronizationManager.getResource(key(dataSource));
    for (TransactionSynchronization synchronization :
        TransactionSynchronizationManager.getSynchronizations()) {
      if (synchronization instanceof SpringConnectionProvider.BoundState bound) {
        bound.state().beforeCommit();
      }
    }
    // Past this point nothing would flush a newly held event: an append made while the manager
    // commits (a JPA flush's entity callbacks) or after it (afterCommit) is inserted at once.
    if (point != null) {
      point.passed = true;
    }
  }

  /**
   * Whether the active transaction of this data source was marked by the listener and has not yet
   * passed its commit point.
   */
  static boolean covered(DataSource dataSource) {
    if (!(TransactionSynchronizationManager.getResource(key(dataSource))
        instanceof CommitPoint point)) {
      return false;
    }
    Object connection = TransactionSynchronizationManager.getResource(dataSource);
    return !point.passed && connection != null && connection == point.connection;
  }

  private static Key key(DataSource dataSource) {
    return new Key(dataSource);
  }

  /** The resource key of a data source's commit point. */
  private record Key(DataSource dataSource) {}

  /**
   * The mark of a covered transaction: unbound while the transaction is suspended and after it
   * ends, so an inner {@code REQUIRES_NEW} transaction is covered only if it was marked itself.
   */
  private static final class CommitPoint implements TransactionSynchronization {
    private final Key key;
    private final Object connection;

    /** Set once the commit point has flushed: later appends of the transaction are not held. */
    private boolean passed;

    CommitPoint(Key key, Object connection) {
      this.key = key;
      this.connection = connection;
    }

    @Override
    public void suspend() {
      TransactionSynchronizationManager.unbindResourceIfPossible(key);
    }

    @Override
    public void resume() {
      TransactionSynchronizationManager.bindResource(key, this);
    }

    @Override
    public void afterCompletion(int status) {
      TransactionSynchronizationManager.unbindResourceIfPossible(key);
    }
  }
}
