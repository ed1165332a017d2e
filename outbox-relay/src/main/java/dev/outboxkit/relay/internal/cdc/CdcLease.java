package dev.outboxkit.relay.internal.cdc;

import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.relay.internal.Jdbc;
import dev.outboxkit.relay.internal.LeaseStore;
import dev.outboxkit.relay.internal.RelayMetrics;
import dev.outboxkit.relay.internal.SessionLock;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The active/standby lease of one CDC engine: a row of the state table with owner, epoch and
 * expiry. Taking it over is a conditional update on the epoch seen, so of two standbys racing for
 * an expired lease exactly one wins; renewing and releasing are conditional on owner and epoch. The
 * holder trusts its lease only until its last successful renewal plus the ttl, measured on its own
 * monotonic clock, and starts a send only while the lease outlives it. Expiry is judged by the
 * database's clock. With session locks, a standby takes over as soon as the holder missed a renewal
 * and its session is gone (a crashed process), instead of waiting for the ttl; only when the row
 * names the holder as holding its lock at its last renewal ({@code session_lock_owner}), since the
 * lock of a holder that has none (locks off for it, behind a pooler, or a relay older than that
 * column, which never writes it) is free while it lives.
 *
 * <p>Taking and renewing the lease also stamp the row with the time by the database's clock and
 * what the holder reports of itself (its state and its circuit breaker's), and releasing it with
 * why it was given up, for operators who read the table from another process (the CLI's {@code
 * status}); nothing here reads them back.
 *
 * <p>Each take attempt and renewal is a lease heartbeat in {@link RelayMetrics} (timed by outcome:
 * a renewal that finds the lease taken over failed), and the heartbeat age runs from the last take
 * or renewal while this instance holds the lease. A renewal that fails with an error leaves the age
 * growing, also after the lease is dropped for it, until a heartbeat finds out who holds the lease:
 * a standby that sees another holder, a release and a lost lease read NaN (nothing to renew).
 */
final class CdcLease {

  private static final Logger log = LoggerFactory.getLogger(CdcLease.class);

  private final Jdbc jdbc;
  private final OutboxDialect dialect;
  private final String t;
  private final String insertStateRow;
  private final String name;
  private final String owner;
  private final Duration ttl;
  private final Duration heartbeat;
  private final @Nullable SessionLock sessionLock;
  private final RelayMetrics metrics;
  private volatile long epoch = -1;
  private volatile long validUntilNanos;
  private volatile long renewedAtNanos;
  private volatile boolean locked;

  /** What each take and renewal reports in the row; set once before the first. */
  private volatile Supplier<LeaseStore.Reported> reported = () -> LeaseStore.Reported.NOTHING;

  /** The state a release reports ({@code STOPPED}, {@code STANDBY}, {@code FAILED}). */
  private volatile Supplier<@Nullable String> releasedAs = () -> null;

  CdcLease(
      Jdbc jdbc,
      OutboxDialect dialect,
      OutboxTable table,
      String name,
      String owner,
      Duration ttl,
      Duration heartbeat,
      @Nullable SessionLock sessionLock,
      RelayMetrics metrics) {
    this.jdbc = jdbc;
    this.dialect = dialect;
    this.t = table.qualifiedName();
    this.insertStateRow = ChangeLogSource.of(dialect).insertIfAbsent(t, "name, epoch", "?, 0");
    this.name = name;
    this.owner = owner;
    this.ttl = ttl;
    this.heartbeat = heartbeat;
    this.sessionLock = sessionLock;
    this.metrics = metrics;
  }

  /**
   * What the row reports of this instance: {@code held} at each take and renewal (its state and its
   * circuit breaker's), {@code released} when it gives the lease up (why). Both are read on the
   * thread that writes the row, before its statement.
   */
  void report(Supplier<LeaseStore.Reported> held, Supplier<@Nullable String> released) {
    this.reported = Objects.requireNonNull(held, "held");
    this.releasedAs = Objects.requireNonNull(released, "released");
  }

  /** The epoch of the lease held, or -1. */
  long epoch() {
    return epoch;
  }

  /** Whether this instance holds the lease now, by its own clock. */
  boolean held() {
    return heldFor(Duration.ZERO);
  }

  /**
   * Whether this instance holds the lease for at least {@code window} more: a send starts only
   * then, so that it ends before anyone may take the lease. With session locks, also only while the
   * last renewal is recent, since a standby may take over once one is missed.
   */
  boolean heldFor(Duration window) {
    long now = System.nanoTime();
    return epoch >= 0
        && validUntilNanos - now > window.toNanos()
        && (sessionLock == null || now - renewedAtNanos < heartbeat.toNanos() * 3 / 2);
  }

  /** Whether the lease is still this instance's by the ttl alone (a renewal may be late). */
  boolean validByTtl() {
    return epoch >= 0 && validUntilNanos - System.nanoTime() > 0;
  }

  /** Makes sure this instance's session lock is held (a no-op without session locks). */
  void keepSessionLock() {
    locked = sessionLock != null && sessionLock.ensureHeld();
  }

  /** Closes the session lock's connection. */
  void closeSessionLock() {
    if (sessionLock != null) {
      sessionLock.close();
    }
  }

  /**
   * Takes the lease if it is free or expired, or if its holder is gone: it missed a renewal (1.5
   * heartbeats by the database's clock) and its session lock is free.
   */
  boolean tryAcquire() throws SQLException {
    long started = System.nanoTime();
    boolean taken;
    try {
      taken = take(started);
    } catch (SQLException | RuntimeException e) {
      metrics.heartbeat(started, false);
      throw e;
    }
    metrics.heartbeat(started, true);
    if (taken) {
      metrics.leasesRenewed(started);
    } else {
      metrics.noLeaseHeld();
    }
    return taken;
  }

