package dev.outboxkit.relay.internal.cdc;

import dev.outboxkit.outbox.OutboxEvent;
import dev.outboxkit.outbox.jdbc.OutboxColumns;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.relay.AuditSchema;
import dev.outboxkit.relay.internal.Jdbc;
import dev.outboxkit.relay.internal.JdbcAuditTrail;
import dev.outboxkit.relay.internal.OutboxRows;
import dev.outboxkit.relay.internal.PendingEvent;
import dev.outboxkit.relay.internal.RelayMetrics;
import dev.outboxkit.relay.internal.RelaySettings;
import dev.outboxkit.relay.internal.delivery.DeliveryOutcome;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.kafka.connect.source.SourceRecord;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the CDC relay records in the outbox table: parked events by id and undecodable changes by
 * {@code seq} (inserting a {@code DEAD} copy from the change when the writer already deleted the
 * row), and published rows deleted in bulk. The stream's position is stored elsewhere (offsets
 * under the lease).
 *
 * <p>A change whose event has no row at all is either one whose writer deleted it in the same
 * transaction (parked from the change) or an engine's re-read of a replayed event's old insert
 * whose copy was published meanwhile (not parked again: the event was published). Nothing in the
 * outbox table tells them apart, so the audit trail does: the replay's record, written in the
 * replay's transaction ({@link JdbcAuditTrail#provesReplayed}).
 */
final class CdcRowStore {

  private static final Logger log = LoggerFactory.getLogger(CdcRowStore.class);

  private final RelaySettings settings;
  private final Jdbc jdbc;
  private final OutboxDialect dialect;
  private final OutboxRows rows;
  private final RelayMetrics metrics;
  private final String t;
  private final JdbcAuditTrail audit;

  CdcRowStore(
      RelaySettings settings,
      Jdbc jdbc,
      OutboxDialect dialect,
      OutboxRows rows,
      RelayMetrics metrics) {
    this.settings = settings;
    this.jdbc = jdbc;
    this.dialect = dialect;
    this.rows = rows;
    this.metrics = metrics;
    this.t = settings.table().qualifiedName();
    this.audit =
        new JdbcAuditTrail(jdbc, dialect, AuditSchema.table(settings.table()), settings.clock());
  }

  /** What a park did. */
  private enum Parked {
    /** Its pending row, or a {@code DEAD} copy built from the event, now holds it. */
    NOW,
    /** A row of its id is there and not pending: published and kept, parked, or replayed. */
    NOT_PENDING,
    /** No row of it, and a replay replaced it: the replay's copy was published (or purged). */
    REPLACED_BY_REPLAY
  }

