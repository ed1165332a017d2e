package dev.outboxkit.relay.internal;

import dev.outboxkit.outbox.spi.OutboxDialect;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.HexFormat;
import javax.sql.DataSource;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This relay's proof of life: a session-scoped lock named after its owner name, held on a
 * connection of its own for as long as the process runs. The server frees it the moment the session
 * ends, so when another instance can take it, this one's session is gone (the process crashed or
 * its connection died). Others combine that with a missed heartbeat to take over its partitions at
 * once instead of waiting for the lease TTL.
 *
 * <p>PostgreSQL advisory locks and MySQL/MariaDB {@code GET_LOCK}; on other databases, or when the
 * lock cannot be taken, the relay falls back to the TTL and says so once. Every heartbeat also asks
 * whether the connection's session still holds the lock: behind a transaction pooler it does not
 * for long (each statement may run on another server session), and the relay then turns session
 * locks off for good with one warning that names the direct-connection setting. Used by the lease
 * thread only.
 */
public final class SessionLock implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(SessionLock.class);

  private final DataSource dataSource;
  private final String tryLock;
  private final String release;
  private final @Nullable String held;
  private final String me;
  private volatile @Nullable Connection connection;
  private volatile boolean pooled;
  private boolean warned;

  private SessionLock(
      DataSource dataSource, String tryLock, String release, @Nullable String held, String me) {
    this.dataSource = dataSource;
    this.tryLock = tryLock;
    this.release = release;
    this.held = held;
    this.me = me;
  }

  /** A lock for {@code owner}, or {@code null} when the database has no session locks. */
  public static @Nullable SessionLock of(
      DataSource dataSource, OutboxDialect dialect, String owner) {
    String tryLock = dialect.trySessionLockSql();
    String release = dialect.releaseSessionLockSql();
    if (tryLock == null || release == null) {
      return null;
    }
    return new SessionLock(dataSource, tryLock, release, dialect.sessionLockHeldSql(), owner);
  }

  /**
   * The owner name in lease tables: the instance id plus a random suffix per process, so two
   * processes started with the same id (two {@code relay-0} pods during a rolling restart) are two
   * owners, never adopt each other's leases, and have two locks.
   */
  public static String ownerName(String instanceId) {
    return instanceId
        + "~"
        + HexFormat.of().toHexDigits(new java.security.SecureRandom().nextInt());
  }

  static String name(String owner) {
    try {
      byte[] hash =
          MessageDigest.getInstance("SHA-256").digest(owner.getBytes(StandardCharsets.UTF_8));
      return "outboxkit.relay." + HexFormat.of().formatHex(hash, 0, 16);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * Makes sure this instance holds its own lock, reconnecting when its session was lost.
   *
   * @return whether it is held now
   */
  public boolean ensureHeld() {
    if (pooled) {
      return false;
    }
    try {
      Connection current = connection;
      if (current != null && current.isValid(2)) {
        if (held == null || holds(current, name(me))) {
          return true;
        }
        // The connection is alive but its session no longer holds the lock this instance took on
        // it: statements run on whatever server session a pooler hands out.
        turnOffPooled("took its session lock on a connection whose session no longer holds it");
        return false;
      }
      closeQuietly();
      Connection c = dataSource.getConnection();
      c.setAutoCommit(true);
      connection = c;
      if (!take(c, name(me))) {
        closeQuietly();
        warnOnce("its lock is held by another session");
        return false;
      }
      if (warned) {
        log.info("Relay {} holds its session lock again: fast takeover is back", me);
        warned = false;
      }
      return true;
    } catch (SQLException | RuntimeException e) {
      closeQuietly();
      warnOnce(e.toString());
      return false;
    }
  }

  /**
   * Whether {@code owner}'s session is gone: its lock can be taken (and is given back at once).
   * {@code false} when this cannot be known.
   */
  public boolean isGone(String owner) {
    Connection c = connection;
    if (c == null || pooled) {
      return false;
    }
    String name = name(owner);
    try {
      if (held != null && holds(c, name)) {
        // Only the owner's own session holds its lock, and a lock is taken again by the session
        // that holds it: this connection was handed the owner's session by a pooler.
        turnOffPooled("was handed another relay's session on its own connection");
        return false;
      }
      if (take(c, name)) {
        try (PreparedStatement s = c.prepareStatement(release)) {
          s.setString(1, name);
          s.execute();
        }
        return true;
      }
      return false;
    } catch (SQLException e) {
      log.debug("Could not check the session lock of {}", owner, e);
      return false;
    }
  }

  /**
   * Whether {@code c}'s session holds the lock {@code name}; call only when {@link #held} is set.
   */
  private boolean holds(Connection c, String name) throws SQLException {
    try (PreparedStatement s = c.prepareStatement(held)) {
      s.setString(1, name);
      try (ResultSet rs = s.executeQuery()) {
        return rs.next() && rs.getBoolean(1);
      }
    }
  }

  /**
   * A lock proves nothing when statements run on whatever server session a pooler hands out: stop
   * taking and judging locks for the rest of this process, and say so once.
   */
  private void turnOffPooled(String seen) {
    pooled = true;
    closeQuietly();
    log.warn(
        "Relay {} {}: its connections go through a transaction pooler (PgBouncer in transaction"
            + " mode, RDS Proxy without pinning). Session locks are off: others take over its"
            + " partitions after the lease TTL if it crashes. For takeover within seconds, give the"
            + " relay direct connections for its session (OutboxRelay.Builder#sessionDataSource,"
            + " outbox.relay.session-connection.url).",
        me,
        seen);
  }

  /** Whether session locks were found useless here, behind a transaction pooler. */
  public boolean pooled() {
    return pooled;
  }

  private boolean take(Connection c, String name) throws SQLException {
    try (PreparedStatement s = c.prepareStatement(tryLock)) {
      s.setString(1, name);
      try (ResultSet rs = s.executeQuery()) {
        return rs.next() && rs.getBoolean(1);
      }
    }
  }

  private void warnOnce(String why) {
    if (!warned) {
      log.warn(
          "Relay {} cannot hold a session lock ({}); others take over its partitions after the"
              + " lease TTL if it crashes, not at once. Behind a transaction pooler, give the relay"
              + " a direct connection or turn session locks off.",
          me,
          why);
      warned = true;
    }
  }

  private void closeQuietly() {
    Connection c = connection;
    connection = null;
    if (c != null) {
      // Closing a pooled connection does not end its session: give the lock back first.
      try (PreparedStatement s = c.prepareStatement(release)) {
        s.setString(1, name(me));
        s.execute();
      } catch (SQLException | RuntimeException e) {
        log.debug("Could not release the session lock before closing", e);
      }
      try {
        c.close();
      } catch (SQLException e) {
        log.debug("Closing the session-lock connection failed", e);
      }
    }
  }

  /** Ends the session; the server frees the lock with it. */
  @Override
  public void close() {
    closeQuietly();
  }
}
