package dev.outboxkit.idempotency.internal.dialect;

import dev.outboxkit.outbox.OutboxTable;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * Idempotency keys and the inbox on MySQL (InnoDB); {@link MariaDbIdempotencyDialect} shares its
 * tables and statements.
 *
 * <p>A bounded statement costs three round trips here: Connector/J sends one statement per round
 * trip unless the pool's URL allows several ({@code allowMultiQueries}, which a library cannot
 * count on), and MySQL 8.0 has no per-statement form for {@code innodb_lock_wait_timeout}: no
 * {@code SET STATEMENT ... FOR}, and the optimizer hint is refused (8.0.31: warning 3637 "Variable
 * 'innodb_lock_wait_timeout' cannot be set using SET_VAR hint", and the insert waited the session's
 * timeout). So one {@code SET} keeps the session's timeout in a user variable and sets ours, the
 * statement runs, and a second {@code SET} restores the session's.
 */
class MySqlIdempotencyDialect extends IdempotencyDialect {

  static final List<String> NAMES = List.of("mysql");

  /** The user variable that keeps the session's timeout while a bounded statement runs. */
  private static final String PREVIOUS = "@outboxkit_lock_wait_timeout";

  private volatile @Nullable Boolean rollbackOnTimeout;

  @Override
  public List<String> createStatements(OutboxTable keys, OutboxTable inbox) {
    return List.of(
        """
        CREATE TABLE IF NOT EXISTS %s (
            scope       VARCHAR(255) NOT NULL,
            idem_key    VARCHAR(255) NOT NULL,
            fingerprint VARCHAR(255) NOT NULL,
            result      LONGBLOB,
            created_at  DATETIME(6)  NOT NULL,
            expires_at  DATETIME(6)  NOT NULL,
            PRIMARY KEY (scope, idem_key),
            KEY %s_expires_idx (expires_at)
        ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin\
        """
            .formatted(keys.qualifiedName(), keys.name()),
        """
        CREATE TABLE IF NOT EXISTS %s (
            consumer    VARCHAR(255) NOT NULL,
            message_id  VARCHAR(255) NOT NULL,
            created_at  DATETIME(6)  NOT NULL,
            expires_at  DATETIME(6)  NOT NULL,
            PRIMARY KEY (consumer, message_id),
            KEY %s_expires_idx (expires_at)
        ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin\
        """
            .formatted(inbox.qualifiedName(), inbox.name()));
  }

  @Override
  public String insertIfAbsent(
      String table, String columns, String placeholders, String conflictColumns) {
    return "INSERT IGNORE INTO " + table + " (" + columns + ") VALUES (" + placeholders + ")";
  }

  /**
   * InnoDB's REPEATABLE READ would otherwise answer from the snapshot taken before the key was
   * committed by the other transaction; a locking read sees the latest committed version.
   */
  @Override
  public String latestCommittedRead() {
    return " LOCK IN SHARE MODE";
  }

  @Override
  protected String expiredCandidates(String table, String keyColumns) {
    return "SELECT " + keyColumns + " FROM " + table + " WHERE expires_at < ? LIMIT ?";
  }

  /**
   * The primary key, forced: the optimizer may not choose it by itself when most rows have expired.
   * A locking read that scanned the {@code expires_at} index or the table instead would lock the
   * gaps it passes under {@code REPEATABLE READ}, and a delete's scan would wait for rows
   * applications hold.
   */
  @Override
  protected String byPrimaryKey(String tableReference) {
    return tableReference + " FORCE INDEX (PRIMARY)";
  }

  /**
   * {@link IdempotencyDialect#deleteByKeys}'s delete in the multiple-table form: a single-table
   * {@code DELETE} takes no index hint ({@link #byPrimaryKey}).
   */
  @Override
  protected String deleteByKeys(String table, List<String> keyColumns, int rows) {
    return "DELETE t FROM "
        + byPrimaryKey(table + " t")
        + " WHERE expires_at < ? AND "
        + namedByKeys(keyColumns, rows);
  }

  /**
   * Keeps the session's timeout in a user variable and sets ours in one statement (the values of a
   * {@code SET} are read before any is assigned).
   *
   * @return the user variable that holds the session's timeout
   */
  @Override
  public String setLockTimeout(Connection connection, Duration timeout) throws SQLException {
    try (PreparedStatement statement =
        connection.prepareStatement(
            "SET "
                + PREVIOUS
                + " = @@SESSION.innodb_lock_wait_timeout,"
                + " SESSION innodb_lock_wait_timeout = ?")) {
      statement.setLong(1, seconds(timeout));
      statement.execute();
    }
    return PREVIOUS;
  }

  @Override
  public void restoreLockTimeout(Connection connection, String previous) throws SQLException {
    try (PreparedStatement statement =
        connection.prepareStatement("SET SESSION innodb_lock_wait_timeout = " + PREVIOUS)) {
      statement.execute();
    }
  }

  /** {@code innodb_lock_wait_timeout} counts whole seconds: the timeout rounded up, at least 1. */
  static long seconds(Duration timeout) {
    return Math.max(1, (timeout.toMillis() + 999) / 1000);
  }

  /**
   * InnoDB keeps a savepoint in a short list until the transaction ends; the drivers name each one
   * uniquely per connection (Connector/J a UUID, MariaDB Connector/J a counter), so none replaces
   * another, and the binary log records the savepoint whether it is released or not.
   */
  @Override
  public boolean savepointNeedsRelease() {
    return false;
  }

  @Override
  public boolean isLockTimeout(SQLException e) {
    return e.getErrorCode() == 1205;
  }

  /**
   * A deadlock, or a lock timeout with {@code innodb_rollback_on_timeout=ON}: the server rolled the
   * whole transaction back.
   */
  @Override
  public boolean transactionLost(Connection connection, SQLException e) throws SQLException {
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
}
