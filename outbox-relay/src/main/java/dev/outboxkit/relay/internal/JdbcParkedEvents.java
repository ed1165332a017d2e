package dev.outboxkit.relay.internal;

import dev.outboxkit.outbox.OutboxHeaders;
import dev.outboxkit.outbox.OutboxStoreException;
import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.jdbc.OutboxColumns;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.relay.AuditActor;
import dev.outboxkit.relay.AuditEntry;
import dev.outboxkit.relay.AuditEntry.Operation;
import dev.outboxkit.relay.AuditSchema;
import dev.outboxkit.relay.AuditTrail;
import dev.outboxkit.relay.BulkResult;
import dev.outboxkit.relay.ParkedEvent;
import dev.outboxkit.relay.ParkedEvents;
import dev.outboxkit.relay.ParkedFilter;
import dev.outboxkit.relay.ParkedGroup;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;

/**
 * {@link ParkedEvents} on the outbox table: rows with status {@code DEAD}. Every listing and change
 * runs in one transaction together with its audit record ({@link JdbcAuditTrail}); a change that
 * fails leaves a {@code FAILED} record written afterwards in a transaction of its own.
 *
 * <p>A replay always replaces the parked row by a fresh {@code PENDING} copy (same id, new {@code
 * seq}), in both modes. Polling orders each key's events by {@code seq}, so an update that kept the
 * old {@code seq} would put the replayed event before later events of its key that still wait,
 * overtaking them; the copy goes to the end of its key's queue. The CDC relay needs the copy
 * anyway: the change must carry every column, and an update leaves PostgreSQL's unchanged TOASTed
 * values (payloads over about 2 KB) out of the change, so Debezium would publish a placeholder
 * instead.
 */
public final class JdbcParkedEvents implements ParkedEvents {

  /** The largest batch of one bulk transaction. */
  public static final int MAX_BATCH = 10_000;

  private final Jdbc jdbc;
  private final OutboxDialect dialect;
  private final String t;
  private final Runnable onReplay;
  private final ParkedScan scan;
  private final JdbcAuditTrail audit;
  private final AuditActor actor;
  private final Clock clock;

  /**
   * @param onReplay runs after a replay committed (the polling relay wakes up)
   * @param clock stamps the audit records and the time a replayed event becomes pending again
   */
  public JdbcParkedEvents(
      Jdbc jdbc, OutboxDialect dialect, OutboxTable table, Runnable onReplay, Clock clock) {
    this(
        jdbc,
        dialect,
        table.qualifiedName(),
        onReplay,
        new JdbcAuditTrail(jdbc, dialect, AuditSchema.table(table), clock),
        AuditActor.APPLICATION,
        clock);
  }

  private JdbcParkedEvents(
      Jdbc jdbc,
      OutboxDialect dialect,
      String t,
      Runnable onReplay,
      JdbcAuditTrail audit,
      AuditActor actor,
      Clock clock) {
    this.jdbc = jdbc;
    this.dialect = dialect;
    this.t = t;
    this.onReplay = onReplay;
    this.scan = new ParkedScan(dialect, t);
    this.audit = audit;
    this.actor = actor;
    this.clock = clock;
  }

  @Override
  public ParkedEvents as(AuditActor actor) {
    return new JdbcParkedEvents(
        jdbc, dialect, t, onReplay, audit, Objects.requireNonNull(actor, "actor"), clock);
  }

  @Override
  public AuditTrail auditTrail() {
    return audit;
  }

