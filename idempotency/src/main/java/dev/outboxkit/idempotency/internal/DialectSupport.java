package dev.outboxkit.idempotency.internal;

import dev.outboxkit.outbox.spi.OutboxDialect;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Savepoint;
import java.time.Duration;

/**
 * What differs between databases when a transaction claims a key that a concurrent transaction may
 * hold: how to insert-if-absent without an error, how long to wait for the other transaction's
 * lock, and how to survive a lock timeout without losing the caller's transaction.
 *
 * <p>The wait is the point: a second transaction inserting the same key blocks on the unique index
 * until the first commits (then it sees the key and replays) or rolls back (then it inserts and
 * runs the work). The lock timeout bounds that wait.
 */
public final class DialectSupport {

  /** The outcome of claiming a key. */
  public enum Claim {
    /** The key was absent and is now held by this transaction. */
    INSERTED,
    /** A committed row holds the key. */
    EXISTS,
    /** A concurrent transaction holds the key and did not finish within the lock timeout. */
    LOCKED
  }

  private final OutboxDialect dialect;
  private final String name;

  public DialectSupport(OutboxDialect dialect) {
    this.dialect = dialect;
    this.name = dialect.name();
  }

  public OutboxDialect dialect() {
    return dialect;
  }

  /**
   * An insert that does nothing, rather than fail, when the conflict columns already hold the key.
   */
  public String insertIfAbsent(String table, String columns, int values, String conflictColumns) {
    String placeholders = "?" + ", ?".repeat(values - 1);
    return switch (name) {
      case "postgresql" ->
          "INSERT INTO "
              + table
              + " ("
              + columns
              + ") VALUES ("
              + placeholders
              + ") ON CONFLICT ("
              + conflictColumns
              + ") DO NOTHING";
      case "mysql", "mariadb" ->
          "INSERT IGNORE INTO " + table + " (" + columns + ") VALUES (" + placeholders + ")";
      default -> "INSERT INTO " + table + " (" + columns + ") VALUES (" + placeholders + ")";
    };
  }

  /** A suffix for a read that must see the latest committed row, not the transaction's snapshot. */
  public String latestCommittedRead() {
    // InnoDB's REPEATABLE READ would otherwise answer from the snapshot taken before the key was
    // committed by the other transaction; a locking read sees the latest committed version.
    return name.equals("mysql") || name.equals("mariadb") ? " LOCK IN SHARE MODE" : "";
  }

  /** Deletes at most {@code ?2} rows whose {@code expires_at} is before {@code ?1}. */
  public String purgeExpired(String table) {
    return switch (name) {
      case "postgresql" ->
          "DELETE FROM "
              + table
              + " WHERE ctid = ANY (ARRAY(SELECT ctid FROM "
              + table
              + " WHERE expires_at < ? LIMIT ?))";
      case "h2" -> "DELETE FROM " + table + " WHERE expires_at < ? FETCH FIRST ? ROWS ONLY";
      default -> "DELETE FROM " + table + " WHERE expires_at < ? LIMIT ?";
    };
  }

  /**
   * Runs a prepared insert-if-absent with a bounded wait for a concurrent holder of the key.
   *
   * @param statement the prepared, bound statement of {@link #insertIfAbsent}
   */
  public Claim claim(Connection connection, PreparedStatement statement, Duration lockTimeout)
      throws SQLException {
    String previous = setLockTimeout(connection, lockTimeout);
    // PostgreSQL aborts the whole transaction on any error; a savepoint keeps the caller's
    // transaction usable after a lock timeout.
    Savepoint savepoint = name.equals("postgresql") ? connection.setSavepoint() : null;
    try {
      int inserted = statement.executeUpdate();
      if (savepoint != null) {
        connection.releaseSavepoint(savepoint);
      }
      return inserted == 1 ? Claim.INSERTED : Claim.EXISTS;
    } catch (SQLException e) {
      if (savepoint != null) {
        connection.rollback(savepoint);
      }
      if (isLockTimeout(e)) {
        return Claim.LOCKED;
      }
      if (isDuplicateKey(e)) {
        return Claim.EXISTS;
      }
      throw e;
    } finally {
      restoreLockTimeout(connection, previous);
    }
  }

  private String setLockTimeout(Connection connection, Duration timeout) throws SQLException {
    switch (name) {
      case "postgresql" -> {
        try (PreparedStatement statement =
            connection.prepareStatement(
                "SELECT current_setting('lock_timeout'), set_config('lock_timeout', ?, true)")) {
          statement.setString(1, Math.max(1, timeout.toMillis()) + "ms");
          return single(statement);
        }
      }
      case "mysql", "mariadb" -> {
        String previous;
        try (PreparedStatement statement =
            connection.prepareStatement("SELECT @@SESSION.innodb_lock_wait_timeout")) {
          previous = single(statement);
        }
        setMySqlTimeout(connection, Math.max(1, (timeout.toMillis() + 999) / 1000));
        return previous;
      }
      default -> {
        String previous;
        try (PreparedStatement statement = connection.prepareStatement("SELECT LOCK_TIMEOUT()")) {
          previous = single(statement);
        }
        setH2Timeout(connection, Math.max(1, timeout.toMillis()));
        return previous;
      }
    }
  }

  private static void setH2Timeout(Connection connection, long millis) throws SQLException {
    try (java.sql.Statement statement = connection.createStatement()) {
      statement.execute("SET LOCK_TIMEOUT " + millis); // a number we computed, not user input
    }
  }

  private void restoreLockTimeout(Connection connection, String previous) throws SQLException {
    switch (name) {
      case "postgresql" -> {
        try (PreparedStatement statement =
            connection.prepareStatement("SELECT set_config('lock_timeout', ?, true)")) {
          statement.setString(1, previous);
          statement.executeQuery().close();
        }
      }
      case "mysql", "mariadb" -> setMySqlTimeout(connection, Long.parseLong(previous));
      default -> setH2Timeout(connection, Long.parseLong(previous));
    }
  }

  private static void setMySqlTimeout(Connection connection, long seconds) throws SQLException {
    try (PreparedStatement statement =
        connection.prepareStatement("SET SESSION innodb_lock_wait_timeout = ?")) {
      statement.setLong(1, seconds);
      statement.execute();
    }
  }

  private static String single(PreparedStatement statement) throws SQLException {
    try (ResultSet rs = statement.executeQuery()) {
      rs.next();
      return rs.getString(1);
    }
  }

  boolean isLockTimeout(SQLException e) {
    return switch (name) {
      case "postgresql" -> "55P03".equals(e.getSQLState());
      case "mysql", "mariadb" -> e.getErrorCode() == 1205;
      default -> e.getErrorCode() == 50200; // H2 LOCK_TIMEOUT_1
    };
  }

  boolean isDuplicateKey(SQLException e) {
    return "23505".equals(e.getSQLState()) || e.getErrorCode() == 1062;
  }
}
