package dev.outboxkit.outbox.internal.dialect;

import dev.outboxkit.outbox.OutboxTable;
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
    String t = table.qualifiedName();
    String n = table.name();
    return List.of(
        """
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
            .formatted(t, n),
        "CREATE INDEX IF NOT EXISTS %s_pending_idx ON %s (partition_no, seq) WHERE status = 'PENDING'"
            .formatted(n, t));
  }

  @Override
  public boolean isMissingTable(SQLException e) {
    return "42P01".equals(e.getSQLState());
  }
}
