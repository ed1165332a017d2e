package dev.outboxkit.outbox;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.TestDatabaseExtension;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The schema-creation lock on PostgreSQL (a transaction-scoped advisory lock) on a connection in
 * auto-commit mode: however the work ends, its transaction ends with it, and only a work that
 * completes is committed.
 */
@ServerTest
class SchemaCreationLockIntegrationTests {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.postgres();

  private OutboxDialect dialect;

  @BeforeEach
  void createProbeTable() throws SQLException {
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement()) {
      dialect = OutboxDialect.detect(c);
      s.execute("DROP TABLE IF EXISTS schema_lock_probe");
      s.execute("CREATE TABLE schema_lock_probe (id INT)");
    }
  }

  /**
   * An {@link Error} in the work (a stack overflow, a class missing at run time, an assertion) was
   * not rolled back: only exceptions were, and restoring auto-commit in the finally block then
   * committed the half-done work (JDBC commits a transaction when auto-commit is switched on).
   */
  @Test
  void anErrorInTheWorkRollsItBackAndEndsTheTransaction() throws SQLException {
    StackOverflowError error = new StackOverflowError("deep");
    try (Connection c = db.dataSource().getConnection()) {
      Throwable thrown =
          catchThrowable(
              () ->
                  SchemaCreationLock.run(
                      c,
                      dialect,
                      () -> {
                        try (Statement s = c.createStatement()) {
                          s.execute("INSERT INTO schema_lock_probe VALUES (1)");
                        }
                        throw error;
                      }));

      assertThat(thrown).isSameAs(error);
      assertThat(c.getAutoCommit()).isTrue();
      assertThat(probeRows(c)).isZero();
    }
    assertThat(lockIsFree()).isTrue();
  }

  @Test
  void anExceptionInTheWorkRollsItBack() throws SQLException {
    IllegalStateException failure = new IllegalStateException("boom");
    try (Connection c = db.dataSource().getConnection()) {
      Throwable thrown =
          catchThrowable(
              () ->
                  SchemaCreationLock.run(
                      c,
                      dialect,
                      () -> {
                        try (Statement s = c.createStatement()) {
                          s.execute("INSERT INTO schema_lock_probe VALUES (1)");
                        }
                        throw failure;
                      }));

      assertThat(thrown).isSameAs(failure);
      assertThat(c.getAutoCommit()).isTrue();
      assertThat(probeRows(c)).isZero();
    }
    assertThat(lockIsFree()).isTrue();
  }

  @Test
  void workThatCompletesIsCommitted() throws SQLException {
    try (Connection c = db.dataSource().getConnection()) {
      SchemaCreationLock.run(
          c,
          dialect,
          () -> {
            try (Statement s = c.createStatement()) {
              s.execute("INSERT INTO schema_lock_probe VALUES (1)");
            }
          });

      assertThat(c.getAutoCommit()).isTrue();
    }
    try (Connection other = db.dataSource().getConnection()) {
      assertThat(probeRows(other)).isOne();
    }
    assertThat(lockIsFree()).isTrue();
  }

  private static int probeRows(Connection c) throws SQLException {
    try (Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT count(*) FROM schema_lock_probe")) {
      rs.next();
      return rs.getInt(1);
    }
  }

  /** Whether another session gets the lock at once (released again at its statement's end). */
  private static boolean lockIsFree() throws SQLException {
    try (Connection other = db.dataSource().getConnection();
        Statement s = other.createStatement();
        ResultSet rs =
            s.executeQuery(
                "SELECT pg_try_advisory_xact_lock(hashtextextended('"
                    + SchemaCreationLock.NAME
                    + "', 0))")) {
      rs.next();
      return rs.getBoolean(1);
    }
  }
}