  /**
   * Records a parked event: its pending row becomes {@code DEAD} with the error (or, when the
   * writer already deleted the row, a {@code DEAD} copy is inserted), so operators list and replay
   * it like any parked event. A row that is no longer pending (published and kept, or parked
   * before: an engine re-reads the inserts after its last stored offset) is left as it is, and so
   * is a replayed copy of it (same id, a new {@code seq}): the row is found by id and {@code seq}.
   * An event without any row whose replay the audit trail proves is not parked either: its old
   * insert was read again after the replay's copy was published (or parked and purged), and a
   * {@code DEAD} copy would list a published event as parked, sent a second time by the next
   * replay. The delivery core already logged it and sent the dead-letter copy.
   */
  void park(PendingEvent pending, String error, int attempts) {
    String message = error.length() > 2000 ? error.substring(0, 2000) : error;
    OutboxEvent e = pending.event();
    Parked parked;
    try {
      parked =
          jdbc.autoCommit(
              c -> {
                try (PreparedStatement update =
                    c.prepareStatement(
                        "UPDATE "
                            + t
                            + " SET status = 'DEAD',"
                            + " attempts = CASE WHEN attempts > ? THEN attempts ELSE ? END,"
                            + " last_error = ?"
                            + " WHERE id = ? AND seq = ? AND status = 'PENDING'")) {
                  // Never lower the count: a park that arrives late (its engine deposed while the
                  // send was in flight) may find more attempts recorded by the new owner.
                  update.setInt(1, attempts);
                  update.setInt(2, attempts);
                  update.setString(3, message);
                  dialect.setUuid(update, 4, e.id());
                  // By seq too: a replay keeps the id and takes a new seq, and a decision about the
                  // old row (an engine re-reading its insert) must not park the replayed copy.
                  update.setLong(5, pending.seq());
                  if (update.executeUpdate() > 0) {
                    return Parked.NOW;
                  }
                  if (exists(c, e.id())) {
                    // Its row is not pending any more: an engine that re-read an old insert decided
                    // again about an event published (and kept) or parked before, or replayed
                    // since (the copy is decided on its own insert).
                    return Parked.NOT_PENDING;
                  }
                  if (replacedByReplay(c, e.id())) {
                    return Parked.REPLACED_BY_REPLAY;
                  }
                }
                insertDead(
                    c,
                    new ChangeDecoder.RowImage(
                        e.id(),
                        e.aggregateType(),
                        e.aggregateId(),
                        e.eventType(),
                        e.payload(),
                        OutboxColumns.encodeHeaders(e.headers()),
                        e.tenant(),
                        e.createdAt(),
                        e.partition()),
                    attempts,
                    message);
                return Parked.NOW;
              });
    } catch (SQLException ex) {
      // Not parked: fail the batch, so it is read again and nothing is lost.
      throw new IllegalStateException("Could not park event " + e.id() + ": " + ex, ex);
    }
    if (parked == Parked.NOW) {
      // Counted once committed: the parked gauges count the table at once when this number moves.
      metrics.parked();
    } else if (parked == Parked.REPLACED_BY_REPLAY) {
      log.warn(
          "Event {} (seq {}) was not parked again: its insert was read again (an engine restarted"
              + " from an older position) after a replay replaced it and the replay's copy left"
              + " the table (published, or parked and purged)",
          e.id(),
          pending.seq());
    }
  }

  /**
   * Whether the audit trail proves that a replay replaced event {@code id}. A failed look-up
   * answers no, with a warning: the event is then parked (at worst a parked duplicate of a
   * published event, never an event neither published nor parked).
   */
  private boolean replacedByReplay(Connection c, UUID id) {
    try {
      return audit.provesReplayed(c, id);
    } catch (SQLException ex) {
      log.warn(
          "Could not read the audit trail of replays for event {}; parked it from its change, a"
              + " duplicate if a replay's copy of it was published (the relay's DataSource user"
              + " needs SELECT on the audit table, see docs/roles.md): {}",
          id,
          ex.toString());
      return false;
    }
  }

  private void insertDead(Connection c, ChangeDecoder.RowImage row, int attempts, String message)
      throws SQLException {
    try (PreparedStatement insert =
        c.prepareStatement(
            "INSERT INTO "
                + t
                + " (id, aggregatetype, aggregateid, type, payload, headers, tenant,"
                + " created_at, partition_no, status, attempts, last_error)"
                + " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'DEAD', ?, ?)")) {
      dialect.setUuid(insert, 1, row.id());
      insert.setString(2, row.aggregateType());
      insert.setString(3, row.aggregateId());
      insert.setString(4, row.type());
      insert.setBytes(5, row.payload());
      insert.setString(6, row.headers());
      insert.setString(7, row.tenant());
      dialect.setInstant(insert, 8, row.createdAt());
      insert.setInt(9, row.partition());
      insert.setInt(10, attempts);
      insert.setString(11, message);
      insert.executeUpdate();
    }
  }

  /** How an undecodable change was recorded. */
  private enum Parking {
    /** Its row, or a {@code DEAD} row built from the change, now holds it with the error. */
    PARKED,
    /** A row of its id is there already, not pending (parked before an engine restart). */
    ALREADY_THERE,
    /** No row of its id, and a replay replaced it (mended and replayed, the copy published). */
    REPLACED_BY_REPLAY,
    /** Its row is gone and not even its stored columns can be read. */
    UNREADABLE
  }

