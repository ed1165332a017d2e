package dev.outboxkit.idempotency.internal;

import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.spi.OutboxDialect;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Savepoint;
import java.time.Duration;
import java.time.Instant;
import org.jspecify.annotations.Nullable;

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
  private volatile @Nullable Boolean rollbackOnTimeout;

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

  /**
   * Deletes at most {@code limit} rows of {@code table} whose {@code expires_at} is before {@code
   * now}.
   *
   * @return the number of rows deleted
   */
  public int purgeExpired(Connection connection, OutboxTable table, Instant now, int limit)
      throws SQLException {
    String t = table.qualifiedName();
    String sql =
        switch (name) {
          case "postgresql" ->
              "DELETE FROM "
                  + t
                  + " WHERE ctid = ANY (ARRAY(SELECT ctid FROM "
                  + t
                  + " WHERE expires_at < ? LIMIT ?))";
          case "h2" -> "DELETE FROM " + t + " WHERE expires_at < ? FETCH FIRST ? ROWS ONLY";
          default -> "DELETE FROM " + t + " WHERE expires_at < ? LIMIT ?";
        };
    try (PreparedStatement statement = connection.prepareStatement(sql)) {
      dialect.setInstant(statement, 1, now);
      statement.setInt(2, limit);
      return statement.executeUpdate();
    }
  }

  /**
   * Runs a prepared insert-if-absent with a bounded wait for a concurrent holder of the key.
   *
   * @param statement the prepared, bound statement of {@link #insertIfAbsent}
   */
  public Claim claim(Connection connection, PreparedStatement statement, Duration lockTimeout)
      throws SQLException {
    int updated = boundedUpdate(connection, statement, lockTimeout);
    return updated < 0 ? Claim.LOCKED : updated == 1 ? Claim.INSERTED : Claim.EXISTS;
  }

  /**
   * Runs a prepared insert, update or delete that may wait for another transaction's row lock, with
   * the wait bounded by {@code lockTimeout}.
   *
   * @return the update count, or {@code -1} when the lock was not granted in time (the caller's
   *     transaction is still usable); a duplicate key counts as 0 rows
   * @throws SQLException when the server rolled the whole transaction back ({@link
   *     #transactionLost}), or for any other failure
   */
  public int boundedUpdate(Connection connection, PreparedStatement statement, Duration lockTimeout)
      throws SQLException {
    String previous = setLockTimeout(connection, lockTimeout);
    // PostgreSQL aborts the whole transaction on any error; a savepoint keeps the caller's
    // transaction usable after a lock timeout, a deadlock or a serialization failure.
    Savepoint savepoint = name.equals("postgresql") ? connection.setSavepoint() : null;
    SQLException failure = null;
    try {
      int updated = statement.executeUpdate();
      if (savepoint != null) {
        connection.releaseSavepoint(savepoint);
      }
      return updated;
    } catch (SQLException e) {
      failure = e;
      if (savepoint != null) {
        connection.rollback(savepoint);
      }
      if (transactionLost(connection, e)) {
        // The server rolled the whole transaction back: nothing may carry on in it.
        throw new TransactionLostException(e);
      }
      if (isLockTimeout(e) || isConflict(e)) {
        return -1;
      }
      if (isDuplicateKey(e)) {
        return 0;
      }
      throw e;
    } finally {
      try {
        restoreLockTimeout(connection, previous);
      } catch (SQLException restoreFailed) {
        if (failure != null) {
          failure.addSuppressed(restoreFailed);
        } else {
          throw restoreFailed;
        }
      }
    }
  }

  /**
   * Whether the server rolled back the caller's whole transaction: a deadlock on MySQL/MariaDB, or
   * a lock timeout with {@code innodb_rollback_on_timeout=ON}. The caller must not carry on as if
   * its earlier writes were still there.
   */
  public boolean transactionLost(Connection connection, SQLException e) throws SQLException {
    if (!name.equals("mysql") && !name.equals("mariadb")) {
      return false;
    }
    return e.getErrorCode() == 1213 || (e.getErrorCode() == 1205 && rollbackOnTimeout(connection));
  }

  private boolean rollbackOnTimeout(Connection connection) throws SQLException {
    Boolean known = rollbackOnTimeout;
    if (known == null) {
      try (PreparedStatement statement =
          connection.prepareStatement("SELECT @@GLOBAL.innodb_rollback_on_timeout")) {
        String value = single(statement);
        known = "1".equals(value) || "ON".equalsIgnoreCase(value);
      }
      rollbackOnTimeout = known; // a server start-up option: it cannot change while we run
    }
    return known;
  }

  /** Deadlock or serialization failure on PostgreSQL, handled like a lock timeout. */
  private boolean isConflict(SQLException e) {
    return name.equals("postgresql")
        && ("40P01".equals(e.getSQLState()) || "40001".equals(e.getSQLState()));
  }

  /** The server rolled back the caller's whole transaction while it waited for a key. */
  public static final class TransactionLostException extends SQLException {
    private static final long serialVersionUID = 1L;

    TransactionLostException(SQLException cause) {
      super(
          "The database rolled the transaction back while waiting for an idempotency key ("
              + cause.getMessage()
              + ")",
          cause.getSQLState(),
          cause.getErrorCode(),
          cause);
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
