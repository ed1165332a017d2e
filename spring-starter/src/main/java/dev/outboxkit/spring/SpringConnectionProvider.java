package dev.outboxkit.spring;

import dev.outboxkit.outbox.NoActiveTransactionException;
import dev.outboxkit.outbox.spi.ConnectionProvider;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.Objects;
import javax.sql.DataSource;
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
}
