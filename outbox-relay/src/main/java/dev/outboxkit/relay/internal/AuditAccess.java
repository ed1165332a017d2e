package dev.outboxkit.relay.internal;

import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.relay.AuditSchema;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.stream.Collectors;

/**
 * The start-up check that the relay's database user may read and append to the audit trail. A
 * replay, a purge and the parked retention write their audit record in the same transaction as the
 * change, so a role without the grant (role scripts older than 0.7, a hand-made role) would start,
 * publish for months and fail the operator's first replay.
 *
 * <p>The probe {@code INSERT INTO audit (…) SELECT … FROM audit WHERE 1 = 0} is checked for the
 * INSERT and SELECT privileges like any insert but matches no row, so it writes nothing and takes
 * no row lock; it runs in a transaction that is rolled back all the same. The statement is plain
 * SQL that every supported database accepts, so it needs no dialect capability.
 */
public final class AuditAccess {

  private AuditAccess() {}

  /**
   * Checks the audit table next to {@code outbox}: it exists with every column, and this user may
   * append to it.
   *
   * @param role the shipped role that holds the grant ({@code outboxkit_relay}, {@code
   *     outboxkit_cdc_relay})
   * @param roleScript the file name of the shipped script that grants it
   * @throws dev.outboxkit.outbox.OutboxSchemaException when the table or a column is missing
   * @throws IllegalStateException when the user may not append ({@link
   *     OutboxDialect#isPermissionDenied}), naming the table, the grant and the script
   * @throws SQLException when the database cannot be reached, or the probe fails for another reason
   *     (a lock timeout), saying so
   */
  public static void verify(
      Jdbc jdbc, OutboxDialect dialect, OutboxTable outbox, String role, String roleScript)
      throws SQLException {
    OutboxTable audit = AuditSchema.table(outbox);
    jdbc.autoCommit(
        c -> {
          AuditSchema.verify(c, dialect, audit);
          probe(c, dialect, audit, role, roleScript);
          return null;
        });
  }

  /**
   * The append probe alone, on a connection in auto-commit mode (left so): the operator CLI's
   * {@code check} runs it before a relay is started.
   *
   * @param audit the audit table
   * @throws IllegalStateException when the user may not append, naming the table, the grant and the
   *     script
   * @throws SQLException when the probe fails for another reason than a missing grant, or the
   *     rollback of a passed probe fails. A rollback that fails after a failed probe (a broken
   *     connection) never replaces the probe's error: it is attached to it as suppressed
   */
  public static void probe(
      Connection c, OutboxDialect dialect, OutboxTable audit, String role, String roleScript)
      throws SQLException {
    String columns =
        AuditSchema.COLUMNS.stream().filter(n -> !n.equals("id")).collect(Collectors.joining(", "));
    String table = audit.qualifiedName();
    c.setAutoCommit(false);
    try (Statement s = c.createStatement()) {
      s.executeUpdate(
          "INSERT INTO "
              + table
              + " ("
              + columns
              + ") SELECT "
              + columns
              + " FROM "
              + table
              + " WHERE 1 = 0");
    } catch (SQLException e) {
      if (!dialect.isPermissionDenied(e)) {
        throw rolledBack(c, noVerdict(e, audit));
      }
      throw rolledBack(c, notGranted(e, dialect, audit, role, roleScript));
    } catch (RuntimeException e) {
      throw rolledBack(c, e);
    }
    // The probe passed: a failing rollback is the error now, so nothing hides it.
    c.rollback();
    c.setAutoCommit(true);
  }

  /**
   * A lock timeout, a lost connection, a cancelled statement: no verdict on the grant, so say what
   * happened instead of sending the operator to rerun a role script.
   */
  private static SQLException noVerdict(SQLException e, OutboxTable audit) {
    return new SQLException(
        "Could not check the audit table "
            + audit
            + " at start-up: the probe insert failed with SQLSTATE "
            + e.getSQLState()
            + " ("
            + e.getMessage()
            + "), which is not a missing privilege",
        e.getSQLState(),
        e.getErrorCode(),
        e);
  }

  private static IllegalStateException notGranted(
      SQLException e, OutboxDialect dialect, OutboxTable audit, String role, String roleScript) {
    return new IllegalStateException(
        "The relay's database user may not append to the audit table "
            + audit
            + " ("
            + e.getMessage()
            + "). Replays, purges and the parked retention record each operation there in the"
            + " same transaction, and would fail. Grant SELECT, INSERT ON "
            + audit.qualifiedName()
            + " to the relay's user: run dev/outboxkit/roles/"
            + dialect.name()
            + "/"
            + roleScript
            + " from outbox-relay again (role "
            + role
            + ") and grant that role to the user; see docs/roles.md.",
        e);
  }

  /**
   * Rolls the probe back after it failed and returns the failure to throw: when the rollback (or
   * restoring auto-commit) fails too, typically because the connection broke, that failure is
   * attached as suppressed instead of replacing why the probe failed.
   */
  private static <E extends Exception> E rolledBack(Connection c, E failure) {
    try {
      c.rollback();
      c.setAutoCommit(true);
    } catch (SQLException rollback) {
      failure.addSuppressed(rollback);
    }
    return failure;
  }
}
