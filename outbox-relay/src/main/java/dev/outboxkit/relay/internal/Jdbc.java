package dev.outboxkit.relay.internal;

import dev.outboxkit.outbox.OutboxStoreException;
import java.sql.Connection;
import java.sql.SQLException;
import javax.sql.DataSource;

/** Runs one unit of relay work on a pooled connection, in auto-commit or one transaction. */
public final class Jdbc {

  /** Work on a connection. */
  @FunctionalInterface
  public interface Work<T> {
    T apply(Connection connection) throws SQLException;
  }

  private final DataSource dataSource;

  public Jdbc(DataSource dataSource) {
    this.dataSource = dataSource;
  }

  /** Runs {@code work} with auto-commit on: each statement commits by itself. */
  public <T> T autoCommit(Work<T> work) throws SQLException {
    try (Connection c = dataSource.getConnection()) {
      if (!c.getAutoCommit()) {
        c.setAutoCommit(true);
      }
      return work.apply(c);
    }
  }

  /** Runs {@code work} in one transaction, rolled back when it throws. */
  public <T> T inTransaction(Work<T> work) throws SQLException {
    try (Connection c = dataSource.getConnection()) {
      boolean autoCommit = c.getAutoCommit();
      c.setAutoCommit(false);
      try {
        T result = work.apply(c);
        c.commit();
        return result;
      } catch (SQLException | RuntimeException | Error e) {
        try {
          c.rollback();
        } catch (SQLException rollback) {
          e.addSuppressed(rollback);
        }
        throw e;
      } finally {
        c.setAutoCommit(autoCommit);
      }
    }
  }

  /** Like {@link #autoCommit} for callers that cannot throw {@link SQLException}. */
  public <T> T unchecked(String what, Work<T> work) {
    try {
      return autoCommit(work);
    } catch (SQLException e) {
      throw new OutboxStoreException(what, e);
    }
  }
}
