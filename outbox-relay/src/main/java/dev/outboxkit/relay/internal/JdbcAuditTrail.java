package dev.outboxkit.relay.internal;

import dev.outboxkit.outbox.OutboxStoreException;
import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.relay.AuditActor;
import dev.outboxkit.relay.AuditEntry;
import dev.outboxkit.relay.AuditTrail;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.UUID;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.spi.LoggingEventBuilder;

/**
 * The audit table and the {@code dev.outboxkit.audit} logger. {@link #record} inserts on the
 * caller's connection, so the record commits or rolls back with the change; {@link #recordAlone}
 * writes in a transaction of its own (refusals, and failures after the change rolled back). Every
 * value is sanitised and capped here, once, before it reaches the table or the log.
 */
public final class JdbcAuditTrail implements AuditTrail {

  /** The logger of the structured audit events. */
  public static final String LOGGER = "dev.outboxkit.audit";

  private static final Logger log = LoggerFactory.getLogger(LOGGER);
  private static final int MAX_PAGE = 1000;

  private final Jdbc jdbc;
  private final OutboxDialect dialect;
  private final String t;
  private final Clock clock;

  public JdbcAuditTrail(Jdbc jdbc, OutboxDialect dialect, OutboxTable table, Clock clock) {
    this.jdbc = jdbc;
    this.dialect = dialect;
    this.t = table.qualifiedName();
    this.clock = clock;
  }

  /** An entry, sanitised and stamped with the clock, not yet written. */
  public AuditEntry entry(
      AuditActor actor,
      AuditEntry.Operation operation,
      String target,
      int count,
      AuditEntry.Outcome outcome,
      @Nullable String reason) {
    return new AuditEntry(
        0,
        clock.instant(),
        AuditText.cleanNonNull(actor.principal(), AuditText.MAX_NAME),
        AuditText.clean(actor.sourceAddress(), AuditText.MAX_NAME),
        operation,
        AuditText.cleanNonNull(target, AuditText.MAX_TARGET),
        count,
        outcome,
        AuditText.clean(reason, AuditText.MAX_REASON));
  }

  /** Inserts the entry on {@code c}, inside the caller's transaction. Log it after the commit. */
  public void record(Connection c, AuditEntry entry) throws SQLException {
    try (PreparedStatement insert =
        c.prepareStatement(
            "INSERT INTO "
                + t
                + " (occurred_at, principal, source_address, operation, target, item_count,"
                + " outcome, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")) {
      dialect.setInstant(insert, 1, entry.at());
      insert.setString(2, entry.principal());
      insert.setString(3, entry.sourceAddress());
      insert.setString(4, entry.operation().name());
      insert.setString(5, entry.target());
      insert.setInt(6, entry.count());
      insert.setString(7, entry.outcome().name());
      insert.setString(8, entry.reason());
      insert.executeUpdate();
    }
  }

  /** How many of the newest audit records {@link #provesReplayed} reads, at most. */
  public static final int PROOF_WINDOW = 2_000;

  /**
   * Whether a committed replay is recorded that proves {@code id} was replaced by a fresh copy: an
   * {@code OK} {@code REPLAY} record that lists {@code id} one by one and replaced as many events
   * as it lists. A record that replaced fewer (some named events were not parked any more, or never
   * were) proves nothing about any one of them, and a replay of more than {@link
   * dev.outboxkit.relay.AuditEntry#MAX_LISTED_IDS} events in one transaction names only its first
   * and last. Only the newest {@link #PROOF_WINDOW} records are read (a range of the primary key):
   * the CDC relay asks this whenever an event it decided to park has no row at all, which is every
   * parked event of writers that delete their rows in the same transaction, on the engine's thread,
   * and the trail grows for as long as it is kept; a replay that a re-read of the event's insert
   * follows is recent (the engine's stored position was behind the insert when the copy was
   * published). It tells a replayed event whose copy was published from one whose writer deleted
   * its row; a {@code false} costs at most a parked duplicate, so the answer errs that way.
   *
   * @param c a connection (read only)
   */
  public boolean provesReplayed(Connection c, UUID id) throws SQLException {
    // The oldest id of the newest PROOF_WINDOW records: ids have gaps (rolled-back inserts, a
    // sequence's cache after a crash, auto_increment_increment on multi-primary clusters), so the
    // window is counted in records, by a walk down the primary key, not as a range of ids.
    long oldest;
    try (PreparedStatement window =
        c.prepareStatement(
            "SELECT MIN(id) FROM (SELECT id FROM " + t + " ORDER BY id DESC LIMIT ?) newest")) {
      window.setInt(1, PROOF_WINDOW);
      try (ResultSet rs = window.executeQuery()) {
        rs.next();
        oldest = rs.getLong(1); // 0 when the trail is empty
      }
    }
    try (PreparedStatement select =
        c.prepareStatement(
            "SELECT target, item_count FROM "
                + t
                + " WHERE id >= ? AND operation = ? AND outcome = ? AND target LIKE ?")) {
      select.setLong(1, oldest);
      select.setString(2, AuditEntry.Operation.REPLAY.name());
      select.setString(3, AuditEntry.Outcome.OK.name());
      // A UUID's text has no LIKE wildcard; the target lists it as UUID.toString() wrote it.
      select.setString(4, "%" + id + "%");
      try (ResultSet rs = select.executeQuery()) {
        while (rs.next()) {
          List<UUID> listed = AuditText.listedIds(rs.getString("target"));
          if (listed.contains(id) && rs.getInt("item_count") == listed.size()) {
            return true;
          }
        }
      }
    }
    return false;
  }

