package dev.outboxkit.relay.internal;

import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.relay.ParkedEvent;
import dev.outboxkit.relay.ParkedEvents;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import java.util.UUID;

/** {@link ParkedEvents} on the outbox table: rows with status {@code DEAD}. */
public final class JdbcParkedEvents implements ParkedEvents {

  private final Jdbc jdbc;
  private final OutboxDialect dialect;
  private final String t;
  private final Runnable onReplay;
  private final boolean reinsert;

  /** For the polling relay: a replay sets the row back to {@code PENDING} in place. */
  public JdbcParkedEvents(Jdbc jdbc, OutboxDialect dialect, OutboxTable table, Runnable onReplay) {
    this(jdbc, dialect, table, onReplay, false);
  }

  /**
   * @param reinsert whether a replay deletes the parked row and inserts a fresh {@code PENDING}
   *     copy (same id, new {@code seq}) instead of updating it: the CDC relay needs the change to
   *     carry every column, and an update leaves PostgreSQL's unchanged TOASTed values (payloads
   *     over about 2 KB) out of the change, so Debezium would publish a placeholder instead
   */
  public JdbcParkedEvents(
      Jdbc jdbc, OutboxDialect dialect, OutboxTable table, Runnable onReplay, boolean reinsert) {
    this.jdbc = jdbc;
    this.dialect = dialect;
    this.t = table.qualifiedName();
    this.onReplay = onReplay;
    this.reinsert = reinsert;
  }

  @Override
  public List<ParkedEvent> list(int limit) {
    if (limit < 1) {
      throw new IllegalArgumentException("limit must be at least 1 but was " + limit);
    }
    return jdbc.unchecked(
        "Could not list parked events in " + t,
        c -> {
          try (PreparedStatement statement =
              c.prepareStatement(
                  "SELECT seq, id, aggregatetype, aggregateid, type, attempts, last_error,"
                      + " created_at FROM "
                      + t
                      + " WHERE status = 'DEAD' ORDER BY seq")) {
            statement.setMaxRows(limit);
            List<ParkedEvent> events = new ArrayList<>();
            try (ResultSet rs = statement.executeQuery()) {
              while (rs.next()) {
                events.add(
                    new ParkedEvent(
                        rs.getLong("seq"),
                        dialect.getUuid(rs, "id"),
                        rs.getString("aggregatetype"),
                        rs.getString("aggregateid"),
                        rs.getString("type"),
                        rs.getInt("attempts"),
                        rs.getString("last_error"),
                        Objects.requireNonNull(dialect.getInstant(rs, "created_at"))));
              }
            }
            return events;
          }
        });
  }

  @Override
  public long count() {
    return jdbc.unchecked(
        "Could not count parked events in " + t,
        c -> {
          try (PreparedStatement statement =
                  c.prepareStatement("SELECT COUNT(*) FROM " + t + " WHERE status = 'DEAD'");
              ResultSet rs = statement.executeQuery()) {
            rs.next();
            return rs.getLong(1);
          }
        });
  }

  @Override
  public int replay(Collection<UUID> ids) {
    if (reinsert) {
      int replayed = reinsert(List.copyOf(ids));
      onReplay.run();
      return replayed;
    }
    int replayed =
        byId(
            "UPDATE "
                + t
                + " SET status = 'PENDING', attempts = 0, next_attempt_at = NULL"
                + " WHERE status = 'DEAD' AND id = ?",
            ids,
            "replay");
    onReplay.run();
    return replayed;
  }

  @Override
  public int replayAll() {
    if (reinsert) {
      int replayed = 0;
      for (List<UUID> page = deadIds(500); !page.isEmpty(); page = deadIds(500)) {
        replayed += reinsert(page);
      }
      onReplay.run();
      return replayed;
    }
    int replayed =
        jdbc.unchecked(
            "Could not replay parked events in " + t,
            c -> {
              try (PreparedStatement statement =
                  c.prepareStatement(
                      "UPDATE "
                          + t
                          + " SET status = 'PENDING', attempts = 0, next_attempt_at = NULL"
                          + " WHERE status = 'DEAD'")) {
                return statement.executeUpdate();
              }
            });
    onReplay.run();
    return replayed;
  }

