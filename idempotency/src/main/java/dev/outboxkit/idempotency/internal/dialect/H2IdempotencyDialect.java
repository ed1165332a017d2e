package dev.outboxkit.idempotency.internal.dialect;

import dev.outboxkit.outbox.OutboxTable;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;

/**
 * Idempotency keys and the inbox on H2 (development and tests). The insert-if-absent is a plain
 * insert: its duplicate-key error counts as "exists".
 */
final class H2IdempotencyDialect extends IdempotencyDialect {

  static final List<String> NAMES = List.of("h2");

  @Override
  public List<String> createStatements(OutboxTable keys, OutboxTable inbox) {
    String kn = keys.name();
    String in = inbox.name();
    return List.of(
        """
        CREATE TABLE IF NOT EXISTS %s (
            scope       VARCHAR(255) NOT NULL,
            idem_key    VARCHAR(255) NOT NULL,
            fingerprint VARCHAR(255) NOT NULL,
            result      BINARY VARYING,
            created_at  TIMESTAMP(6) WITH TIME ZONE NOT NULL,
            expires_at  TIMESTAMP(6) WITH TIME ZONE NOT NULL,
            CONSTRAINT %s_pk PRIMARY KEY (scope, idem_key)
        )\
        """
            .formatted(keys.qualifiedName(), kn),
        "CREATE INDEX IF NOT EXISTS %s_expires_idx ON %s (expires_at)"
            .formatted(keys.schema() == null ? kn : keys.schema() + "." + kn, keys.qualifiedName()),
        """
        CREATE TABLE IF NOT EXISTS %s (
            consumer    VARCHAR(255) NOT NULL,
            message_id  VARCHAR(255) NOT NULL,
            created_at  TIMESTAMP(6) WITH TIME ZONE NOT NULL,
            expires_at  TIMESTAMP(6) WITH TIME ZONE NOT NULL,
            CONSTRAINT %s_pk PRIMARY KEY (consumer, message_id)
        )\
        """
            .formatted(inbox.qualifiedName(), in),
        "CREATE INDEX IF NOT EXISTS %s_expires_idx ON %s (expires_at)"
            .formatted(
                inbox.schema() == null ? in : inbox.schema() + "." + in, inbox.qualifiedName()));
  }

  @Override
  public String insertIfAbsent(
      String table, String columns, String placeholders, String conflictColumns) {
    return "INSERT INTO " + table + " (" + columns + ") VALUES (" + placeholders + ")";
  }

  @Override
  public String setLockTimeout(Connection connection, Duration timeout) throws SQLException {
    String previous;
    try (PreparedStatement statement = connection.prepareStatement("SELECT LOCK_TIMEOUT()")) {
      previous = single(statement);
    }
    setTimeout(connection, Math.max(1, timeout.toMillis()));
    return previous;
  }

  @Override
  public void restoreLockTimeout(Connection connection, String previous) throws SQLException {
    setTimeout(connection, Long.parseLong(previous));
  }

  private static void setTimeout(Connection connection, long millis) throws SQLException {
    try (Statement statement = connection.createStatement()) {
      statement.execute("SET LOCK_TIMEOUT " + millis); // a number we computed, not user input
    }
  }

  @Override
  public boolean isLockTimeout(SQLException e) {
    return e.getErrorCode() == 50200; // H2 LOCK_TIMEOUT_1
  }
}
