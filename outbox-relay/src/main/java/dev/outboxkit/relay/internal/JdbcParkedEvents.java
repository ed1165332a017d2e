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

  public JdbcParkedEvents(Jdbc jdbc, OutboxDialect dialect, OutboxTable table, Runnable onReplay) {
    this.jdbc = jdbc;
    this.dialect = dialect;
    this.t = table.qualifiedName();
    this.onReplay = onReplay;
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
