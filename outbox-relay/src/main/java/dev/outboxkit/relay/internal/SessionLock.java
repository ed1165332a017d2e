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
 * whether the connection's session still holds the lock. Behind a transaction pooler it does not
 * for long (each statement may run on another server session, and the lock stays with the one that
 * took it), so the relay then turns session locks off for good with one warning that names the
 * direct-connection setting. Whether another owner's lock is free is asked in one statement that
 * takes nothing, so the answer means the same through a pooler. Used by the lease thread only.
 */
public final class SessionLock implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(SessionLock.class);

  /** Longest a statement on the lock's connection may take, so a stalled link cannot hang. */
  private static final int NETWORK_TIMEOUT_MILLIS = 10_000;

  private final DataSource dataSource;
  private final String tryLock;
  private final String release;
  private final @Nullable String held;
  private final @Nullable String free;
  private final String me;
  private volatile @Nullable Connection connection;
  private volatile boolean pooled;
  private volatile boolean closed;
  private boolean warned;

  private SessionLock(
      DataSource dataSource,
      String tryLock,
      String release,
      @Nullable String held,
      @Nullable String free,
      String me) {
    this.dataSource = dataSource;
    this.tryLock = tryLock;
    this.release = release;
    this.held = held;
    this.free = free;
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
    return new SessionLock(
        dataSource,
        tryLock,
        release,
        dialect.sessionLockHeldSql(),
        dialect.sessionLockFreeSql(),
        owner);
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

  /**
   * The lock's name for an owner: a hash, short enough for MySQL's 64 characters. Public for tests
   * that look the lock up on the server.
   */
  public static String lockName(String owner) {
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
    if (pooled || closed) {
      return false;
    }
    try {
      Connection current = connection;
      if (current != null && current.isValid(2)) {
        if (stillHeld(current)) {
          return true;
        }
        // The connection is alive but its session does not hold the lock this instance took on
        // it: a pooler hands out server sessions (or the driver reconnected behind our back).
        // Taking it again would not help: it stays with the session that took it.
        turnOffPooled();
        return false;
      }
      closeQuietly();
      Connection c = dataSource.getConnection();
      c.setAutoCommit(true);
      try {
        c.setNetworkTimeout(Runnable::run, NETWORK_TIMEOUT_MILLIS);
      } catch (SQLException | UnsupportedOperationException e) {
        log.debug("The session-lock connection takes no network timeout", e);
      }
      connection = c;
      if (closed) {
        closeQuietly(); // close() ran meanwhile: do not keep a session nobody will end
        return false;
      }
      if (!take(c, lockName(me))) {
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
   * Whether {@code c}'s session still holds this instance's lock. A question that cannot be asked
   * or answered keeps the lock counted as held: only a clear "no" counts toward giving up.
   */
  private boolean stillHeld(Connection c) {
    if (held == null) {
      return true;
    }
    try (PreparedStatement s = c.prepareStatement(held)) {
      s.setString(1, lockName(me));
      try (ResultSet rs = s.executeQuery()) {
        return !rs.next() || rs.getBoolean(1) || rs.wasNull();
      }
    } catch (SQLException e) {
      log.debug("Could not ask whether the session lock is still held", e);
      return true;
    }
  }

  /**
   * Whether {@code owner}'s session is gone: no session holds its lock. {@code false} when this
   * cannot be known (no lock of our own, behind a pooler, or the question failed).
   */
  public boolean isGone(String owner) {
    Connection c = connection;
    if (c == null || pooled || closed) {
      return false;
    }
    String name = lockName(owner);
    try {
      if (free != null) {
        try (PreparedStatement s = c.prepareStatement(free)) {
          s.setString(1, name);
          try (ResultSet rs = s.executeQuery()) {
            return rs.next() && rs.getBoolean(1) && !rs.wasNull();
          }
        }
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
   * A lock proves nothing when statements run on whatever server session a pooler hands out: stop
   * taking and judging locks for the rest of this process, and say so once.
   */
  private void turnOffPooled() {
    pooled = true;
    closeQuietly();
    log.warn(
        "Relay {} found that the session of its lock's connection no longer holds the lock it"
            + " took: its connections go through a transaction pooler (PgBouncer in transaction"
            + " mode, RDS Proxy without pinning), or its driver reconnects by itself. Session locks"
            + " are off: others take over its partitions after the lease TTL if it crashes. For"
            + " takeover within seconds, give the relay direct connections for its session"
            + " (OutboxRelay.Builder#sessionDataSource, outbox.relay.session-connection.url).",
        me);
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
              + " a direct connection (outbox.relay.session-connection.url) or turn session locks"
              + " off.",
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
        s.setString(1, lockName(me));
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
    closed = true;
    closeQuietly();
  }
}
