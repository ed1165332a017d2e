package dev.outboxkit.relay.internal.dialect;

import dev.outboxkit.outbox.OutboxTable;
import java.util.List;

/** The relay's tables on MySQL 8 (InnoDB). */
class MySqlRelaySql extends RelaySql {

  static final String NAME = "mysql";

  @Override
  public List<String> createStatements(
      OutboxTable outbox, OutboxTable leases, OutboxTable members) {
    return List.of(
        """
        CREATE TABLE IF NOT EXISTS %s (
            partition_no INT          NOT NULL,
            owner_id     VARCHAR(255) NULL,
            epoch        BIGINT       NOT NULL DEFAULT 0,
            expires_at   DATETIME(6)  NULL,
            PRIMARY KEY (partition_no)
        ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin\
        """
            .formatted(leases.qualifiedName()),
        """
        CREATE TABLE IF NOT EXISTS %s (
            member_id    VARCHAR(255) NOT NULL,
            heartbeat_at DATETIME(6)  NOT NULL,
            expires_at   DATETIME(6)  NOT NULL,
            PRIMARY KEY (member_id)
        ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin\
        """
            .formatted(members.qualifiedName()));
  }

  /** MySQL has no {@code ADD COLUMN IF NOT EXISTS}. */
  @Override
  public boolean addColumnIsIdempotent() {
    return false;
  }

  /** MySQL has no {@code CREATE INDEX IF NOT EXISTS}. */
  @Override
  public String createPendingSeqIndex(OutboxTable outbox) {
    return "CREATE INDEX %s_pending_seq_idx ON %s (status, seq)"
        .formatted(outbox.name(), outbox.qualifiedName());
  }

  @Override
  public boolean indexIsIdempotent() {
    return false;
  }

  /** MySQL refuses {@code LIMIT} in a subquery of {@code IN}, but deletes with a limit itself. */
  @Override
  public String deletePublished(String outbox) {
    return "DELETE FROM "
        + outbox
        + " WHERE status = 'PUBLISHED' AND published_at < ? ORDER BY seq LIMIT ?";
  }

  @Override
  public String createAuditTable() {
    return """
        CREATE TABLE IF NOT EXISTS %s (
            id             BIGINT        NOT NULL AUTO_INCREMENT,
            occurred_at    DATETIME(6)   NOT NULL,
            principal      VARCHAR(255)  NOT NULL,
            source_address VARCHAR(255)  NULL,
            operation      VARCHAR(32)   NOT NULL,
            target         VARCHAR(4000) NOT NULL,
            item_count     INT           NOT NULL,
            outcome        VARCHAR(16)   NOT NULL,
            reason         VARCHAR(1000) NULL,
            PRIMARY KEY (id)
        ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin""";
  }
}
