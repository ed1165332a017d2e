package dev.outboxkit.relay.internal;

import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.relay.AuditEntry.Operation;
import dev.outboxkit.relay.internal.dialect.RelaySql;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.UUID;

/**
 * The purge of parked events, by ids and by age (the parked retention). Rows are found by a plain
 * read and deleted by primary key ({@link RelaySql#deleteBySeq}), so that only rows that are there
 * and parked are locked: on MySQL and MariaDB under {@code REPEATABLE READ}, a {@code DELETE …
 * WHERE id = ?} that finds no row (a typo, an event replayed and published meanwhile) locks the gap
 * of the id index where the id would be until the purge commits, and for a recent id that gap is
 * where every new row goes: the application's appends and the CDC relay's parking inserts waited
 * for it.
 */
final class ParkedPurge {

  private final OutboxDialect dialect;
  private final RelaySql sql;
  private final String t;
  private final ParkedAudit audit;

  ParkedPurge(OutboxDialect dialect, RelaySql sql, String t, ParkedAudit audit) {
    this.dialect = dialect;
    this.sql = sql;
    this.t = t;
    this.audit = audit;
  }

  int purge(Collection<UUID> ids) {
    List<UUID> copy = List.copyOf(ids);
    String target = AuditText.ids(copy);
    return audit
        .audited(Operation.PURGE, target, c -> new ParkedAudit.Done(delete(c, copy), target))
        .count();
  }

  int purgeCreatedBefore(Instant cutoff, int limit) {
    if (limit < 1) {
      throw new IllegalArgumentException("limit must be at least 1 but was " + limit);
    }
    String filter = "created before " + cutoff;
    return audit
        .audited(
            Operation.RETENTION_PURGE,
            filter,
            c -> {
              List<UUID> ids = createdBefore(c, cutoff, limit);
              return new ParkedAudit.Done(delete(c, ids), AuditText.withIds(filter, ids));
            })
        .count();
  }

  /** Deletes the parked ones of {@code ids} on {@code c}, in the caller's transaction. */
  int delete(Connection c, List<UUID> ids) throws SQLException {
    return delete(c, ids, Long.MAX_VALUE);
  }

  /**
   * Deletes the parked ones of {@code ids} whose row's seq is at most {@code upTo} on {@code c}, in
   * the caller's transaction.
   */
  int delete(Connection c, List<UUID> ids, long upTo) throws SQLException {
    int deleted = 0;
    try (PreparedStatement delete =
        c.prepareStatement(sql.deleteBySeq(t) + " WHERE seq = ? AND status = 'DEAD'")) {
      for (ParkedScan.Parked row : new ParkedScan(dialect, t).parked(c, ids, upTo)) {
        delete.setLong(1, row.seq());
        deleted += delete.executeUpdate();
      }
    }
    return deleted;
  }

  private List<UUID> createdBefore(Connection c, Instant cutoff, int limit) throws SQLException {
    try (PreparedStatement statement =
        c.prepareStatement(
            "SELECT id FROM " + t + " WHERE status = 'DEAD' AND created_at < ? ORDER BY seq")) {
      dialect.setInstant(statement, 1, cutoff);
      statement.setMaxRows(limit);
      List<UUID> ids = new ArrayList<>();
      try (ResultSet rs = statement.executeQuery()) {
        while (rs.next()) {
          ids.add(dialect.getUuid(rs, "id"));
        }
      }
      return ids;
    }
  }
}