  @Override
  public List<ParkedEvent> list(int limit) {
    if (limit < 1) {
      throw new IllegalArgumentException("limit must be at least 1 but was " + limit);
    }
    List<ParkedEvent> events = new ArrayList<>();
    audited(
        Operation.LIST,
        "limit=" + limit,
        c -> {
          events.addAll(select(c, limit));
          return new Done(events.size(), "limit=" + limit);
        });
    return events;
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

  /**
   * Replays in transactions of at most {@link ParkedEvents#MAX_REPLAY_BATCH} ids, cut after the ids
   * are put in the order their events were appended (their rows' seq): each copy takes the next seq
   * and the relay sends a key's events in seq order, so the batches must follow that order too, not
   * the caller's. A batch that fails stops the call: the relay is still woken for the batches
   * already committed, and the exception says how many were replayed.
   */
  @Override
  public int replay(Collection<UUID> ids) {
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
            audited(Operation.REPLAY, target, c -> new Done(requeue(c, batch), target)).count();
      } catch (RuntimeException e) {
        if (committed == 0) {
          throw e;
        }
        onReplay.run();
        throw partial(
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
   * each other at the end (they replay nothing, but their batch's record still names them).
   */
  private List<UUID> inSeqOrder(List<UUID> ids) {
    if (ids.size() <= 1) {
      return ids;
    }
    Map<UUID, Long> seqs =
        jdbc.unchecked(
            "Could not list parked events in " + t,
            c -> {
              Map<UUID, Long> found = new java.util.HashMap<>();
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
        java.util.Comparator.comparing(
            (UUID id) -> seqs.getOrDefault(id, Long.MAX_VALUE),
            java.util.Comparator.naturalOrder()));
    return ordered;
  }

  /**
   * The failure of a bulk change after some of its batches committed: says what was done, keeps the
   * database's failure (sanitised) as the cause.
   */
  private OutboxStoreException partial(String done, RuntimeException e) {
    SQLException sql = DatabaseFailures.sqlCause(e);
    SQLException cause =
        sql != null
            ? DatabaseFailures.sanitized(sql)
            : new SQLException(DatabaseFailures.reason(e));
    return new OutboxStoreException(done, cause);
  }

  /**
   * Replays page by page (one transaction and one audit record each, naming the ids it resolved),
   * up to the newest event parked when the call began: events parked again meanwhile, or the copies
   * the replay inserted, are not visited twice.
   */
  @Override
  public int replayAll() {
    return (int) replay(ParkedFilter.all(), ParkedScan.PAGE, progress -> {}).changed();
  }

  @Override
  public List<ParkedGroup> groups(ParkedFilter filter) {
    Objects.requireNonNull(filter, "filter");
    String target = "groups: " + filter.describe();
    List<ParkedGroup> result = new ArrayList<>();
    audited(
        Operation.LIST,
        target,
        c -> {
          ParkedGroups groups = new ParkedGroups();
          long upTo = scan.newestSeq(c);
          long after = Long.MIN_VALUE;
          boolean more = true;
          while (more) {
            ParkedScan.Page page = scan.page(c, filter, after, upTo);
            page.events().forEach(groups::add);
            after = page.last();
            more = page.more();
          }
          result.addAll(groups.result());
          return new Done((int) Math.min(Integer.MAX_VALUE, groups.events()), target);
        });
    return result;
  }

  @Override
  public List<ParkedEvent> list(ParkedFilter filter, int limit) {
    Objects.requireNonNull(filter, "filter");
    if (limit < 1) {
      throw new IllegalArgumentException("limit must be at least 1 but was " + limit);
    }
    String target = "limit=" + limit + " " + filter.describe();
    List<ParkedEvent> events = new ArrayList<>();
    audited(
        Operation.LIST,
        target,
        c -> {
          long upTo = scan.newestSeq(c);
          long after = Long.MIN_VALUE;
          boolean more = true;
          while (more && events.size() < limit) {
            ParkedScan.Page page = scan.page(c, filter, after, upTo);
            page.events().stream().limit(limit - events.size()).forEach(events::add);
            after = page.last();
            more = page.more();
          }
          return new Done(events.size(), target);
        });
    return events;
  }

  @Override
  public BulkResult replay(ParkedFilter filter, int batchSize, Consumer<BulkResult> progress) {
    BulkResult result =
        bulk(Operation.REPLAY, filter, batchSize, progress, this::requeue, onReplay);
    onReplay.run();
    return result;
  }

  @Override
  public BulkResult purge(ParkedFilter filter, int batchSize, Consumer<BulkResult> progress) {
    return bulk(Operation.PURGE, filter, batchSize, progress, this::delete, () -> {});
  }

  /** A change to a batch of parked events, by id. */
  private interface Change {
    int apply(Connection c, List<UUID> ids) throws SQLException;
  }

  /**
   * Walks the parked events up to the newest parked when it began and changes those that match in
   * batches of {@code batchSize}: each batch one transaction with its audit record naming the
   * filter and the ids. A run that matches nothing leaves one record saying so. A failure after
   * some batches committed runs {@code afterPartial} (the replay's wake-up for the copies already
   * committed) and throws an exception saying how many events those batches changed.
   */
  private BulkResult bulk(
      Operation operation,
      ParkedFilter filter,
      int batchSize,
      Consumer<BulkResult> progress,
      Change change,
      Runnable afterPartial) {
    Objects.requireNonNull(filter, "filter");
    Objects.requireNonNull(progress, "progress");
    if (batchSize < 1 || batchSize > MAX_BATCH) {
      throw new IllegalArgumentException(
          "batchSize must be 1 to " + MAX_BATCH + " but was " + batchSize);
    }
    // A replay's record lists every event it replayed (see ParkedEvents.MAX_REPLAY_BATCH).
    int perTransaction =
        operation == Operation.REPLAY
            ? Math.min(batchSize, ParkedEvents.MAX_REPLAY_BATCH)
            : batchSize;
    String what = filter.describe();
    long upTo = jdbc.unchecked("Could not list parked events in " + t, scan::newestSeq);
    BulkResult result = BulkResult.NONE;
    List<UUID> batch = new ArrayList<>();
    long after = Long.MIN_VALUE;
    boolean more = true;
    boolean callback = false;
    try {
      while (more) {
        long from = after;
        ParkedScan.Page page =
            jdbc.unchecked(
                "Could not list parked events in " + t, c -> scan.page(c, filter, from, upTo));
        after = page.last();
        more = page.more();
        for (ParkedEvent event : page.events()) {
          batch.add(event.id());
          if (batch.size() == perTransaction) {
            result = commit(operation, what, batch, change, result);
            callback = true;
            progress.accept(result);
            callback = false;
            batch.clear();
          }
        }
      }
      if (!batch.isEmpty() || result.batches() == 0) {
        result = commit(operation, what, batch, change, result);
        callback = true;
        progress.accept(result);
      }
    } catch (RuntimeException e) {
      if (result.batches() == 0) {
        throw e;
      }
      afterPartial.run();
      if (callback || DatabaseFailures.sqlCause(e) == null) {
        // The caller's own progress callback (whatever its cause: its own database work too,
        // review15), or a defect here that is not the database's. No batch failed: the caller
        // gets it as it was, with its stack trace.
        throw e;
      }
      String verb = operation.name().toLowerCase(java.util.Locale.ROOT);
      throw partial(
          "Could not "
              + verb
              + " every parked event matching "
              + what
              + ": "
              + result.batches()
              + (result.batches() == 1 ? " batch" : " batches")
              + " committed ("
              + result.changed()
              + " of the "
              + result.matched()
              + " events they held were "
              + (operation == Operation.REPLAY ? "replayed" : "purged")
              + "), then one failed; the events after them were not "
              + (operation == Operation.REPLAY ? "replayed" : "purged"),
          e);
    }
    return result;
  }

  private BulkResult commit(
      Operation operation, String what, List<UUID> batch, Change change, BulkResult before) {
    List<UUID> ids = List.copyOf(batch);
    String target = ids.isEmpty() ? what + ": none matched" : AuditText.withIds(what, ids);
    int changed = audited(operation, target, c -> new Done(change.apply(c, ids), target)).count();
    return new BulkResult(
        before.batches() + 1, before.matched() + ids.size(), before.changed() + changed);
  }

  @Override
  public int purge(Collection<UUID> ids) {
    List<UUID> copy = List.copyOf(ids);
    String target = AuditText.ids(copy);
    return audited(
            Operation.PURGE,
            target,
            c ->
                new Done(
                    byId(c, "DELETE FROM " + t + " WHERE status = 'DEAD' AND id = ?", copy),
                    target))
        .count();
  }

  @Override
  public int purgeCreatedBefore(Instant cutoff, int limit) {
    if (limit < 1) {
      throw new IllegalArgumentException("limit must be at least 1 but was " + limit);
    }
    String filter = "created before " + cutoff;
    return audited(
            Operation.RETENTION_PURGE,
            filter,
            c -> {
              List<UUID> ids = createdBefore(c, cutoff, limit);
              int purged = byId(c, "DELETE FROM " + t + " WHERE status = 'DEAD' AND id = ?", ids);
              return new Done(purged, AuditText.withIds(filter, ids));
            })
        .count();
  }

  /** What a change did: how many events, and the target as recorded. */
  private record Done(int count, String target) {}

  /**
   * Runs {@code change} and writes its audit record in the same transaction; logs the record after
   * the commit. On failure: a FAILED record of its own, then the failure.
   */
  private Done audited(Operation operation, String requested, Jdbc.Work<Done> change) {
    AuditEntry[] written = new AuditEntry[1];
    try {
      Done done =
          jdbc.inTransaction(
              c -> {
                Done d = change.apply(c);
                written[0] =
                    audit.entry(
                        actor, operation, d.target(), d.count(), AuditEntry.Outcome.OK, null);
                audit.record(c, written[0]);
                return d;
              });
      JdbcAuditTrail.log(written[0]);
      return done;
    } catch (SQLException | RuntimeException e) {
      // Only the first line of each message: pgjdbc appends the server's DETAIL, which for a
      // refused copy lists every column of the row, payload and headers (review13 finding 3).
      AuditEntry failed =
          audit.entry(
              actor,
              operation,
              requested,
              0,
              AuditEntry.Outcome.FAILED,
              DatabaseFailures.reason(e));
      RuntimeException recordingFailure = null;
      try {
        audit.recordAlone(failed);
      } catch (RuntimeException recording) {
        recordingFailure = recording;
      }
      SQLException sql = DatabaseFailures.sqlCause(e);
      RuntimeException thrown;
      if (sql == null && e instanceof RuntimeException runtime) {
        thrown = runtime;
      } else {
        thrown =
            new OutboxStoreException(
                "Could not "
                    + operation.name().toLowerCase(java.util.Locale.ROOT)
                    + " parked events in "
                    + t,
                DatabaseFailures.sanitized(Objects.requireNonNull(sql)));
      }
      if (recordingFailure != null) {
        thrown.addSuppressed(recordingFailure);
      }
      throw thrown;
    }
  }

  private List<ParkedEvent> select(Connection c, int limit) throws SQLException {
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
  }

  private int requeue(Connection c, List<UUID> ids) throws SQLException {
    return reinsert(c, ids);
  }

  private int delete(Connection c, List<UUID> ids) throws SQLException {
    return byId(c, "DELETE FROM " + t + " WHERE status = 'DEAD' AND id = ?", ids);
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

  /** The parked ones of {@code ids}, ordered by their seq (the order they were appended in). */
  private List<UUID> inSeqOrder(Connection c, List<UUID> ids) throws SQLException {
    List<Map.Entry<Long, UUID>> parked = new ArrayList<>(ids.size());
    try (PreparedStatement select =
        c.prepareStatement("SELECT seq FROM " + t + " WHERE status = 'DEAD' AND id = ?")) {
      for (UUID id : ids) {
        dialect.setUuid(select, 1, id);
        try (ResultSet rs = select.executeQuery()) {
          if (rs.next()) {
            parked.add(Map.entry(rs.getLong(1), id));
          }
        }
      }
    }
    parked.sort(Map.Entry.comparingByKey());
    return parked.stream().map(Map.Entry::getValue).toList();
  }

  /**
   * Replaces each parked row by a fresh pending copy. The row is read with a lock and the copy
   * inserted only if the delete removed it: a purge (or another replay) that commits first wins,
   * and the event is not brought back.
   *
   * <p>The copy is pending as of now: its {@code created_at} is the replay time, and the append
   * time moves to the {@link OutboxHeaders#APPENDED_AT} header (kept from an earlier replay). Every
   * age the relay reports counts from {@code created_at}: the oldest pending event ({@code
   * outbox.lag}, the health's lag), the delivery latency and the Kafka timestamp. With the old time
   * an event parked three days ago read as three days of lag right after its replay and fired the
   * lag alerts, and a broker with {@code log.message.timestamp.before.max.ms} could refuse it. Kept
   * in a header rather than a column, so the schema does not change.
   */
  private int reinsert(Connection c, List<UUID> requested) throws SQLException {
    // In the order the events were appended, not the order the ids were given: each copy takes
    // the next seq, and the relay sends a key's events in seq order.
    List<UUID> ids = inSeqOrder(c, requested);
    Instant pendingSince = clock.instant().truncatedTo(ChronoUnit.MICROS);
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
          Instant appended = Objects.requireNonNull(dialect.getInstant(rs, "created_at"));
          dialect.setUuid(insert, 1, id);
          insert.setString(2, rs.getString("aggregatetype"));
          insert.setString(3, rs.getString("aggregateid"));
          insert.setString(4, rs.getString("type"));
          insert.setBytes(5, rs.getBytes("payload"));
          insert.setString(6, withAppendedAt(rs.getString("headers"), appended));
          insert.setString(7, rs.getString("tenant"));
          dialect.setInstant(insert, 8, pendingSince);
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

  private int byId(Connection c, String sql, List<UUID> ids) throws SQLException {
    try (PreparedStatement statement = c.prepareStatement(sql)) {
      int changed = 0;
      for (UUID id : ids) {
        dialect.setUuid(statement, 1, id);
        changed += statement.executeUpdate();
      }
      return changed;
    }
  }
}