  private boolean take(long started) throws SQLException {
    LeaseStore.Reported state = reported.get();
    return jdbc.autoCommit(
        c -> {
          try (PreparedStatement insert = c.prepareStatement(insertStateRow)) {
            insert.setString(1, name);
            insert.executeUpdate();
          }
          long seen;
          String holder;
          Instant expires;
          @Nullable String lockedOwner;
          try (PreparedStatement select =
              c.prepareStatement(
                  "SELECT owner_id, epoch, expires_at, session_lock_owner FROM "
                      + t
                      + " WHERE name = ?")) {
            select.setString(1, name);
            try (ResultSet rs = select.executeQuery()) {
              rs.next();
              holder = rs.getString(1);
              seen = rs.getLong(2);
              expires = dialect.getInstant(rs, "expires_at");
              lockedOwner = rs.getString("session_lock_owner");
            }
          }
          Instant now = LeaseStore.databaseNow(c, dialect);
          if (holder != null && expires != null && expires.isAfter(now)) {
            Instant lastRenewal = expires.minus(ttl);
            boolean missed =
                lastRenewal.isBefore(now.minus(heartbeat.multipliedBy(3).dividedBy(2)));
            if (holder.equals(owner)
                || !missed
                || !holder.equals(lockedOwner)
                || sessionLock == null
                || !sessionLock.isGone(holder)) {
              return false;
            }
          }
          try (PreparedStatement take =
              c.prepareStatement(
                  "UPDATE "
                      + t
                      + " SET owner_id = ?, epoch = ?, expires_at = ?, session_lock_owner = ?,"
                      + " heartbeat_at = ?, relay_state = ?, circuit_state = ?"
                      + " WHERE name = ? AND epoch = ?")) {
            take.setString(1, owner);
            take.setLong(2, seen + 1);
            dialect.setInstant(take, 3, now.plus(ttl));
            take.setString(4, locked ? owner : null);
            dialect.setInstant(take, 5, now);
            take.setString(6, state.relayState());
            take.setString(7, state.circuitState());
            take.setString(8, name);
            take.setLong(9, seen);
            if (take.executeUpdate() != 1) {
              return false;
            }
          }
          epoch = seen + 1;
          validUntilNanos = started + ttl.toNanos();
          renewedAtNanos = started;
          return true;
        });
  }

  /** Extends the lease; false when it was taken over (or released) meanwhile. */
  boolean renew() throws SQLException {
    long started = System.nanoTime();
    long held = epoch;
    if (held < 0) {
      return false;
    }
    LeaseStore.Reported state = reported.get();
    boolean renewed;
    try {
      renewed =
          jdbc.autoCommit(
              c -> {
                try (PreparedStatement s =
                    c.prepareStatement(
                        "UPDATE "
                            + t
                            + " SET expires_at = ?, session_lock_owner = ?, heartbeat_at = ?,"
                            + " relay_state = ?, circuit_state = ?"
                            + " WHERE name = ? AND owner_id = ? AND epoch = ?")) {
                  Instant now = LeaseStore.databaseNow(c, dialect);
                  dialect.setInstant(s, 1, now.plus(ttl));
                  s.setString(2, locked ? owner : null);
                  dialect.setInstant(s, 3, now);
                  s.setString(4, state.relayState());
                  s.setString(5, state.circuitState());
                  s.setString(6, name);
                  s.setString(7, owner);
                  s.setLong(8, held);
                  return s.executeUpdate() == 1;
                }
              });
    } catch (SQLException | RuntimeException e) {
      metrics.heartbeat(started, false);
      throw e;
    }
    metrics.heartbeat(started, renewed);
    if (renewed) {
      validUntilNanos = started + ttl.toNanos();
      renewedAtNanos = started;
      metrics.leasesRenewed(started);
    } else {
      epoch = -1;
      metrics.noLeaseHeld();
    }
    return renewed;
  }

  /**
   * Gives the lease up so that a standby takes over at once. It is forgotten here in any case; when
   * the database refuses the release, the row keeps this instance as owner until the ttl runs out
   * (logged at WARN with the cause), and a standby takes over only then.
   */
  void release() {
    long held = epoch;
    epoch = -1;
    metrics.noLeaseHeld();
    if (held < 0) {
      return;
    }
    String why = releasedAs.get();
    LeaseStore.Reported state = reported.get();
    try {
      jdbc.autoCommit(
          c -> {
            try (PreparedStatement s =
                c.prepareStatement(
                    "UPDATE "
                        + t
                        + " SET owner_id = NULL, expires_at = NULL, session_lock_owner = NULL,"
                        + " heartbeat_at = ?, relay_state = ?, circuit_state = ?"
                        + " WHERE name = ? AND owner_id = ?"
                        + " AND epoch = ?")) {
              dialect.setInstant(s, 1, LeaseStore.databaseNow(c, dialect));
              s.setString(2, why);
              s.setString(3, state.circuitState());
              s.setString(4, name);
              s.setString(5, owner);
              s.setLong(6, held);
              return s.executeUpdate();
            }
          });
    } catch (SQLException e) {
      log.warn(
          "CDC relay {} could not release the lease of engine {} (epoch {}): {}; it expires by"
              + " itself within the lease ttl of {} (outbox.relay.leases.ttl), a standby takes"
              + " over then",
          owner,
          name,
          held,
          e.toString(),
          ttl,
          e);
    }
  }

  /** Forgets the lease locally (it is lost or being given up). */
  void drop() {
    epoch = -1;
  }
}
