package dev.outboxkit.relay.internal;

import dev.outboxkit.outbox.OutboxHeaders;
import dev.outboxkit.outbox.jdbc.OutboxColumns;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.relay.AuditEntry.Operation;
import dev.outboxkit.relay.ParkedEvents;
import dev.outboxkit.relay.internal.dialect.RelaySql;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import org.jspecify.annotations.Nullable;

/**
 * The replay of parked events: each parked row is replaced by a fresh {@code PENDING} copy (same
 * id, new {@code seq}), in the order the events were appended.
 *
 * <p>The copy is pending as of now: its {@code created_at} is the replay time, and the append time
 * moves to the {@link OutboxHeaders#APPENDED_AT} header (kept from an earlier replay). Every age
 * the relay reports counts from {@code created_at}: the oldest pending event ({@code outbox.lag},
 * the health's lag), the delivery latency and the Kafka timestamp. With the old time an event
 * parked three days ago read as three days of lag right after its replay and fired the lag alerts,
 * and a broker with {@code log.message.timestamp.before.max.ms} could refuse it. Kept in a header
 * rather than a column, so the schema does not change.
 *
 * <p>Rows are found by a plain read and then locked and deleted by primary key: a locking read by
 * an id without a row would lock, on MySQL and MariaDB under {@code REPEATABLE READ}, the gap of
 * the id index where that id would be, which for a recent id is where every new row goes.
 */
final class ParkedReplay {

  private final OutboxDialect dialect;
  private final RelaySql sql;
  private final String t;
  private final ParkedAudit audit;
  private final Runnable onReplay;
  private final Clock clock;
  private final ParkedScan scan;

  ParkedReplay(
      OutboxDialect dialect,
      RelaySql sql,
      String t,
      ParkedAudit audit,
      Runnable onReplay,
      Clock clock) {
    this.dialect = dialect;
    this.sql = sql;
    this.t = t;
    this.audit = audit;
    this.onReplay = onReplay;
    this.clock = clock;
    this.scan = new ParkedScan(dialect, t);
  }

  /**
   * Replays in transactions of at most {@link ParkedEvents#MAX_REPLAY_BATCH} ids, cut after the ids
   * are put in the order their events were appended (their rows' seq): each copy takes the next seq
   * and the relay sends a key's events in seq order, so the batches must follow that order too, not
   * the caller's. A batch that fails stops the call: the relay is still woken for the batches
   * already committed, and the exception says how many were replayed.
   */
  int replay(Collection<UUID> ids) {
    List<UUID> ordered = inSeqOrder(List.copyOf(ids));
    int replayed = 0;
    int committed = 0;
    // At most MAX_REPLAY_BATCH per transaction, so that each record lists every id it replayed
    // (what the CDC relay's replay proof reads); one transaction when there are none at all.
    int from = 0;
    do {
      List<UUID> batch =
          ordered.subList(from, Math.min(ordered.size(), from + ParkedEvents.MAX_REPLAY_BATCH));
      String target = AuditText.ids(batch);
      try {
        replayed +=
            audit
                .audited(
                    Operation.REPLAY, target, c -> new ParkedAudit.Done(requeue(c, batch), target))
                .count();
      } catch (RuntimeException e) {
        if (committed == 0) {
          throw e;
        }
        onReplay.run();
        throw audit.partial(
            "Replayed "
                + replayed
                + " of "
                + ordered.size()
                + " requested events in "
                + committed
                + (committed == 1 ? " batch" : " batches")
                + "; batch "
                + (committed + 1)
                + " failed and the remaining "
                + (ordered.size() - from)
                + " were not replayed",
            e);
      }
      committed++;
      from += ParkedEvents.MAX_REPLAY_BATCH;
    } while (from < ordered.size());
    onReplay.run();
    return replayed;
  }

