package dev.outboxkit.outbox.internal.dialect;

import dev.outboxkit.outbox.OutboxTable;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.List;
import java.util.UUID;
import org.jspecify.annotations.Nullable;

/**
 * MySQL 8 and MariaDB 10.6+. Ids are {@code CHAR(36)} text (what Debezium and humans read), times
 * {@code DATETIME(6)} in UTC bound as {@link LocalDateTime} so the session time zone never shifts
 * them, and indexes are declared inside {@code CREATE TABLE} because MySQL has no {@code CREATE
 * INDEX IF NOT EXISTS}.
 */
final class MySqlDialect extends SqlDialect {

  MySqlDialect(String name) {
    super(name);
  }

  /**
   * {@code ER_TABLEACCESS_DENIED_ERROR} (1142) and {@code ER_COLUMNACCESS_DENIED_ERROR} (1143):
   * MySQL and MariaDB give them SQLSTATE {@code 42000}, which syntax errors share.
   */
  @Override
  public boolean isPermissionDenied(SQLException e) {
    return e.getErrorCode() == 1142 || e.getErrorCode() == 1143 || super.isPermissionDenied(e);
  }

  @Override
  public boolean supportsSkipLocked() {
    return true;
  }

  @Override
  public List<String> createTableStatements(OutboxTable table) {
    String n = table.name();
    return List.of(
        """
        CREATE TABLE IF NOT EXISTS %s (
            seq             BIGINT        NOT NULL AUTO_INCREMENT,
            id              CHAR(36)      CHARACTER SET ascii NOT NULL,
            aggregatetype   VARCHAR(255)  NOT NULL,
            aggregateid     VARCHAR(255)  NOT NULL,
            type            VARCHAR(255)  NOT NULL,
            payload         LONGBLOB,
            headers         TEXT,
            tenant          VARCHAR(255),
            created_at      DATETIME(6)   NOT NULL,
            partition_no    INT           NOT NULL,
            status          VARCHAR(16)   NOT NULL DEFAULT 'PENDING',
            attempts        INT           NOT NULL DEFAULT 0,
            next_attempt_at DATETIME(6)   NULL,
            last_error      VARCHAR(2000) NULL,
            published_at    DATETIME(6)   NULL,
            PRIMARY KEY (seq),
            UNIQUE KEY %s_id_uk (id),
            KEY %s_pending_idx (status, partition_no, seq)
        ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"""
            .formatted(table.qualifiedName(), n, n));
  }

  @Override
  public void setUuid(PreparedStatement statement, int index, UUID id) throws SQLException {
    statement.setString(index, id.toString());
  }

  @Override
  public UUID getUuid(ResultSet rs, String column) throws SQLException {
    return UUID.fromString(rs.getString(column));
  }

  @Override
  public void setInstant(PreparedStatement statement, int index, Instant instant)
      throws SQLException {
    statement.setObject(index, LocalDateTime.ofInstant(instant, ZoneOffset.UTC));
  }

  /** Lock names are at most 64 characters: callers pass a short hash. */
  @Override
  public String trySessionLockSql() {
    return "SELECT GET_LOCK(?, 0)";
  }

  @Override
  public String releaseSessionLockSql() {
    return "SELECT RELEASE_LOCK(?)";
  }

  @Override
  public String sessionLockHeldSql() {
    return "SELECT IS_USED_LOCK(?) <=> CONNECTION_ID()";
  }

  @Override
  public String sessionLockFreeSql() {
    return "SELECT IS_FREE_LOCK(?)";
  }

  /** UTC, as the relay's {@code DATETIME(6)} columns hold it (CURRENT_TIMESTAMP is local time). */
  @Override
  public String currentTimeSql() {
    return "UTC_TIMESTAMP(6)";
  }

  @Override
  public @Nullable Instant getInstant(ResultSet rs, String column) throws SQLException {
    LocalDateTime value = rs.getObject(column, LocalDateTime.class);
    return value == null ? null : value.toInstant(ZoneOffset.UTC);
  }
}
