package dev.outboxkit.outbox.internal.dialect;

import dev.outboxkit.outbox.OutboxTable;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.List;

/** PostgreSQL: native UUID and TIMESTAMPTZ, a partial index over pending events only. */
final class PostgresDialect extends SqlDialect {

  PostgresDialect() {
    super("postgresql");
  }

  @Override
  public boolean supportsSkipLocked() {
    return true;
  }

  @Override
  public String trySessionLockSql() {
    return "SELECT pg_try_advisory_lock(hashtextextended(?, 0))";
  }

  @Override
  public String releaseSessionLockSql() {
    return "SELECT pg_advisory_unlock(hashtextextended(?, 0))";
  }

  /** Transaction-scoped: released by the commit or rollback, also when the session dies. */
  @Override
  public String schemaCreationLockSql() {
    return "SELECT pg_advisory_xact_lock(hashtextextended(?, 0))";
  }

  /** A bigint advisory lock shows in pg_locks as classid (high half), objid (low half), 1. */
  @Override
  public String sessionLockHeldSql() {
    return "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted"
        + " AND pid = pg_backend_pid() AND objsubid = 1"
        + " AND ((classid::int8 << 32) | objid::int8) = hashtextextended(?, 0))";
  }

  @Override
  public String sessionLockFreeSql() {
    return "SELECT NOT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted"
        + " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        + " AND objsubid = 1 AND ((classid::int8 << 32) | objid::int8) = hashtextextended(?, 0))";
  }

  @Override
  public boolean supportsListenNotify() {
    return true;
  }

  @Override
  public List<String> createTableStatements(OutboxTable table) {
    return List.of(createTable(table), createPendingIndex(table));
  }

  /** Leaves out the pending index when the catalog lists it: see the interface. */
  @Override
  public List<String> createMissingStatements(Connection connection, OutboxTable table)
      throws SQLException {
    String index = table.name() + "_pending_idx";
    try (PreparedStatement query =
        connection.prepareStatement("SELECT to_regclass(?) IS NOT NULL")) {
      // CREATE INDEX puts the index in its table's schema.
      query.setString(1, table.schema() == null ? index : table.schema() + "." + index);
      try (ResultSet rs = query.executeQuery()) {
        return rs.next() && rs.getBoolean(1)
            ? List.of(createTable(table))
            : createTableStatements(table);
      }
    }
  }

  private static String createPendingIndex(OutboxTable table) {
    return "CREATE INDEX IF NOT EXISTS %s_pending_idx ON %s (partition_no, seq) WHERE status = 'PENDING'"
        .formatted(table.name(), table.qualifiedName());
  }

  private static String createTable(OutboxTable table) {
    String t = table.qualifiedName();
    String n = table.name();
    return """
        CREATE TABLE IF NOT EXISTS %s (
            seq             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            id              UUID          NOT NULL,
            aggregatetype   VARCHAR(255)  NOT NULL,
            aggregateid     VARCHAR(255)  NOT NULL,
            type            VARCHAR(255)  NOT NULL,
            payload         BYTEA,
            headers         TEXT,
            tenant          VARCHAR(255),
            created_at      TIMESTAMPTZ   NOT NULL,
            partition_no    INTEGER       NOT NULL,
            status          VARCHAR(16)   NOT NULL DEFAULT 'PENDING',
            attempts        INTEGER       NOT NULL DEFAULT 0,
            next_attempt_at TIMESTAMPTZ,
            last_error      VARCHAR(2000),
            published_at    TIMESTAMPTZ,
            CONSTRAINT %s_id_uk UNIQUE (id)
        )"""
        .formatted(t, n);
  }

  @Override
  public boolean isMissingTable(SQLException e) {
    return "42P01".equals(e.getSQLState());
  }
}
