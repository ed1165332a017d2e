package dev.outboxkit.idempotency.internal.dialect;

import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.spi.OutboxDialect;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/** Idempotency keys and the inbox on PostgreSQL. */
final class PostgresIdempotencyDialect extends IdempotencyDialect {

  static final List<String> NAMES = List.of("postgresql");

  @Override
  public List<String> createStatements(OutboxTable keys, OutboxTable inbox) {
    String k = keys.qualifiedName();
    String i = inbox.qualifiedName();
    String kn = keys.name();
    String in = inbox.name();
    return List.of(
        """
        CREATE TABLE IF NOT EXISTS %s (
            scope       VARCHAR(255) NOT NULL,
            idem_key    VARCHAR(255) NOT NULL,
            fingerprint VARCHAR(255) NOT NULL,
            result      BYTEA,
            created_at  TIMESTAMPTZ  NOT NULL,
            expires_at  TIMESTAMPTZ  NOT NULL,
            CONSTRAINT %s_pk PRIMARY KEY (scope, idem_key)
        )\
        """
            .formatted(k, kn),
        expiresIndex(keys),
        """
        CREATE TABLE IF NOT EXISTS %s (
            consumer    VARCHAR(255) NOT NULL,
            message_id  VARCHAR(255) NOT NULL,
            created_at  TIMESTAMPTZ  NOT NULL,
            expires_at  TIMESTAMPTZ  NOT NULL,
            CONSTRAINT %s_pk PRIMARY KEY (consumer, message_id)
        )\
        """
            .formatted(i, in),
        expiresIndex(inbox));
  }

  private static String expiresIndex(OutboxTable table) {
    return "CREATE INDEX IF NOT EXISTS %s_expires_idx ON %s (expires_at)"
        .formatted(table.name(), table.qualifiedName());
  }

  /** Leaves out each expiry index the catalog lists: PostgreSQL would lock its table first. */
  @Override
  public List<String> createMissingStatements(
      Connection connection, OutboxTable keys, OutboxTable inbox) throws SQLException {
    List<String> missing = new ArrayList<>(createStatements(keys, inbox));
    for (OutboxTable table : List.of(keys, inbox)) {
      if (hasIndex(connection, table, table.name() + "_expires_idx")) {
        missing.remove(expiresIndex(table));
      }
    }
    return List.copyOf(missing);
  }

  private static boolean hasIndex(Connection connection, OutboxTable table, String index)
      throws SQLException {
    try (PreparedStatement query =
        connection.prepareStatement("SELECT to_regclass(?) IS NOT NULL")) {
      // CREATE INDEX puts the index in its table's schema.
      query.setString(1, table.schema() == null ? index : table.schema() + "." + index);
      try (ResultSet rs = query.executeQuery()) {
        return rs.next() && rs.getBoolean(1);
      }
    }
  }

  @Override
  public String insertIfAbsent(
      String table, String columns, String placeholders, String conflictColumns) {
    return "INSERT INTO "
        + table
        + " ("
        + columns
        + ") VALUES ("
        + placeholders
        + ") ON CONFLICT ("
        + conflictColumns
        + ") DO NOTHING";
  }

  /**
   * One statement in autocommit: the rows a locking read that skips locked rows takes, by their
   * physical address, which no other transaction can change while the statement holds them.
   */
  @Override
  public PurgedBatch purgeExpired(
      Connection connection,
      OutboxDialect dialect,
      String table,
      List<String> keyColumns,
      Instant now,
      int limit)
      throws SQLException {
    try (PreparedStatement statement =
        connection.prepareStatement(
            "DELETE FROM "
                + table
                + " WHERE ctid = ANY (ARRAY(SELECT ctid FROM "
                + table
                + " WHERE expires_at < ? LIMIT ? FOR UPDATE SKIP LOCKED))")) {
      dialect.setInstant(statement, 1, now);
      statement.setInt(2, limit);
      int deleted = statement.executeUpdate();
      // The subquery skips held rows before its LIMIT, taking the next ones: nothing is passed
      // over, and a short batch means the table is done.
      return new PurgedBatch(deleted, 0, deleted >= limit);
    }
  }

  /**
   * PostgreSQL aborts the whole transaction on any error; a savepoint keeps the caller's
   * transaction usable after a lock timeout, a deadlock or a serialization failure.
   */
  @Override
  public boolean errorAbortsTransaction() {
    return true;
  }

  @Override
  public String setLockTimeout(Connection connection, Duration timeout) throws SQLException {
    try (PreparedStatement statement =
        connection.prepareStatement(
            "SELECT current_setting('lock_timeout'), set_config('lock_timeout', ?, true)")) {
      statement.setString(1, Math.max(1, timeout.toMillis()) + "ms");
      return single(statement);
    }
  }

  @Override
  public void restoreLockTimeout(Connection connection, String previous) throws SQLException {
    try (PreparedStatement statement =
        connection.prepareStatement("SELECT set_config('lock_timeout', ?, true)")) {
      statement.setString(1, previous);
      statement.executeQuery().close();
    }
  }

  @Override
  public boolean sendsStatementsTogether() {
    return true;
  }

  /**
   * pgjdbc sends the statements of one string (separated by semicolons) with one sync, so the
   * savepoint, the lock timeout, the statement and the restore cost one round trip instead of five.
   * The previous timeout is kept in a transaction-local setting of our own for the restore; a
   * failure skips the rest, and rolling back to the savepoint restores the timeout as well.
   */
  @Override
  public Pipelined boundedInOneRoundTrip(String statement, Duration timeout) {
    return new Pipelined(
        "SAVEPOINT outboxkit_bounded;"
            + " SELECT set_config('outboxkit.lock_timeout', current_setting('lock_timeout'), true),"
            + " set_config('lock_timeout', '"
            + Math.max(1, timeout.toMillis())
            + "ms', true); "
            + statement
            + "; SELECT set_config('lock_timeout', current_setting('outboxkit.lock_timeout'), true);"
            + " RELEASE SAVEPOINT outboxkit_bounded",
        2,
        "ROLLBACK TO SAVEPOINT outboxkit_bounded; RELEASE SAVEPOINT outboxkit_bounded");
  }

  @Override
  public boolean isLockTimeout(SQLException e) {
    return "55P03".equals(e.getSQLState());
  }

  /** Deadlock or serialization failure, handled like a lock timeout. */
  @Override
  public boolean isRetryableConflict(SQLException e) {
    return "40P01".equals(e.getSQLState()) || "40001".equals(e.getSQLState());
  }
}
