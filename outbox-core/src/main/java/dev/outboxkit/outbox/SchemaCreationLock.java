package dev.outboxkit.outbox;

import dev.outboxkit.outbox.spi.OutboxDialect;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Runs the automatic creation of tables under one database-wide lock, so that instances starting at
 * the same time (the replicas of a deployment, a rolling restart) create what is missing one after
 * another instead of racing each other in the catalog. Where the dialect has such a lock ({@link
 * OutboxDialect#schemaCreationLockSql()}, a transaction-scoped advisory lock on PostgreSQL) the
 * work runs in a transaction that holds it: on a connection in auto-commit mode this class begins
 * and commits (or on failure rolls back) that transaction; on one with auto-commit off the lock
 * joins the caller's transaction and is released when the caller commits. Where the database has no
 * such lock, creations in this JVM take turns on a lock of the JVM: H2's {@code CREATE INDEX IF NOT
 * EXISTS} run twice at once fails with "object already exists", and an in-memory H2 is reached only
 * from its own JVM (MySQL and MariaDB need no lock: a concurrent {@code CREATE TABLE IF NOT EXISTS}
 * there does nothing). Re-entrant: a creation that calls another (the relay's tables, then the
 * audit table) takes the lock again.
 *
 * @since 0.10
 */
public final class SchemaCreationLock {

  /** The name of the lock, one for every module's tables: creations are short and rare. */
  public static final String NAME = "outboxkit.schema-creation";

  private static final ReentrantLock IN_THIS_JVM = new ReentrantLock();

  private SchemaCreationLock() {}

  /** Creation work that may throw the driver's exception. */
  @FunctionalInterface
  public interface Work {
    /**
     * Runs the statements.
     *
     * @throws SQLException from the driver
     */
    void run() throws SQLException;
  }

  /** The statements of a creation, worked out under the lock (after asking the catalog). */
  @FunctionalInterface
  public interface Statements {
    /**
     * The statements to run, in order.
     *
     * @throws SQLException when the catalog cannot be read
     */
    List<String> get() throws SQLException;
  }

  /**
   * Runs, under the lock, the statements {@code statements} gives once the lock is held.
   *
   * @param connection the connection the statements run on
   * @param dialect the database's dialect
   * @param statements the statements that create what is missing
   * @throws SQLException from the lock, a statement, or the commit
   */
  public static void execute(Connection connection, OutboxDialect dialect, Statements statements)
      throws SQLException {
    run(
        connection,
        dialect,
        () -> {
          try (Statement statement = connection.createStatement()) {
            for (String sql : statements.get()) {
              statement.execute(sql);
            }
          }
        });
  }

  /**
   * Runs {@code work} on {@code connection} under the lock.
   *
   * @param connection the connection the work uses
   * @param dialect the database's dialect
   * @param work the statements that create what is missing
   * @throws SQLException from the lock, the work, or the commit
   */
  public static void run(Connection connection, OutboxDialect dialect, Work work)
      throws SQLException {
    String lock = dialect.schemaCreationLockSql();
    if (lock == null) {
      IN_THIS_JVM.lock();
      try {
        work.run();
      } finally {
        IN_THIS_JVM.unlock();
      }
      return;
    }
    boolean autoCommit = connection.getAutoCommit();
    if (autoCommit) {
      connection.setAutoCommit(false);
    }
    try {
      try (PreparedStatement take = connection.prepareStatement(lock)) {
        take.setString(1, NAME);
        take.execute();
      }
      work.run();
      if (autoCommit) {
        connection.commit();
      }
    } catch (Throwable e) {
      // Every throwable, errors included: switching auto-commit back on below would otherwise
      // commit the half-done work (JDBC commits an open transaction when auto-commit is set).
      if (autoCommit) {
        rollback(connection, e);
        restoreAutoCommit(connection, e);
      }
      throw e;
    }
    if (autoCommit) {
      connection.setAutoCommit(true);
    }
  }

  private static void rollback(Connection connection, Throwable failure) {
    try {
      connection.rollback();
    } catch (SQLException | RuntimeException e) {
      // The first failure is the one to report; the connection's pool discards a broken one.
      failure.addSuppressed(e);
    }
  }

  private static void restoreAutoCommit(Connection connection, Throwable failure) {
    try {
      connection.setAutoCommit(true);
    } catch (SQLException | RuntimeException e) {
      failure.addSuppressed(e);
    }
  }
}
