package dev.outboxkit.idempotency.internal;

import dev.outboxkit.outbox.spi.ConnectionProvider;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Savepoint;
import java.sql.Statement;

/**
 * Makes claiming a key and running its work one unit inside the caller's transaction.
 *
 * <p>Without it, work that throws would leave its partial writes in the caller's transaction; a
 * caller that catches the exception and commits would keep half the work while the key is gone, and
 * the retry would run it again. A savepoint taken before the claim lets us undo exactly the claim
 * and the work's SQL on any failure, while the caller's own writes, before and after, stay; on
 * PostgreSQL it also keeps the caller's transaction usable after a failed statement.
 *
 * <p>Each savepoint is announced to the {@link ConnectionProvider} ({@link
 * ConnectionProvider#savepointSet}, {@link ConnectionProvider#rolledBackToSavepoint}): outbox
 * events the work appended and an outbox holds for the commit are then dropped with the work's SQL.
 */
final class Savepoints {

  /** Work that may throw {@link SQLException}. */
  @FunctionalInterface
  interface SqlWork<T> {
    T run() throws SQLException;
  }

  /**
   * A savepoint no bound state has seen: by the {@code TransactionBound} contract, rolling back to
   * it drops everything held in the transaction, as the server's rollback of the whole transaction
   * (a deadlock, a lock timeout with {@code innodb_rollback_on_timeout}) did to its rows.
   */
  private static final Object WHOLE_TRANSACTION = new Object();

  private Savepoints() {}

  /**
   * Runs {@code work} inside a savepoint: released when it returns, rolled back to when it throws
   * (the exception then reaches the caller unchanged).
   */
  static <T> T around(Connection connection, ConnectionProvider connections, SqlWork<T> work)
      throws SQLException {
    return around(connection, connections, true, work);
  }

  /**
   * Runs {@code work} inside a savepoint: rolled back to when it throws (the exception then reaches
   * the caller unchanged); when it returns, released if {@code release}, else left to end with the
   * transaction (see {@link DialectSupport#savepointNeedsRelease()}: one round trip fewer).
   */
  static <T> T around(
      Connection connection, ConnectionProvider connections, boolean release, SqlWork<T> work)
      throws SQLException {
    Savepoint savepoint = connection.setSavepoint();
    connections.savepointSet(savepoint);
    T result;
    try {
      result = work.run();
    } catch (DialectSupport.TransactionLostException e) {
      // The server rolled the whole transaction back; the savepoint went with it, and so did
      // everything the transaction wrote before: events held for its commit must go too.
      connections.rolledBackToSavepoint(WHOLE_TRANSACTION);
      throw e;
    } catch (SQLException | RuntimeException | Error e) {
      connections.rolledBackToSavepoint(savepoint);
      try {
        connection.rollback(savepoint);
      } catch (SQLException rollbackFailed) {
        // E.g. a deadlock inside the work: MySQL/MariaDB already rolled the whole transaction
        // back, so nothing of the work survives; the original exception says why.
        e.addSuppressed(rollbackFailed);
      }
      throw e;
    }
    if (release) {
      connection.releaseSavepoint(savepoint);
    }
    return result;
  }

  /**
   * A savepoint whose {@code SAVEPOINT} and {@code RELEASE SAVEPOINT} ride along with the work's
   * first and last statements, for a driver that sends the statements of one string in one round
   * trip ({@link DialectSupport#sendsStatementsTogether()}): two round trips fewer than {@link
   * #around}, with the same effect.
   */
  static final class Piggyback {

    private static final String NAME = "outboxkit_idempotency";

    private boolean begun;
    private boolean released;

    /** The statement that takes the savepoint; the work sends it before its first statement. */
    String begin() {
      begun = true;
      return "SAVEPOINT " + NAME;
    }

    /** The statement that releases the savepoint; the work sends it after its last statement. */
    String release() {
      return "RELEASE SAVEPOINT " + NAME;
    }

    /** Tells that the statement carrying {@link #release()} succeeded. */
    void released() {
      released = true;
    }
  }

  /** Work that sends the statements of a {@link Piggyback} savepoint with its own. */
  @FunctionalInterface
  interface PiggybackWork<T> {
    T run(Piggyback savepoint) throws SQLException;
  }

  /**
   * Runs {@code work} inside a {@link Piggyback} savepoint: released (with the work's last
   * statement, or after it) when it returns, rolled back to when it throws.
   */
  static <T> T piggybacked(
      Connection connection, ConnectionProvider connections, PiggybackWork<T> work)
      throws SQLException {
    Piggyback savepoint = new Piggyback();
    // Announced before the work sends SAVEPOINT with its first statement; nothing is appended
    // in between.
    connections.savepointSet(savepoint);
    T result;
    try {
      result = work.run(savepoint);
    } catch (DialectSupport.TransactionLostException e) {
      connections.rolledBackToSavepoint(WHOLE_TRANSACTION);
      throw e;
    } catch (SQLException | RuntimeException | Error e) {
      if (savepoint.begun && !savepoint.released) {
        connections.rolledBackToSavepoint(savepoint);
        try (Statement undo = connection.createStatement()) {
          undo.execute(
              "ROLLBACK TO SAVEPOINT " + Piggyback.NAME + "; RELEASE SAVEPOINT " + Piggyback.NAME);
        } catch (SQLException rollbackFailed) {
          e.addSuppressed(rollbackFailed);
        }
      }
      throw e;
    }
    if (savepoint.begun && !savepoint.released) {
      try (Statement release = connection.createStatement()) {
        release.execute(savepoint.release());
      }
    }
    return result;
  }
}
