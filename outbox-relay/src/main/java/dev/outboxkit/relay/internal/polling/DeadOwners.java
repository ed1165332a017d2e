package dev.outboxkit.relay.internal.polling;

import dev.outboxkit.relay.internal.LeaseStore;
import dev.outboxkit.relay.internal.LeaseStore.LeaseRow;
import dev.outboxkit.relay.internal.SessionLock;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Fast takeover with session locks: finds the other instances that crashed (their session lock is
 * free and they missed a heartbeat), so that {@link LeaseManager}'s heartbeat may take their
 * partitions at once instead of after the lease TTL. Stateless; runs inside the heartbeat's
 * transaction on the lease thread.
 */
final class DeadOwners {

  /** Logged under {@link LeaseManager}, as before it was split, so log settings keep working. */
  private static final Logger log = LoggerFactory.getLogger(LeaseManager.class);

  private final LeaseStore store;
  private final SessionLock sessionLock;
  private final String me;
  private final Duration heartbeatInterval;

  DeadOwners(LeaseStore store, SessionLock sessionLock, String me, Duration heartbeatInterval) {
    this.store = store;
    this.sessionLock = sessionLock;
    this.me = me;
    this.heartbeatInterval = heartbeatInterval;
  }

  /**
   * Members whose row says they held their session lock, whose lock is free now and who missed a
   * heartbeat (1.5 intervals by the database's clock), and lease owners without a member row whose
   * lock is free: crashed processes, whose partitions may be taken now. Their member rows are
   * removed. A member that holds no lock (locks off for it, behind a pooler, or a relay older than
   * the {@code session_lock} column) has a free lock while it lives, so it is left to the TTL. An
   * owner without a member row lost it to the TTL too (rows and leases expire together) or to an
   * instance that found it dead.
   */
  Set<String> find(Connection c, Instant now) throws SQLException {
    Instant stale = now.minus(heartbeatInterval.multipliedBy(3).dividedBy(2));
    Set<String> dead = new HashSet<>();
    Set<String> members = new HashSet<>();
    for (LeaseStore.Member member : store.members(c)) {
      members.add(member.id());
      if (!member.id().equals(me)
          && member.sessionLock()
          && (member.heartbeatAt() == null || member.heartbeatAt().isBefore(stale))
          && sessionLock.isGone(member.id())) {
        dead.add(member.id());
      }
    }
    for (LeaseRow row : store.all(c)) {
      String owner = row.owner();
      if (owner != null
          && !owner.equals(me)
          && !members.contains(owner)
          && !dead.contains(owner)
          && sessionLock.isGone(owner)) {
        dead.add(owner);
      }
    }
    for (String member : dead) {
      log.info(
          "Relay {} found relay {} gone (session ended, heartbeat missed); taking over its"
              + " partitions without waiting for the lease TTL",
          me,
          member);
      store.removeMember(c, member);
    }
    return dead;
  }
}
