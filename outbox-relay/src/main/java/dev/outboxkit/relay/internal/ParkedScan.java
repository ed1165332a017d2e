package dev.outboxkit.relay.internal;

import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.relay.ParkedEvent;
import dev.outboxkit.relay.ParkedFilter;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.UUID;

/**
 * Reads parked rows for the bulk operations, page by page in {@code seq} order up to a snapshot of
 * the newest parked {@code seq}, and applies a {@link ParkedFilter} in Java: the failure
 * fingerprint is computed from {@code last_error}, not stored, so the filter cannot run in SQL.
 * Replayed copies get a {@code seq} above the snapshot and purged rows are gone, so a scan that
 * changes the rows it visits still visits each once.
 */
final class ParkedScan {

  /** Rows read per statement. */
  static final int PAGE = 500;

  private static final String COLUMNS =
      "SELECT seq, id, aggregatetype, aggregateid, type, attempts, last_error, created_at FROM ";

  private final OutboxDialect dialect;
  private final String t;

  ParkedScan(OutboxDialect dialect, String t) {
    this.dialect = dialect;
    this.t = t;
  }

  /** A parked row: its primary key and its event's id. */
  record Parked(long seq, UUID id) {}

  /**
   * The parked ones of {@code ids} whose row's seq is at most {@code upTo} (a bulk call's newest
   * parked seq when it began, {@link Long#MAX_VALUE} for a call by ids), ordered by their seq, by a
   * plain read: no lock, so an id of no parked row (a typo, an event replayed and published
   * meanwhile) locks no gap on MySQL and MariaDB; the caller changes the rows it found by primary
   * key, rechecking that they are parked.
   */
  List<Parked> parked(Connection c, List<UUID> ids, long upTo) throws SQLException {
    List<Parked> parked = new ArrayList<>(ids.size());
    try (PreparedStatement select =
        c.prepareStatement(
            "SELECT seq FROM " + t + " WHERE status = 'DEAD' AND id = ? AND seq <= ?")) {
      for (UUID id : ids) {
        dialect.setUuid(select, 1, id);
        select.setLong(2, upTo);
        try (ResultSet rs = select.executeQuery()) {
          if (rs.next()) {
            parked.add(new Parked(rs.getLong(1), id));
          }
        }
      }
    }
    parked.sort(Comparator.comparingLong(Parked::seq));
    return parked;
  }

  /** The newest parked {@code seq}, or {@link Long#MIN_VALUE} when none is parked. */
  long newestSeq(Connection c) throws SQLException {
    try (PreparedStatement statement =
            c.prepareStatement("SELECT MAX(seq) FROM " + t + " WHERE status = 'DEAD'");
        ResultSet rs = statement.executeQuery()) {
      rs.next();
      long max = rs.getLong(1);
      return rs.wasNull() ? Long.MIN_VALUE : max;
    }
  }

  /**
   * The next page of matching rows after {@code after}: at most {@link #PAGE} rows are read, so the
   * result may be empty while more rows follow; {@link Page#last()} says where to go on from.
   */
  Page page(Connection c, ParkedFilter filter, long after, long upTo) throws SQLException {
    if (!filter.ids().isEmpty()) {
      return byIds(c, filter, after, upTo);
    }
    try (PreparedStatement statement =
        c.prepareStatement(
            COLUMNS + t + " WHERE status = 'DEAD' AND seq > ? AND seq <= ? ORDER BY seq")) {
      statement.setLong(1, after);
      statement.setLong(2, upTo);
      statement.setMaxRows(PAGE);
      return read(statement, filter, after);
    }
  }

  /** The named rows (one statement per id: portable and the lists are operator-sized). */
  private Page byIds(Connection c, ParkedFilter filter, long after, long upTo) throws SQLException {
    if (after != Long.MIN_VALUE) {
      return new Page(List.of(), upTo, false);
    }
    List<ParkedEvent> events = new ArrayList<>();
    try (PreparedStatement statement =
        c.prepareStatement(COLUMNS + t + " WHERE status = 'DEAD' AND id = ? AND seq <= ?")) {
      for (UUID id : filter.ids()) {
        dialect.setUuid(statement, 1, id);
        statement.setLong(2, upTo);
        events.addAll(read(statement, filter, after).events());
      }
    }
    events.sort(java.util.Comparator.comparingLong(ParkedEvent::seq));
    return new Page(events, upTo, false);
  }

  private Page read(PreparedStatement statement, ParkedFilter filter, long after)
      throws SQLException {
    List<ParkedEvent> events = new ArrayList<>();
    long last = after;
    int read = 0;
    try (ResultSet rs = statement.executeQuery()) {
      while (rs.next()) {
        read++;
        ParkedEvent event = event(rs);
        last = event.seq();
        if (filter.matches(event)) {
          events.add(event);
        }
      }
    }
    return new Page(events, last, read == PAGE);
  }

  private ParkedEvent event(ResultSet rs) throws SQLException {
    return new ParkedEvent(
        rs.getLong("seq"),
        dialect.getUuid(rs, "id"),
        rs.getString("aggregatetype"),
        rs.getString("aggregateid"),
        rs.getString("type"),
        rs.getInt("attempts"),
        rs.getString("last_error"),
        Objects.requireNonNull(dialect.getInstant(rs, "created_at")));
  }

  /** One page: the matching events, the last {@code seq} read, and whether more rows may follow. */
  record Page(List<ParkedEvent> events, long last, boolean more) {}
}
