package dev.outboxkit.benchmarks;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import javax.sql.DataSource;

/**
 * Another session holding a {@code REPEATABLE READ} snapshot until closed, as a long analytics
 * query or a forgotten {@code BEGIN} in psql does: no row version deleted or updated after it was
 * taken can be removed by vacuum (the xmin horizon is held), though the session has no transaction
 * id of its own. Used by {@link DrainBenchmark} with {@code -Dbench.holdSnapshot=true}.
 */
final class HeldSnapshot implements AutoCloseable {

  private final Connection connection;

  HeldSnapshot(DataSource dataSource) throws SQLException {
    connection = dataSource.getConnection();
    connection.setAutoCommit(false);
    connection.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
    try (Statement s = connection.createStatement()) {
      s.execute("SELECT count(*) FROM pg_class"); // the first query takes the snapshot
    }
  }

  @Override
  public void close() throws SQLException {
    try {
      connection.rollback();
    } finally {
      connection.close();
    }
  }
}
