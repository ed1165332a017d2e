package dev.outboxkit.relay.polling;

import dev.outboxkit.relay.delivery.KeyHolds;
import dev.outboxkit.relay.internal.Jdbc;
import dev.outboxkit.relay.internal.LeaseStore;
import dev.outboxkit.relay.internal.LeaseStore.LeaseRow;
import dev.outboxkit.relay.internal.OutboxRows;
import dev.outboxkit.relay.internal.RelayMetrics;
import dev.outboxkit.relay.internal.SessionLock;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Which outbox partitions this instance may publish, kept in the lease table.
 *
 * <p>Each heartbeat (on the lease thread) renews this instance's member row and leases, reads all
 * leases, and moves towards a fair share: {@code partitions / members}, the first {@code partitions
 * % members} members in id order taking one more. Excess leases are released, but never one the
 * publishing thread is using: {@link #beginBatch} and the release decide under one lock, so a
 * partition is either in an in-flight batch or released, not both; one in use is first drained (no
 * new batch reads it) and released on the lease thread as soon as its last batch ended. Free or
 * expired leases are claimed with a conditional update on the epoch seen (see {@link
 * LeaseStore#claim}). An instance left short of its share by a heartbeat (it just joined, and the
 * others release at their next heartbeat) tries to claim again every fifth of a heartbeat for up to
 * two heartbeats ({@link #catchUp}), so it has its share one heartbeat (plus a batch) after joining
 * rather than two or three. Everything that changes the leases runs on the one lease thread.
 *
 * <p>Expiry is judged by one clock, the database's: renewals write {@code database now + ttl}, and
 * claims compare with the database's now. Locally, the publishing thread trusts its leases until
 * the monotonic time at which the last successful renewal began plus the TTL, and starts a send
 * only while they stay valid for longer than the send window (the producer's delivery timeout plus
 * half a heartbeat). An instance cut off from the database, or paused by GC, thus stops starting
 * sends before a successor may claim its partitions, and its last sends end before that. With
 * session locks, others may also take its partitions once its member row is 1.5 heartbeats old and
 * its lock is free (a lost lock session): it starts no send past that point either, counted from
 * before the member row's last write, which is the first statement of a heartbeat.
 */
final class LeaseManager implements PartitionLeases {

  private static final Logger log = LoggerFactory.getLogger(LeaseManager.class);

  private final Jdbc jdbc;
  private final LeaseStore store;
  private final OutboxRows rows;
  private final KeyHolds gate;
  private final RelayMetrics metrics;
  private final String me;
  private final int partitions;
  private final Duration ttl;
  private final long sendWindowNanos;
  private final Duration heartbeatInterval;
  private final @Nullable SessionLock sessionLock;

  private final Object lock = new Object();
  private Map<Integer, Long> epochs = new HashMap<>();
  private final Map<Integer, Integer> inFlight = new HashMap<>();

  /**
   * Partitions to hand over that were in flight when the heartbeat wanted to release them: no new
   * batch reads them, and the lease thread releases them once their last batch ended (or the next
   * heartbeat does). Without this, a busy instance (a batch always in flight, the next one read
   * ahead) would never get to release anything.
   */
  private final Set<Integer> draining = new HashSet<>();

  /** The lease thread, once {@link #schedule}d; releases of drained partitions are run on it. */
  private volatile @Nullable ScheduledExecutorService leaseThread;

  /**
   * Whether {@link #catchUp} tries to claim the rest of this instance's share, and until which
   * monotonic time. Only the lease thread uses them.
   */
  private boolean catchingUp;

  private long catchUpUntilNanos;

  /**
   * Monotonic deadline of the last successful renewal's leases; meaningful while {@code trusted}.
   */
  private long validUntilNanos;

  private boolean renewed;

  /**
   * Monotonic time from before the last member-row heartbeat that committed: others judge a missed
   * heartbeat (1.5 intervals) from that row, not from the end of the whole heartbeat.
   */
  private long memberBeatNanos;

  private boolean lastHeartbeatFailed;

  LeaseManager(
      Jdbc jdbc,
      LeaseStore store,
      OutboxRows rows,
      KeyHolds gate,
      RelayMetrics metrics,
      String me,
      int partitions,
      Duration ttl,
      Duration heartbeatInterval,
      Duration sendWindow,
      @Nullable SessionLock sessionLock) {
    this.jdbc = jdbc;
    this.store = store;
    this.rows = rows;
    this.gate = gate;
    this.metrics = metrics;
    this.me = me;
    this.partitions = partitions;
    this.ttl = ttl;
    this.sendWindowNanos = sendWindow.toNanos();
    this.heartbeatInterval = heartbeatInterval;
    this.sessionLock = sessionLock;
  }

  void init() throws SQLException {
    jdbc.autoCommit(
        c -> {
          store.ensurePartitions(c, partitions);
          return null;
        });
  }

  /**
   * The partitions the next batch may read, marked in flight until {@link #endBatch}; empty when
   * the leases are not known to be valid. Up to two batches may be in flight (one being sent, the
   * next being read).
   */
  @Override
  public Set<Integer> beginBatch(int slot, int slots) {
    synchronized (lock) {
      if (!trusted(0) || epochs.isEmpty()) {
        return Set.of();
      }
      TreeSet<Integer> mine = new TreeSet<>();
      for (int partition : epochs.keySet()) {
        if (partition % slots == slot && !draining.contains(partition)) {
          mine.add(partition);
        }
      }
      if (mine.isEmpty()) {
        return Set.of();
      }
      Set<Integer> partitions = Collections.unmodifiableSet(mine);
      partitions.forEach(p -> inFlight.merge(p, 1, Integer::sum));
      return partitions;
    }
  }

  /**
   * Whether a send may start now for all of {@code partitions}: only while the leases stay valid
   * for longer than the producer's delivery timeout plus a margin, so that every record of the send
   * is acknowledged or given up before a successor may claim the partition.
   */
  @Override
  public boolean stillOwns(Set<Integer> partitions) {
    synchronized (lock) {
      return trusted(sendWindowNanos) && epochs.keySet().containsAll(partitions);
    }
  }

  /** Whether the leases stay valid for at least {@code marginNanos} more; call under the lock. */
  private boolean trusted(long marginNanos) {
    long now = System.nanoTime();
    if (!renewed || validUntilNanos - now <= marginNanos) {
      return false;
    }
    // With fast takeover, others may claim once this instance's member row is 1.5 intervals old
    // (and its session lock free): start nothing new then. Measured from the row's last write, so
    // a heartbeat that is slow after it (a lock wait on the lease table, claims over a large
    // backlog) does not stop sends while the leases stay valid.
    return sessionLock == null || now - memberBeatNanos < heartbeatInterval.toNanos() * 3 / 2;
  }

  @Override
  public void endBatch(Set<Integer> partitions) {
    boolean drained = false;
    synchronized (lock) {
      for (int p : partitions) {
        inFlight.computeIfPresent(p, (k, n) -> n == 1 ? null : n - 1);
        drained |= draining.contains(p) && !inFlight.containsKey(p);
      }
    }
    ScheduledExecutorService thread = leaseThread;
    if (drained && thread != null) {
      try {
        // On the lease thread, not here: a heartbeat running meanwhile would otherwise take the
        // partition back into its view of what this instance owns after the release.
        thread.execute(this::releaseDrained);
      } catch (RejectedExecutionException e) {
        log.debug("Relay {} is stopping; its drained partitions are released on leave", me);
      }
    }
  }

  /**
   * Runs the heartbeat on {@code thread} every heartbeat interval (the first one an interval from
   * now; call {@link #heartbeat} once before), and {@link #catchUp} every fifth of it. Partitions
   * drained for another instance are released on it too.
   */
  void schedule(ScheduledExecutorService thread) {
    leaseThread = thread;
    long beat = heartbeatInterval.toNanos();
    // At a fixed rate, not delay: others judge a missed heartbeat by 1.5 intervals between starts.
    thread.scheduleAtFixedRate(this::heartbeat, beat, beat, TimeUnit.NANOSECONDS);
    long step = Math.max(1, beat / 5);
    thread.scheduleWithFixedDelay(this::catchUp, step, step, TimeUnit.NANOSECONDS);
  }

  /** Releases the drained partitions no batch uses any more; on the lease thread. */
  void releaseDrained() {
    List<Map.Entry<Integer, Long>> released = new ArrayList<>();
    synchronized (lock) {
      for (int partition : new TreeSet<>(draining)) {
        if (!inFlight.containsKey(partition)) {
          draining.remove(partition);
          Long epoch = epochs.remove(partition);
          if (epoch != null) {
            released.add(Map.entry(partition, epoch));
          }
        }
      }
    }
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
    metrics.owned(owned().size());
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
    synchronized (lock) {
      if (!trusted(0)) {
        return;
      }
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
                int have;
                synchronized (lock) {
                  have = epochs.size();
                }
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
    metrics.owned(owned().size());
  }

  /** The partitions this instance holds valid leases on; none once its leases have lapsed. */
  Set<Integer> owned() {
    synchronized (lock) {
      return trusted(0) ? Set.copyOf(epochs.keySet()) : Set.of();
    }
  }

  /** Renews, rebalances and claims. Errors are logged; the leases then lapse on their own. */
  void heartbeat() {
    // Trusted locally from before the database read its clock, by the monotonic clock: this
    // instance stops trusting a lease before the database's expiry lets a successor claim it.
    long startNanos = System.nanoTime();
    boolean locked = sessionLock != null && sessionLock.ensureHeld();
    try {
      jdbc.autoCommit(
          c -> {
            Instant start = store.now(c);
            Instant expires = start.plus(ttl);
            store.heartbeat(c, me, start, expires);
            synchronized (lock) {
              // Only while the beats are continuous (this write committed before anyone could
              // find this instance dead): after a longer gap its partitions may be someone else's
              // by now, so trust waits until the leases are read back below.
              if (renewed
                  && System.nanoTime() - memberBeatNanos < heartbeatInterval.toNanos() * 3 / 2) {
                memberBeatNanos = startNanos;
              }
            }
            List<String> live = new ArrayList<>(store.liveMembers(c, start));
            Set<String> dead = locked ? findDead(c, start) : Set.of();
            live.removeAll(dead);
            if (!live.contains(me)) {
              live.add(me);
              Collections.sort(live);
            }
            store.renew(c, me, expires);
            List<LeaseRow> all = store.all(c);
            Map<Integer, Long> mine = new HashMap<>();
            for (LeaseRow row : all) {
              if (me.equals(row.owner())) {
                mine.put(row.partition(), row.epoch());
              }
            }
            synchronized (lock) {
              for (int lost : epochs.keySet()) {
                if (!Objects.equals(epochs.get(lost), mine.get(lost))) {
                  log.warn("Relay {} lost its lease on outbox partition {}", me, lost);
                  gate.drop(lost);
                }
              }
              epochs = new HashMap<>(mine);
              validUntilNanos = startNanos + ttl.toNanos();
              memberBeatNanos = startNanos;
              renewed = true;
            }
            int target = target(live);
            if (mine.size() > target) {
              catchingUp = false;
              release(c, mine.size() - target);
            } else {
              synchronized (lock) {
                draining.clear();
              }
              int have = mine.size();
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
            return null;
          });
      if (lastHeartbeatFailed) {
        log.info("Relay {} reached the lease tables again", me);
        lastHeartbeatFailed = false;
      }
    } catch (SQLException | RuntimeException e) {
      if (sessionLock != null) {
        // Others may take over once this instance missed a heartbeat and its session is gone:
        // stop trusting the leases now rather than at their expiry.
        synchronized (lock) {
          renewed = false;
        }
      }
      if (!lastHeartbeatFailed) {
        long left;
        synchronized (lock) {
          left = renewed ? Math.max(0, validUntilNanos - System.nanoTime()) : 0;
        }
        log.warn(
            "Relay {} could not renew its leases; they lapse in {}: {}",
            me,
            Duration.ofNanos(left),
            e.toString());
      }
      lastHeartbeatFailed = true;
    }
    metrics.owned(owned().size());
  }

  private int target(List<String> live) {
    int members = live.size();
    int index = live.indexOf(me);
    return partitions / members + (index < partitions % members ? 1 : 0);
  }

  /**
   * Releases {@code count} leases, the highest partitions first (those already draining first of
   * all). One in flight is not released now but marked draining: no new batch reads it, and a later
   * heartbeat releases it once its batch ended.
   */
  private void release(java.sql.Connection c, int count) throws SQLException {
    List<Map.Entry<Integer, Long>> candidates = new ArrayList<>();
    synchronized (lock) {
      List<Integer> chosen = new ArrayList<>();
      for (int partition : new TreeSet<>(draining)) {
        if (chosen.size() < count && epochs.containsKey(partition)) {
          chosen.add(partition);
        }
      }
      List<Integer> ordered = new ArrayList<>(epochs.keySet());
      ordered.sort(Collections.reverseOrder());
      for (int partition : ordered) {
        if (chosen.size() < count && !chosen.contains(partition)) {
          chosen.add(partition);
        }
      }
      draining.clear();
      for (int partition : chosen) {
        if (inFlight.containsKey(partition)) {
          draining.add(partition);
        } else {
          candidates.add(Map.entry(partition, epochs.remove(partition)));
        }
      }
    }
    for (Map.Entry<Integer, Long> lease : candidates) {
      gate.drop(lease.getKey());
      store.release(c, lease.getKey(), lease.getValue(), me);
      log.debug("Relay {} released outbox partition {}", me, lease.getKey());
    }
  }

  /**
   * Members whose session lock is free and who missed a heartbeat (1.5 intervals by the database's
   * clock), and lease owners without a member row whose lock is free: crashed processes, whose
   * partitions may be taken now. Their member rows are removed.
   */
  private Set<String> findDead(java.sql.Connection c, Instant now) throws SQLException {
    Instant stale = now.minus(heartbeatInterval.multipliedBy(3).dividedBy(2));
    Set<String> dead = new java.util.HashSet<>();
    Set<String> members = new java.util.HashSet<>();
    for (LeaseStore.Member member : store.members(c)) {
      members.add(member.id());
      if (!member.id().equals(me)
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

  /** Claims up to {@code count} free, expired or dead owners' leases; returns how many it got. */
  private int claim(
      java.sql.Connection c,
      List<LeaseRow> all,
      Set<String> dead,
      int count,
      Instant now,
      Instant expires)
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
    int claimed = 0;
    for (LeaseRow row : free) {
      if (claimed == count) {
        break;
      }
      boolean taken =
          row.owner() != null && dead.contains(row.owner())
              ? store.claimFrom(
                  c, row.partition(), row.epoch(), row.expiresAt(), row.owner(), me, expires)
              : store.claim(c, row.partition(), row.epoch(), me, now, expires);
      if (taken) {
        gate.load(row.partition(), rows.retrying(c, row.partition()));
        synchronized (lock) {
          epochs.put(row.partition(), row.epoch() + 1);
        }
        claimed++;
        log.debug("Relay {} claimed outbox partition {}", me, row.partition());
      }
    }
    return claimed;
  }

  /** Releases every lease and leaves the member table, so others take over at once. */
  void leave() {
    synchronized (lock) {
      epochs = new HashMap<>();
      renewed = false;
    }
    if (sessionLock != null) {
      sessionLock.close();
    }
    try {
      jdbc.autoCommit(
          c -> {
            store.leave(c, me);
            return null;
          });
    } catch (SQLException e) {
      log.warn(
          "Relay {} could not release its leases; they expire after {}: {}", me, ttl, e.toString());
    }
    metrics.owned(0);
  }
}
