package dev.outboxkit.relay.internal.polling;

import dev.outboxkit.relay.internal.Jdbc;
import dev.outboxkit.relay.internal.LeaseStore;
import dev.outboxkit.relay.internal.LeaseStore.LeaseRow;
import dev.outboxkit.relay.internal.OutboxRows;
import dev.outboxkit.relay.internal.RelayMetrics;
import dev.outboxkit.relay.internal.delivery.KeyHolds;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Moves {@link LeaseManager}'s leases towards a fair share: {@code partitions / members}, the first
 * {@code partitions % members} members in id order taking one more. Excess leases are released, but
 * never one the publishing thread is using: the choice is made under the lease manager's lock
 * ({@link LeaseManager#takeForRelease}), so a partition is either in an in-flight batch or
 * released, not both; one in use is first drained (no new batch reads it) and released here, on the
 * lease thread, as soon as its last batch ended ({@link #releaseDrained}). Free or expired leases,
 * and those of dead owners, are claimed with a conditional update on the epoch seen (see {@link
 * LeaseStore#claim}). An instance left short of its share by a heartbeat (it just joined, and the
 * others release at their next heartbeat) tries to claim again every fifth of a heartbeat for up to
 * two heartbeats ({@link #catchUp}), so it has its share one heartbeat (plus a batch) after joining
 * rather than two or three.
 *
 * <p>Everything here runs on the one lease thread; the lease state it changes stays in {@link
 * LeaseManager}, behind its lock.
 */
final class Rebalancer {

  /** Logged under {@link LeaseManager}, as before it was split, so log settings keep working. */
  private static final Logger log = LoggerFactory.getLogger(LeaseManager.class);

  private final LeaseManager leases;
  private final Jdbc jdbc;
  private final LeaseStore store;
  private final OutboxRows rows;
  private final KeyHolds gate;
  private final RelayMetrics metrics;
  private final String me;
  private final int partitions;
  private final Duration ttl;
  private final Duration heartbeatInterval;

  /**
   * Whether {@link #catchUp} tries to claim the rest of this instance's share, and until which
   * monotonic time. Only the lease thread uses them.
   */
  private boolean catchingUp;

  private long catchUpUntilNanos;

  /** The lease thread, once {@link #leaseThread set}; releases of drained partitions run on it. */
  private volatile @Nullable ScheduledExecutorService leaseThread;

  /** Only keeps {@code leases}: the lease manager creates this in its constructor. */
  Rebalancer(
      LeaseManager leases,
      Jdbc jdbc,
      LeaseStore store,
      OutboxRows rows,
      KeyHolds gate,
      RelayMetrics metrics,
      String me,
      int partitions,
      Duration ttl,
      Duration heartbeatInterval) {
    this.leases = leases;
    this.jdbc = jdbc;
    this.store = store;
    this.rows = rows;
    this.gate = gate;
    this.metrics = metrics;
    this.me = me;
    this.partitions = partitions;
    this.ttl = ttl;
    this.heartbeatInterval = heartbeatInterval;
  }

  /**
   * The heartbeat's last step, in its transaction, once it read back the {@code have} leases this
   * instance holds: releases the excess over the fair share among {@code live}, or claims what is
   * missing (free, expired or {@code dead} owners' leases among {@code all}) and, when still short,
   * starts catching up for two heartbeats from {@code startNanos}.
   */
  void rebalance(
      Connection c,
      List<String> live,
      List<LeaseRow> all,
      int have,
      Set<String> dead,
      Instant start,
      Instant expires,
      long startNanos)
      throws SQLException {
    int target = target(live);
    if (have > target) {
      catchingUp = false;
      release(c, have - target);
    } else {
      leases.stopDraining();
      if (have < target) {
        have += claim(c, all, dead, target - have, start, expires);
      }
      if (have >= target) {
        catchingUp = false;
      } else if (!catchingUp) {
        catchingUp = true;
        catchUpUntilNanos = startNanos + heartbeatInterval.toNanos() * 2;
      }
    }
  }

  /**
   * While this instance is short of its fair share after a heartbeat (for up to two heartbeats),
   * claims what others released since: without it, a partition released just after this instance's
   * heartbeat would wait for the next one. On the lease thread.
   */
  void catchUp() {
    if (!catchingUp) {
      return;
    }
    if (System.nanoTime() - catchUpUntilNanos > 0) {
      catchingUp = false;
      return;
    }
    if (!leases.trustedNow()) {
      return;
    }
    try {
      boolean done =
          jdbc.autoCommit(
              c -> {
                Instant now = store.now(c);
                List<String> live = store.liveMembers(c, now);
                if (!live.contains(me)) {
                  return true;
                }
                int target = target(live);
                int have = leases.held();
                if (have < target) {
                  have += claim(c, store.all(c), Set.of(), target - have, now, now.plus(ttl));
                }
                return have >= target;
              });
      if (done) {
        catchingUp = false;
      }
    } catch (SQLException | RuntimeException e) {
      log.debug("Relay {} could not claim its share yet: {}", me, e.toString());
    }
    metrics.owned(leases.owned().size());
  }

  /** Runs the releases of drained partitions on {@code thread} from now on. */
  void leaseThread(ScheduledExecutorService thread) {
    leaseThread = thread;
  }

  /**
   * A batch ended and left a draining partition unused: releases it on the lease thread, not the
   * caller's.
   */
  void drained() {
    ScheduledExecutorService thread = leaseThread;
    if (thread != null) {
      try {
        // On the lease thread, not here: a heartbeat running meanwhile would otherwise take the
        // partition back into its view of what this instance owns after the release.
        thread.execute(this::releaseDrained);
      } catch (RejectedExecutionException e) {
        log.debug("Relay {} is stopping; its drained partitions are released on leave", me);
      }
    }
  }

  /** Releases the drained partitions no batch uses any more; on the lease thread. */
  void releaseDrained() {
    List<Map.Entry<Integer, Long>> released = leases.takeDrained();
    if (released.isEmpty()) {
      return;
    }
    try {
      jdbc.autoCommit(
          c -> {
            for (Map.Entry<Integer, Long> lease : released) {
              gate.drop(lease.getKey());
              store.release(c, lease.getKey(), lease.getValue(), me);
              log.debug("Relay {} released drained outbox partition {}", me, lease.getKey());
            }
            return null;
          });
    } catch (SQLException | RuntimeException e) {
      // Not used any more either way; the next heartbeat renews and releases it again.
      log.debug("Relay {} could not release drained partitions: {}", me, e.toString());
    }
    metrics.owned(leases.owned().size());
  }

  private int target(List<String> live) {
    int members = live.size();
    int index = live.indexOf(me);
    return partitions / members + (index < partitions % members ? 1 : 0);
  }

  /**
   * Which {@code count} of the {@code owned} partitions to release: the highest first, those
   * already {@code draining} first of all. Pure; the lease manager calls it under its lock.
   */
  static List<Integer> releaseOrder(Set<Integer> draining, Set<Integer> owned, int count) {
    List<Integer> chosen = new ArrayList<>();
    for (int partition : new TreeSet<>(draining)) {
      if (chosen.size() < count && owned.contains(partition)) {
        chosen.add(partition);
      }
    }
    List<Integer> ordered = new ArrayList<>(owned);
    ordered.sort(Collections.reverseOrder());
    for (int partition : ordered) {
      if (chosen.size() < count && !chosen.contains(partition)) {
        chosen.add(partition);
      }
    }
    return chosen;
  }

  /**
   * Releases {@code count} leases, in {@link #releaseOrder}. One in flight is not released now but
   * marked draining: no new batch reads it, and a later heartbeat releases it once its batch ended.
   */
  private void release(Connection c, int count) throws SQLException {
    for (Map.Entry<Integer, Long> lease : leases.takeForRelease(count)) {
      gate.drop(lease.getKey());
      store.release(c, lease.getKey(), lease.getValue(), me);
      log.debug("Relay {} released outbox partition {}", me, lease.getKey());
    }
  }

  /** Claims up to {@code count} free, expired or dead owners' leases; returns how many it got. */
  private int claim(
      Connection c, List<LeaseRow> all, Set<String> dead, int count, Instant now, Instant expires)
      throws SQLException {
    List<LeaseRow> free = new ArrayList<>();
    for (LeaseRow row : all) {
      if (row.owner() == null
          || row.expiresAt() == null
          || row.expiresAt().isBefore(now)
          || dead.contains(row.owner())) {
        free.add(row);
      }
    }
    // Start at a different place per instance so that instances joining together rarely collide.
    if (!free.isEmpty()) {
      Collections.rotate(free, Math.floorMod(me.hashCode(), free.size()));
    }
    List<LeaseRow> taken = new ArrayList<>();
    for (LeaseRow row : free) {
      if (taken.size() == count) {
        break;
      }
      boolean won =
          row.owner() != null && dead.contains(row.owner())
              ? store.claimFrom(
                  c, row.partition(), row.epoch(), row.expiresAt(), row.owner(), me, expires)
              : store.claim(c, row.partition(), row.epoch(), me, now, expires);
      if (won) {
        taken.add(row);
      }
    }
    if (taken.isEmpty()) {
      return 0;
    }
    // The failed keys of every partition won, in one read of their pending rows, loaded before any
    // of the partitions can be read (leases.claimed).
    Map<Integer, Map<String, Instant>> retrying =
        rows.retrying(c, taken.stream().map(LeaseRow::partition).toList());
    for (LeaseRow row : taken) {
      gate.load(row.partition(), retrying.getOrDefault(row.partition(), Map.of()));
      leases.claimed(row.partition(), row.epoch() + 1);
      log.debug("Relay {} claimed outbox partition {}", me, row.partition());
    }
    return taken.size();
  }
}
