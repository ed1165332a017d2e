package dev.outboxkit.idempotency.internal;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Savepoint;

/**
 * Makes claiming a key and running its work one unit inside the caller's transaction.
 *
 * <p>Without it, work that throws would leave its partial writes in the caller's transaction; a
 * caller that catches the exception and commits would keep half the work while the key is gone, and
 * the retry would run it again. A savepoint taken before the claim lets us undo exactly the claim
 * and the work's SQL on any failure, while the caller's own writes, before and after, stay; on
 * PostgreSQL it also keeps the caller's transaction usable after a failed statement.
 */
final class Savepoints {

  /** Work that may throw {@link SQLException}. */
  @FunctionalInterface
  interface SqlWork<T> {
    T run() throws SQLException;
  }

  private Savepoints() {}

  /**
   * Runs {@code work} inside a savepoint: released when it returns, rolled back to when it throws
   * (the exception then reaches the caller unchanged).
   */
  static <T> T around(Connection connection, SqlWork<T> work) throws SQLException {
    Savepoint savepoint = connection.setSavepoint();
    T result;
    try {
      result = work.run();
    } catch (DialectSupport.TransactionLostException e) {
      // The server rolled the whole transaction back; the savepoint went with it.
      throw e;
    } catch (SQLException | RuntimeException | Error e) {
      try {
        connection.rollback(savepoint);
      } catch (SQLException rollbackFailed) {
        // E.g. a deadlock inside the work: MySQL/MariaDB already rolled the whole transaction
        // back, so nothing of the work survives; the original exception says why.
        e.addSuppressed(rollbackFailed);
      }
      throw e;
    }
    connection.releaseSavepoint(savepoint);
    return result;
  }
}
