package dev.outboxkit.outbox.internal.dialect;

import dev.outboxkit.outbox.OutboxTable;
import java.sql.SQLException;
import java.util.List;

/** H2 2.x, for development and tests. */
final class H2Dialect extends SqlDialect {

  H2Dialect() {
    super("h2");
  }

  @Override
  public boolean supportsSkipLocked() {
    return false;
  }

  @Override
  public List<String> createTableStatements(OutboxTable table) {
    String t = table.qualifiedName();
    String n = table.name();
    return List.of(
        """
        CREATE TABLE IF NOT EXISTS %s (
            seq             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            id              UUID                     NOT NULL,
            aggregatetype   VARCHAR(255)             NOT NULL,
            aggregateid     VARCHAR(255)             NOT NULL,
            type            VARCHAR(255)             NOT NULL,
            payload         BINARY VARYING,
            headers         CHARACTER VARYING,
            tenant          VARCHAR(255),
            created_at      TIMESTAMP(6) WITH TIME ZONE NOT NULL,
            partition_no    INTEGER                  NOT NULL,
            status          VARCHAR(16)              DEFAULT 'PENDING' NOT NULL,
            attempts        INTEGER                  DEFAULT 0 NOT NULL,
            next_attempt_at TIMESTAMP(6) WITH TIME ZONE,
            last_error      VARCHAR(2000),
            published_at    TIMESTAMP(6) WITH TIME ZONE,
            CONSTRAINT %s_id_uk UNIQUE (id)
        )"""
            .formatted(t, n),
        // H2 keeps index names per schema, so a qualified table gets a qualified index name.
        "CREATE INDEX IF NOT EXISTS %s_pending_idx ON %s (status, partition_no, seq)"
            .formatted(table.schema() == null ? n : table.schema() + "." + n, t));
  }

  @Override
  public boolean isMissingTable(SQLException e) {
    return "42S02".equals(e.getSQLState()) || "42S04".equals(e.getSQLState());
  }

  /** H2's {@code NOT_ENOUGH_RIGHTS_FOR_1}. */
  @Override
  public boolean isPermissionDenied(SQLException e) {
    return "90096".equals(e.getSQLState()) || super.isPermissionDenied(e);
  }
}