  /**
   * Parks a change that cannot be read as an event: its row by {@code seq}, or, when the writer
   * already deleted the row, a {@code DEAD} row built from the change's columns (the raw headers
   * kept), so an operator sees it, can mend it and replay it. A failed write fails the batch.
   */
  void parkUndecodable(SourceRecord record, RuntimeException error) {
    ChangeDecoder.RowRef row = ChangeDecoder.rowOf(record);
    String reason = "Undecodable row: " + error;
    String message = reason.length() > 2000 ? reason.substring(0, 2000) : reason;
    Parking parking;
    try {
      parking =
          jdbc.autoCommit(
              c -> {
                if (row.seq() != null
                    && rows.parkUndecodable(
                            c,
                            List.of(
                                new OutboxRows.Undecodable(
                                    row.seq(), row.aggregateId(), error.toString())))
                        > 0) {
                  return Parking.PARKED;
                }
                ChangeDecoder.RowImage image = ChangeDecoder.imageOf(record);
                if (image == null) {
                  return Parking.UNREADABLE;
                }
                if (exists(c, image.id())) {
                  return Parking.ALREADY_THERE;
                }
                if (replacedByReplay(c, image.id())) {
                  return Parking.REPLACED_BY_REPLAY;
                }
                insertDead(c, image, 1, message);
                return Parking.PARKED;
              });
    } catch (SQLException e) {
      // Not parked: fail the batch, so it is read again and nothing is lost.
      throw new IllegalStateException("Could not park undecodable row " + row.seq() + ": " + e, e);
    }
    switch (parking) {
      case PARKED -> {
        metrics.parked();
        log.error(
            "Parked outbox row seq {} (aggregate id {}): its change cannot be read as an event: {}",
            row.seq(),
            row.aggregateId(),
            error.toString());
      }
      case ALREADY_THERE ->
          log.warn(
              "A change of outbox row seq {} (aggregate id {}) cannot be read as an event; a row"
                  + " of its id was recorded before (parked earlier): {}",
              row.seq(),
              row.aggregateId(),
              error.toString());
      case REPLACED_BY_REPLAY ->
          log.warn(
              "A change of outbox row seq {} (aggregate id {}) cannot be read as an event; it was"
                  + " read again after a replay replaced its event and the copy left the table"
                  + " (published, or parked and purged), so it is not parked again: {}",
              row.seq(),
              row.aggregateId(),
              error.toString());
      case UNREADABLE ->
          log.error(
              "A change of the outbox table cannot be read as an event, its row is gone and not"
                  + " even its id, keys and creation time can be read (seq {}, aggregate id {}),"
                  + " so it cannot be parked: {}",
              row.seq(),
              row.aggregateId(),
              error.toString());
    }
  }

  private boolean exists(Connection c, UUID id) throws SQLException {
    try (PreparedStatement select =
        c.prepareStatement("SELECT COUNT(*) FROM " + t + " WHERE id = ?")) {
      dialect.setUuid(select, 1, id);
      try (ResultSet rs = select.executeQuery()) {
        rs.next();
        return rs.getLong(1) > 0;
      }
    }
  }