  /**
   * Writes the entry in a transaction of its own and logs it. When the table refuses it too, the
   * entry is still logged, and the failure is thrown.
   */
  public void recordAlone(AuditEntry entry) {
    log(entry);
    try {
      jdbc.inTransaction(
          c -> {
            record(c, entry);
            return null;
          });
    } catch (SQLException e) {
      throw new OutboxStoreException("Could not write the audit record to " + t, e);
    }
  }

  @Override
  public void refused(
      AuditActor actor, AuditEntry.Operation operation, String target, String reason) {
    recordAlone(
        entry(
            actor,
            operation,
            AuditText.cleanNonNull(target, AuditText.MAX_RAW_INPUT),
            0,
            AuditEntry.Outcome.REFUSED,
            reason));
  }

  @Override
  public List<AuditEntry> list(int limit, @Nullable Long before) {
    if (limit < 1 || limit > MAX_PAGE) {
      throw new IllegalArgumentException(
          "limit must be between 1 and " + MAX_PAGE + " but was " + limit);
    }
    return jdbc.unchecked(
        "Could not list the audit trail in " + t,
        c -> {
          try (PreparedStatement select =
              c.prepareStatement(
                  "SELECT id, occurred_at, principal, source_address, operation, target,"
                      + " item_count, outcome, reason FROM "
                      + t
                      + " WHERE id < ? ORDER BY id DESC")) {
            select.setLong(1, before == null ? Long.MAX_VALUE : before);
            select.setMaxRows(limit);
            List<AuditEntry> entries = new ArrayList<>();
            try (ResultSet rs = select.executeQuery()) {
              while (rs.next()) {
                entries.add(
                    new AuditEntry(
                        rs.getLong("id"),
                        Objects.requireNonNull(dialect.getInstant(rs, "occurred_at")),
                        rs.getString("principal"),
                        rs.getString("source_address"),
                        AuditEntry.Operation.valueOf(rs.getString("operation")),
                        rs.getString("target"),
                        rs.getInt("item_count"),
                        AuditEntry.Outcome.valueOf(rs.getString("outcome")),
                        rs.getString("reason")));
              }
            }
            return entries;
          }
        });
  }

  /**
   * Logs the entry as one line with quoted key=value pairs, and the same pairs as structured key
   * values for backends that keep them (JSON encoders). Values are already sanitised: no line
   * breaks or control characters; quotes are escaped so a value cannot fake another key.
   */
  public static void log(AuditEntry entry) {
    LoggingEventBuilder event =
        entry.outcome() == AuditEntry.Outcome.OK ? log.atInfo() : log.atWarn();
    event
        .addKeyValue("audit.operation", entry.operation().name())
        .addKeyValue("audit.outcome", entry.outcome().name())
        .addKeyValue("audit.principal", entry.principal())
        .addKeyValue("audit.source", entry.sourceAddress())
        .addKeyValue("audit.count", entry.count())
        .addKeyValue("audit.target", entry.target())
        .addKeyValue("audit.reason", entry.reason())
        .log(
            "outbox audit operation={} outcome={} principal={} source={} count={} target={}"
                + " reason={}",
            entry.operation(),
            entry.outcome(),
            quote(entry.principal()),
            quote(entry.sourceAddress()),
            entry.count(),
            quote(entry.target()),
            quote(entry.reason()));
  }

  private static String quote(@Nullable String value) {
    return value == null ? "-" : '"' + value.replace("\\", "\\\\").replace("\"", "\\\"") + '"';
  }
}