  @Override
  public int purge(Collection<UUID> ids) {
    return byId("DELETE FROM " + t + " WHERE status = 'DEAD' AND id = ?", ids, "purge");
  }

  private List<UUID> deadIds(int limit) {
    return jdbc.unchecked(
        "Could not list parked events in " + t,
        c -> {
          try (PreparedStatement statement =
              c.prepareStatement("SELECT id FROM " + t + " WHERE status = 'DEAD' ORDER BY seq")) {
            statement.setMaxRows(limit);
            List<UUID> ids = new ArrayList<>();
            try (ResultSet rs = statement.executeQuery()) {
              while (rs.next()) {
                ids.add(dialect.getUuid(rs, "id"));
              }
            }
            return ids;
          }
        });
  }

  /**
   * Replaces each parked row by a fresh pending copy, in one transaction. The row is read with a
   * lock and the copy inserted only if the delete removed it: a purge (or another replay) that
   * commits first wins, and the event is not brought back.
   */
  private int reinsert(List<UUID> ids) {
    if (ids.isEmpty()) {
      return 0;
    }
    try {
      return jdbc.inTransaction(
          c -> {
            int replayed = 0;
            try (PreparedStatement select =
                    c.prepareStatement(
                        "SELECT id, aggregatetype, aggregateid, type, payload, headers, tenant,"
                            + " created_at, partition_no FROM "
                            + t
                            + " WHERE status = 'DEAD' AND id = ? FOR UPDATE");
                PreparedStatement delete =
                    c.prepareStatement("DELETE FROM " + t + " WHERE status = 'DEAD' AND id = ?");
                PreparedStatement insert =
                    c.prepareStatement(
                        "INSERT INTO "
                            + t
                            + " (id, aggregatetype, aggregateid, type, payload, headers, tenant,"
                            + " created_at, partition_no, status, attempts)"
                            + " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'PENDING', 0)")) {
              for (UUID id : ids) {
                dialect.setUuid(select, 1, id);
                try (ResultSet rs = select.executeQuery()) {
                  if (!rs.next()) {
                    continue;
                  }
                  dialect.setUuid(insert, 1, id);
                  insert.setString(2, rs.getString("aggregatetype"));
                  insert.setString(3, rs.getString("aggregateid"));
                  insert.setString(4, rs.getString("type"));
                  insert.setBytes(5, rs.getBytes("payload"));
                  insert.setString(6, rs.getString("headers"));
                  insert.setString(7, rs.getString("tenant"));
                  dialect.setInstant(
                      insert, 8, Objects.requireNonNull(dialect.getInstant(rs, "created_at")));
                  insert.setInt(9, rs.getInt("partition_no"));
                }
                dialect.setUuid(delete, 1, id);
                if (delete.executeUpdate() == 0) {
                  continue;
                }
                insert.executeUpdate();
                replayed++;
              }
            }
            return replayed;
          });
    } catch (java.sql.SQLException e) {
      throw new dev.outboxkit.outbox.OutboxStoreException(
          "Could not replay parked events in " + t, e);
    }
  }

  private int byId(String sql, Collection<UUID> ids, String what) {
    List<UUID> copy = List.copyOf(ids);
    if (copy.isEmpty()) {
      return 0;
    }
    try {
      return jdbc.inTransaction(
          c -> {
            try (PreparedStatement statement = c.prepareStatement(sql)) {
              int changed = 0;
              for (UUID id : copy) {
                dialect.setUuid(statement, 1, id);
                changed += statement.executeUpdate();
              }
              return changed;
            }
          });
    } catch (java.sql.SQLException e) {
      throw new dev.outboxkit.outbox.OutboxStoreException(
          "Could not " + what + " parked events in " + t, e);
    }
  }
}