  /**
   * Records failed attempts that will be retried on their rows ({@code attempts}, {@code
   * next_attempt_at}, {@code last_error}), as the polling relay does, so a restarted engine goes on
   * counting instead of starting again at zero. The row's update is a change the decoder skips (it
   * publishes inserts only). A row the writer already deleted keeps no count; a failed write only
   * loses the count, not the event.
   *
   * <p>A recorded count never goes down: an engine's outcome can arrive late (its send was in
   * flight while its lease lapsed, and the instance that took over read the row's count and
   * recorded more attempts), and writing its own, lower count would let the event be tried more
   * than {@code retry.max-attempts} times. The late error and retry time are recorded as they are.
   */
  void recordRetries(List<DeliveryOutcome.Failure> retries) {
    if (retries.isEmpty()) {
      return;
    }
    try {
      jdbc.autoCommit(
          c -> {
            try (PreparedStatement retry =
                c.prepareStatement(
                    "UPDATE "
                        + t
                        + " SET attempts = CASE WHEN attempts > ? THEN attempts ELSE ? END,"
                        + " next_attempt_at = ?, last_error = ?"
                        + " WHERE seq = ? AND status = 'PENDING'")) {
              for (DeliveryOutcome.Failure f : retries) {
                String error = f.error().length() > 2000 ? f.error().substring(0, 2000) : f.error();
                retry.setInt(1, f.attempts());
                retry.setInt(2, f.attempts());
                dialect.setInstant(
                    retry,
                    3,
                    f.nextAttemptAt() != null ? f.nextAttemptAt() : settings.clock().instant());
                retry.setString(4, error);
                retry.setLong(5, f.event().seq());
                retry.addBatch();
              }
              retry.executeBatch();
            }
            return null;
          });
    } catch (SQLException e) {
      log.warn(
          "Could not record {} failed attempt(s) on their rows; a restart would count them again"
              + " from the rows' last recorded attempts: {}",
          retries.size(),
          e.toString());
    }
  }

  /**
   * What a failed row recorded: its attempts and its retry time.
   *
   * @param attempts counted attempts so far
   * @param nextAttemptAt when it may be retried, or {@code null} when none was recorded
   */
  record EarlierFailure(int attempts, @Nullable Instant nextAttemptAt) {}

  /**
   * The failures recorded so far on pending rows (by this engine before a restart, or by the
   * polling relay), by {@code seq}: a restarted engine reads the stream's insert images again,
   * whose attempts are zero and which carry no retry time. Both are restored, so an event that
   * failed before goes on counting toward its parking and waits for the backoff its row records
   * (review19 F3: it went again at once, one backoff skipped per restart). Rows with a retry time
   * and no counted attempt (a broker outage, an access error) are read too, as at a polling lease
   * claim. By row, not by event id: a replayed event's copy has the old row's id, and its count
   * must not go to a re-read of the old insert (nor the other way).
   */
  Map<Long, EarlierFailure> failuresSoFar() {
    try {
      return jdbc.autoCommit(
          c -> {
            Map<Long, EarlierFailure> failures = new HashMap<>();
            try (PreparedStatement select =
                    c.prepareStatement(
                        "SELECT seq, attempts, next_attempt_at FROM "
                            + t
                            + " WHERE status = 'PENDING'"
                            + " AND (attempts > 0 OR next_attempt_at IS NOT NULL)");
                ResultSet rs = select.executeQuery()) {
              while (rs.next()) {
                failures.put(
                    rs.getLong("seq"),
                    new EarlierFailure(
                        rs.getInt("attempts"), dialect.getInstant(rs, "next_attempt_at")));
              }
            }
            return failures;
          });
    } catch (SQLException e) {
      log.warn(
          "Could not read the failures recorded on failed rows; their attempts are counted from"
              + " zero and they are retried at once: {}",
          e.toString());
      return Map.of();
    }
  }

  void markPublished(List<Long> seqs) {
    try {
      Instant at = settings.keepPublishedFor() == null ? null : settings.clock().instant();
      jdbc.autoCommit(c -> rows.markPublished(c, seqs, at));
    } catch (SQLException e) {
      // The events are not sent again (the stored position is what counts), but the rows stay in
      // the table until someone deletes them, and polling would send them again if it took over.
      // A refused statement (a DataSource user without DELETE, issue 20) repeats on every batch:
      // say so loudly and count it, so the pile-up is seen before the table grows.
      metrics.cleanupFailed(seqs.size());
      log.warn(
          "Could not {} {} published row(s) of {}: {} (they stay in the table; the relay's"
              + " DataSource user needs {} on it, see docs/roles.md)",
          settings.keepPublishedFor() == null ? "delete" : "mark",
          seqs.size(),
          t,
          e.toString(),
          settings.keepPublishedFor() == null ? "DELETE" : "UPDATE");
    }
  }
}
