package dev.outboxkit.relay.internal;

import dev.outboxkit.outbox.OutboxStoreException;
import java.sql.Connection;
import java.sql.SQLException;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Runs one unit of relay work on a pooled connection, in auto-commit or one transaction. */
public final class Jdbc {

  private static final Logger log = LoggerFactory.getLogger(Jdbc.class);

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
      T result;
      try {
        result = work.apply(c);
        c.commit();
      } catch (SQLException | RuntimeException | Error e) {
        try {
          c.rollback();
        } catch (SQLException rollback) {
          e.addSuppressed(rollback);
        }
        try {
          c.setAutoCommit(autoCommit);
        } catch (SQLException restore) {
          // The connection died with the work: the work's failure is what the caller must see
          // (review14 finding 5); the pool discards the connection anyway.
          e.addSuppressed(restore);
        }
        throw e;
      }
      try {
        c.setAutoCommit(autoCommit);
      } catch (SQLException restore) {
        // The work committed (the COMMIT was answered): it must not be reported failed because the
        // session ended after it (MySQL's and MariaDB's drivers send "set autocommit" to the
        // server; review15). The pool discards a broken connection, and HikariCP resets the mode
        // of any connection it takes back.
        log.warn(
            "Committed, but could not restore the connection's auto-commit mode: {}",
            restore.toString());
      }
      return result;
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
