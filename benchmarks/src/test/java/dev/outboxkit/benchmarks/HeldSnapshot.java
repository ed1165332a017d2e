package dev.outboxkit.benchmarks;

import dev.outboxkit.test.TestDatabase;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * Another session holding a {@code REPEATABLE READ} snapshot on PostgreSQL, as a long analytics
 * query or a forgotten {@code BEGIN} in psql does: while it is open, no row deleted after it was
 * taken can be vacuumed, and no index entry of such a row can be marked dead, so every index scan
 * over the head of the pending rows visits them all again. Closing it ends the transaction.
 */
final class HeldSnapshot implements AutoCloseable {

  private final Connection connection;

  private HeldSnapshot(Connection connection) {
    this.connection = connection;
  }

  /** Takes the snapshot now (the first statement of the transaction takes it). */
  static HeldSnapshot take(TestDatabase db) throws SQLException {
    Connection c = db.dataSource().getConnection();
    try {
      c.setAutoCommit(false);
      c.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
      try (Statement s = c.createStatement();
          ResultSet rs = s.executeQuery("SELECT COUNT(*) FROM outbox_event WHERE seq < 0")) {
        rs.next();
      }
      return new HeldSnapshot(c);
    } catch (SQLException | RuntimeException e) {
      c.close();
      throw e;
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