  /**
   * {@code ids} ordered by the seq of their rows; ids without a row keep their place relative to
   * each other at the end (they replay nothing, but their batch's record still names them). A
   * failed read leaves a FAILED record naming the ids as given.
   */
  private List<UUID> inSeqOrder(List<UUID> ids) {
    if (ids.size() <= 1) {
      return ids;
    }
    Map<UUID, Long> seqs =
        audit.read(
            Operation.REPLAY,
            AuditText.ids(ids),
            c -> {
              Map<UUID, Long> found = new HashMap<>();
              try (PreparedStatement select =
                  c.prepareStatement("SELECT seq FROM " + t + " WHERE id = ?")) {
                for (UUID id : ids) {
                  dialect.setUuid(select, 1, id);
                  try (ResultSet rs = select.executeQuery()) {
                    if (rs.next()) {
                      found.put(id, rs.getLong(1));
                    }
                  }
                }
              }
              return found;
            });
    List<UUID> ordered = new ArrayList<>(ids);
    ordered.sort(
        Comparator.comparing(
            (UUID id) -> seqs.getOrDefault(id, Long.MAX_VALUE), Comparator.naturalOrder()));
    return ordered;
  }

  /**
   * Replaces each parked row of {@code requested} by a fresh pending copy, on {@code c} in the
   * caller's transaction. The row is read with a lock and the copy inserted only if the delete
   * removed it: a purge (or another replay) that commits first wins, and the event is not brought
   * back.
   */
  int requeue(Connection c, List<UUID> requested) throws SQLException {
    return requeue(c, requested, Long.MAX_VALUE);
  }

  /** Like {@link #requeue(Connection, List)}, only rows whose seq is at most {@code upTo}. */
  int requeue(Connection c, List<UUID> requested, long upTo) throws SQLException {
    // In the order the events were appended, not the order the ids were given: each copy takes
    // the next seq, and the relay sends a key's events in seq order.
    List<ParkedScan.Parked> rows = scan.parked(c, requested, upTo);
    Instant pendingSince = clock.instant().truncatedTo(ChronoUnit.MICROS);
    int replayed = 0;
    try (PreparedStatement select =
            c.prepareStatement(
                "SELECT id, aggregatetype, aggregateid, type, payload, headers, tenant,"
                    + " created_at, partition_no FROM "
                    + t
                    + " WHERE seq = ? AND status = 'DEAD' FOR UPDATE");
        PreparedStatement delete =
            c.prepareStatement(sql.deleteBySeq(t) + " WHERE seq = ? AND status = 'DEAD'");
        PreparedStatement insert =
            c.prepareStatement(
                "INSERT INTO "
                    + t
                    + " (id, aggregatetype, aggregateid, type, payload, headers, tenant,"
                    + " created_at, partition_no, status, attempts)"
                    + " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'PENDING', 0)")) {
      for (ParkedScan.Parked row : rows) {
        select.setLong(1, row.seq());
        try (ResultSet rs = select.executeQuery()) {
          if (!rs.next()) {
            continue;
          }
          Instant appended = Objects.requireNonNull(dialect.getInstant(rs, "created_at"));
          dialect.setUuid(insert, 1, row.id());
          insert.setString(2, rs.getString("aggregatetype"));
          insert.setString(3, rs.getString("aggregateid"));
          insert.setString(4, rs.getString("type"));
          insert.setBytes(5, rs.getBytes("payload"));
          insert.setString(6, withAppendedAt(rs.getString("headers"), appended));
          insert.setString(7, rs.getString("tenant"));
          dialect.setInstant(insert, 8, pendingSince);
          insert.setInt(9, rs.getInt("partition_no"));
        }
        delete.setLong(1, row.seq());
        if (delete.executeUpdate() == 0) {
          continue;
        }
        insert.executeUpdate();
        replayed++;
      }
    }
    return replayed;
  }

  /**
   * The headers column with {@link OutboxHeaders#APPENDED_AT} added unless an earlier replay set
   * it. A column that is not valid headers JSON (an event parked for exactly that) is kept as it
   * is: the replay must not fail on it, and the relay parks it again with its reason.
   */
  static @Nullable String withAppendedAt(@Nullable String column, Instant appended) {
    Map<String, String> headers;
    try {
      headers = new LinkedHashMap<>(OutboxColumns.decodeHeaders(column));
    } catch (IllegalArgumentException unreadable) {
      return column;
    }
    headers.putIfAbsent(OutboxHeaders.APPENDED_AT, appended.toString());
    return OutboxColumns.encodeHeaders(headers);
  }
}
