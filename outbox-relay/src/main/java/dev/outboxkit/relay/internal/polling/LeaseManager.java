package dev.outboxkit.relay.internal.polling;

import dev.outboxkit.relay.internal.Jdbc;
import dev.outboxkit.relay.internal.LeaseStore;
import dev.outboxkit.relay.internal.LeaseStore.LeaseRow;
import dev.outboxkit.relay.internal.OutboxRows;
import dev.outboxkit.relay.internal.RelayMetrics;
import dev.outboxkit.relay.internal.SessionLock;
import dev.outboxkit.relay.internal.ThreadDeaths;
import dev.outboxkit.relay.internal.delivery.KeyHolds;
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
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Which outbox partitions this instance may publish, kept in the lease table.
 *
 * <p>Each heartbeat (on the lease thread) renews this instance's member row and leases, reads all
 * leases, and moves towards a fair share ({@link Rebalancer}); with session locks it first takes
 * over the partitions of crashed instances ({@link DeadOwners}). This class keeps the lease state
 * those change, and decides under its one lock both what a batch may read ({@link #beginBatch}) and
 * what a release may take, so a partition is either in an in-flight batch or released, not both.
 * Everything that changes the leases runs on the one lease thread.
 *
 * <p>Expiry is judged by one clock, the database's: renewals write {@code database now + ttl}, and
 * claims compare with the database's now. Locally, the publishing thread trusts its leases until
 * the monotonic time at which the last successful renewal began plus the TTL, and starts a send
 * only while they stay valid for longer than the send window (the producer's delivery timeout plus
 * half a heartbeat). An instance cut off from the database, or paused by GC, thus stops starting
 * sends before a successor may claim its partitions, and its last sends end before that. With
 * session locks, others may also take its partitions once its member row is 1.5 heartbeats old,
 * says it holds its lock, and its lock is free (a lost lock session): it starts no send past that
 * point either, counted from before the member row's last write, which is the first statement of a
 * heartbeat. Each heartbeat writes whether it holds its lock, so an instance without one is left to
 * the TTL.
 */
final class LeaseManager implements PartitionLeases {

  private static final Logger log = LoggerFactory.getLogger(LeaseManager.class);

  private final Jdbc jdbc;
  private final LeaseStore store;
  private final KeyHolds gate;
  private final RelayMetrics metrics;
  private final String me;
  private final int partitions;
  private final Duration ttl;
  private final long sendWindowNanos;
  private final Duration heartbeatInterval;
  private final @Nullable SessionLock sessionLock;
  private final @Nullable DeadOwners deadOwners;
  private final Rebalancer rebalancer;

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

  private boolean lastReportFailed;

  /** What each heartbeat writes into the member row for operators; set once before the first. */
  private volatile Supplier<LeaseStore.Reported> reported = () -> LeaseStore.Reported.NOTHING;

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
    this.gate = gate;
    this.metrics = metrics;
    metrics.leaseHeartbeats();
    this.me = me;
    this.partitions = partitions;
    this.ttl = ttl;
    this.sendWindowNanos = sendWindow.toNanos();
    this.heartbeatInterval = heartbeatInterval;
    this.sessionLock = sessionLock;
    this.deadOwners =
        sessionLock == null ? null : new DeadOwners(store, sessionLock, me, heartbeatInterval);
    this.rebalancer =
        new Rebalancer(
            this, jdbc, store, rows, gate, metrics, me, partitions, ttl, heartbeatInterval);
  }

  /**
   * What each heartbeat reports in the member row (the relay's state and its circuit breaker's),
   * read on the lease thread before each heartbeat's transaction.
   */
  void report(Supplier<LeaseStore.Reported> reported) {
    this.reported = Objects.requireNonNull(reported, "reported");
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
    if (drained) {
      rebalancer.drained();
    }
  }

  /**
   * Runs the heartbeat on {@code thread} every heartbeat interval (the first one an interval from
   * now; call {@link #heartbeat} once before), and {@link Rebalancer#catchUp} every fifth of it.
   * Partitions drained for another instance are released on it too. A job that ends by a throwable
   * it does not handle is reported to {@code died}.
   */
  void schedule(ScheduledExecutorService thread, BiConsumer<Thread, Throwable> died) {
    rebalancer.leaseThread(thread);
    long beat = heartbeatInterval.toNanos();
    // At a fixed rate, not delay: others judge a missed heartbeat by 1.5 intervals between starts.
    // Guarded: a job that throws is cancelled silently by the executor (no more heartbeats while
    // the relay says RUNNING); the relay must fail over instead.
    thread.scheduleAtFixedRate(
        ThreadDeaths.guard(this::heartbeat, died), beat, beat, TimeUnit.NANOSECONDS);
    long step = Math.max(1, beat / 5);
    thread.scheduleWithFixedDelay(
        ThreadDeaths.guard(rebalancer::catchUp, died), step, step, TimeUnit.NANOSECONDS);
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
    LeaseStore.Reported state = report();
    try {
      jdbc.autoCommit(
          c -> {
            Instant start = store.now(c);
            Instant expires = start.plus(ttl);
            store.heartbeat(c, me, start, expires, locked, state);
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
            Set<String> dead = locked ? deadOwners.find(c, start) : Set.of();
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
            metrics.leasesRenewed(startNanos);
            rebalancer.rebalance(c, live, all, mine.size(), dead, start, expires, startNanos);
            return null;
          });
      metrics.heartbeat(startNanos, true);
      if (lastHeartbeatFailed) {
        log.info("Relay {} reached the lease tables again", me);
        lastHeartbeatFailed = false;
      }
    } catch (SQLException | RuntimeException e) {
      metrics.heartbeat(startNanos, false);
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

  /**
   * What this heartbeat writes into the member row, or nothing when that cannot be worked out. The
   * report is for operators only: its failure must not cost the leases, nor the relay (a throwable
   * out of the heartbeat job ends the job, and the lease thread's guard fails the relay over). It
   * is logged once, until a report succeeds again.
   */
  private LeaseStore.Reported report() {
    try {
      LeaseStore.Reported state = reported.get();
      if (lastReportFailed) {
        log.info("Relay {} reports its state in its member row again", me);
        lastReportFailed = false;
      }
      return state;
    } catch (RuntimeException e) {
      if (!lastReportFailed) {
        log.warn(
            "Relay {} could not work out its state for its member row; it reports none until it"
                + " can (its leases are renewed all the same)",
            me,
            e);
        lastReportFailed = true;
      }
      return LeaseStore.Reported.NOTHING;
    }
  }

  /** Whether the leases are valid now (for {@link Rebalancer#catchUp}). */
  boolean trustedNow() {
    synchronized (lock) {
      return trusted(0);
    }
  }

  /** How many leases this instance holds, valid or not. */
  int held() {
    synchronized (lock) {
      return epochs.size();
    }
  }

  /** Records a lease {@link Rebalancer} claimed, at its new epoch. */
  void claimed(int partition, long epoch) {
    synchronized (lock) {
      epochs.put(partition, epoch);
    }
  }

  /** The heartbeat keeps every lease: nothing drains any more. */
  void stopDraining() {
    synchronized (lock) {
      draining.clear();
    }
  }

  /**
   * Takes {@code count} leases to release, in {@link Rebalancer#releaseOrder}, and returns those
   * (partition and epoch) to release now; one in flight is kept but marked draining instead, and
   * the ones draining before that are not chosen again stop draining.
   */
  List<Map.Entry<Integer, Long>> takeForRelease(int count) {
    List<Map.Entry<Integer, Long>> candidates = new ArrayList<>();
    synchronized (lock) {
      List<Integer> chosen = Rebalancer.releaseOrder(draining, epochs.keySet(), count);
      draining.clear();
      for (int partition : chosen) {
        if (inFlight.containsKey(partition)) {
          draining.add(partition);
        } else {
          candidates.add(Map.entry(partition, epochs.remove(partition)));
        }
      }
    }
    return candidates;
  }

  /** Takes the draining leases no batch uses any more, to be released. */
  List<Map.Entry<Integer, Long>> takeDrained() {
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
    return released;
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
