package dev.outboxkit.relay.internal;

import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.relay.AuditActor;
import dev.outboxkit.relay.AuditEntry.Operation;
import dev.outboxkit.relay.AuditSchema;
import dev.outboxkit.relay.AuditTrail;
import dev.outboxkit.relay.BulkResult;
import dev.outboxkit.relay.ParkedEvent;
import dev.outboxkit.relay.ParkedEvents;
import dev.outboxkit.relay.ParkedFilter;
import dev.outboxkit.relay.ParkedGroup;
import dev.outboxkit.relay.internal.dialect.RelaySql;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import java.util.UUID;
import java.util.function.Consumer;

/**
 * {@link ParkedEvents} on the outbox table: rows with status {@code DEAD}. Every listing and change
 * runs in one transaction together with its audit record ({@link ParkedAudit}, {@link
 * JdbcAuditTrail}); a change that fails, or a read it depends on, leaves a {@code FAILED} record
 * written afterwards in a transaction of its own. The listings are here; the changes are in {@link
 * ParkedReplay}, {@link ParkedPurge} and, for those by filter, {@link ParkedBulk}.
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
  private final RelaySql sql;
  private final String t;
  private final Runnable onReplay;
  private final Clock clock;
  private final ParkedScan scan;
  private final ParkedAudit audit;
  private final ParkedReplay replays;
  private final ParkedPurge purges;
  private final ParkedBulk bulk;

  /**
   * @param onReplay runs after a replay committed (the polling relay wakes up)
   * @param clock stamps the audit records and the time a replayed event becomes pending again
   * @throws IllegalArgumentException for a dialect without the relay's SQL ({@link RelaySql#of})
   */
  public JdbcParkedEvents(
      Jdbc jdbc, OutboxDialect dialect, OutboxTable table, Runnable onReplay, Clock clock) {
    this(
        jdbc,
        dialect,
        RelaySql.of(dialect),
        table.qualifiedName(),
        onReplay,
        clock,
        new ParkedAudit(
            jdbc,
            new JdbcAuditTrail(jdbc, dialect, AuditSchema.table(table), clock),
            AuditActor.APPLICATION,
            RelaySql.of(dialect),
            table.qualifiedName()));
  }

  private JdbcParkedEvents(
      Jdbc jdbc,
      OutboxDialect dialect,
      RelaySql sql,
      String t,
      Runnable onReplay,
      Clock clock,
      ParkedAudit audit) {
    this.jdbc = jdbc;
    this.dialect = dialect;
    this.sql = sql;
    this.t = t;
    this.onReplay = onReplay;
    this.clock = clock;
    this.scan = new ParkedScan(dialect, t);
    this.audit = audit;
    this.replays = new ParkedReplay(dialect, sql, t, audit, onReplay, clock);
    this.purges = new ParkedPurge(dialect, sql, t, audit);
    this.bulk = new ParkedBulk(scan, audit);
  }

  @Override
  public ParkedEvents as(AuditActor actor) {
    return new JdbcParkedEvents(jdbc, dialect, sql, t, onReplay, clock, audit.as(actor));
  }

  @Override
  public AuditTrail auditTrail() {
    return audit.trail();
  }

  @Override
  public List<ParkedEvent> list(int limit) {
    if (limit < 1) {
      throw new IllegalArgumentException("limit must be at least 1 but was " + limit);
    }
    List<ParkedEvent> events = new ArrayList<>();
    audit.audited(
        Operation.LIST,
        "limit=" + limit,
        c -> {
          events.addAll(select(c, limit));
          return new ParkedAudit.Done(events.size(), "limit=" + limit);
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

  /** See {@link ParkedReplay#replay(Collection)}. */
  @Override
  public int replay(Collection<UUID> ids) {
    return replays.replay(ids);
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
    audit.audited(
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
          return new ParkedAudit.Done((int) Math.min(Integer.MAX_VALUE, groups.events()), target);
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
    audit.audited(
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
          return new ParkedAudit.Done(events.size(), target);
        });
    return events;
  }

  @Override
  public BulkResult replay(ParkedFilter filter, int batchSize, Consumer<BulkResult> progress) {
    BulkResult result =
        bulk.run(Operation.REPLAY, filter, batchSize, progress, replays::requeue, onReplay);
    onReplay.run();
    return result;
  }

  @Override
  public BulkResult purge(ParkedFilter filter, int batchSize, Consumer<BulkResult> progress) {
    return bulk.run(Operation.PURGE, filter, batchSize, progress, purges::delete, () -> {});
  }

  @Override
  public int purge(Collection<UUID> ids) {
    return purges.purge(ids);
  }

  @Override
  public int purgeCreatedBefore(Instant cutoff, int limit) {
    return purges.purgeCreatedBefore(cutoff, limit);
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
}
