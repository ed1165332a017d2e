package dev.outboxkit.relay.internal.dialect;

import dev.outboxkit.outbox.OutboxTable;
import java.sql.SQLException;
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

  /**
   * MySQL and MariaDB materialize each derived table and sort it again for the window and the outer
   * {@code ORDER BY}: with the wide rows in them (payloads are {@code LONGBLOB}) that copied every
   * row twice and took most of the statement's time (EXPLAIN ANALYZE on MySQL 8.0, 2,000 rows of 1
   * KiB: the index walk 7–14 ms of 28–76 ms). So the subqueries carry only {@code seq} and the
   * size, and the rows within the budget are read once, by primary key, in the same statement (one
   * snapshot, so the same rows). docs/benchmarks.md, "MySQL and MariaDB: the read's plan".
   */
  @Override
  public String budgetedSeqOrderRead(String table, String columns, String rowBytes, String where) {
    String qualified =
        java.util.Arrays.stream(columns.split(","))
            .map(c -> "o." + c.strip())
            .collect(java.util.stream.Collectors.joining(", "));
    return "SELECT "
        + qualified
        + ", b.upto FROM (SELECT w.seq, w.row_bytes, SUM(w.row_bytes) OVER (ORDER BY w.seq ROWS"
        + " BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS upto FROM (SELECT seq, "
        + rowBytes
        + " AS row_bytes FROM "
        + table
        + where
        + " ORDER BY seq LIMIT ?) w) b JOIN "
        + table
        + " o ON o.seq = b.seq WHERE b.upto - b.row_bytes < ? ORDER BY b.seq";
  }

  /**
   * InnoDB locks the index records a statement scans, and under {@code REPEATABLE READ} the gaps
   * before them. Left to choose, MySQL and MariaDB reached {@code status = 'PENDING' AND seq IN
   * (…)} through the index {@code (status, partition_no, seq)}: a scan of every pending row with
   * next-key locks (840 row locks to delete 19 rows), which waited for a writer's uncommitted row
   * while the writer's next row waited for a gap the scan had locked. InnoDB then rolled back the
   * writer, the application's transaction. Through the primary key, each {@code seq} is one record
   * lock on a committed row the relay read. A single-table {@code DELETE} takes no index hint; the
   * multiple-table form does.
   */
  @Override
  public String deleteBySeq(String table) {
    return "DELETE " + table + " FROM " + table + " FORCE INDEX (PRIMARY)";
  }

  /** As {@link #deleteBySeq}: an {@code UPDATE} takes the hint in its single-table form. */
  @Override
  public String updateBySeq(String table) {
    return "UPDATE " + table + " FORCE INDEX (PRIMARY)";
  }

  /**
   * {@code published_at} is in no index, so a {@code DELETE … WHERE status = 'PUBLISHED' AND
   * published_at < ?} reads every kept row and, under {@code REPEATABLE READ}, keeps a next-key
   * lock on each, the first one covering the gap where every writer's new pending row goes: writers
   * waited for the whole scan, past {@code innodb_lock_wait_timeout} with millions of kept rows
   * (review14 finding 2).
   */
  @Override
  public boolean purgesPublishedByPrimaryKey() {
    return true;
  }

  /**
   * Leaves the values out of "Duplicate entry 'card-4111…-PENDING' for key 'outbox_event.k'"
   * (errors 1062 and 1586, MariaDB's with "(conn=n) " before it), keeping the key's name: a unique
   * key a team adds to the outbox table can hold anything the events carry. The other messages that
   * quote a value (1292, 1366: a value a column cannot take) cannot come from the statements on
   * parked events, which copy stored rows or delete them.
   */
  @Override
  public String failureMessage(SQLException e, String firstLine) {
    if (e.getErrorCode() != 1062 && e.getErrorCode() != 1586) {
      return firstLine;
    }
    String entry = "Duplicate entry '";
    int start = firstLine.indexOf(entry);
    int end = firstLine.lastIndexOf("' for key '");
    if (start < 0 || end < start + entry.length()) {
      return "Duplicate entry (the message left out: it quotes the key's values)";
    }
    return firstLine.substring(0, start)
        + "Duplicate entry (values left out)"
        + firstLine.substring(end + 1);
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
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin\
    """;
  }
}
