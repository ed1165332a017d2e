package dev.outboxkit.relay.polling;

import dev.outboxkit.relay.delivery.KeyHolds;
import dev.outboxkit.relay.internal.Jdbc;
import dev.outboxkit.relay.internal.LeaseStore;
import dev.outboxkit.relay.internal.LeaseStore.LeaseRow;
import dev.outboxkit.relay.internal.OutboxRows;
import dev.outboxkit.relay.internal.RelayMetrics;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Which outbox partitions this instance may publish, kept in the lease table.
 *
 * <p>Each heartbeat (on the lease thread) renews this instance's member row and leases, reads all
 * leases, and moves towards a fair share: {@code partitions / members}, the first {@code partitions
 * % members} members in id order taking one more. Excess leases are released, but never one the
 * publishing thread is using: {@link #beginBatch} and the release decide under one lock, so a
 * partition is either in an in-flight batch or released, not both. Free or expired leases are
 * claimed with a conditional update on the epoch seen (see {@link LeaseStore#claim}).
 *
 * <p>The publishing thread trusts its leases only until the last successful renewal plus the TTL,
 * by its own clock; an instance cut off from the database stops publishing before another may take
 * its partitions over (clocks must agree to well within the TTL).
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
  private final Clock clock;

  private final Object lock = new Object();
  private Map<Integer, Long> epochs = new HashMap<>();
  private final Map<Integer, Integer> inFlight = new HashMap<>();
  private Instant validUntil = Instant.MIN;
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
      Clock clock) {
    this.jdbc = jdbc;
    this.store = store;
    this.rows = rows;
    this.gate = gate;
    this.metrics = metrics;
    this.me = me;
    this.partitions = partitions;
    this.ttl = ttl;
    this.clock = clock;
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
      if (!clock.instant().isBefore(validUntil) || epochs.isEmpty()) {
        return Set.of();
      }
      TreeSet<Integer> mine = new TreeSet<>();
      for (int partition : epochs.keySet()) {
        if (partition % slots == slot) {
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

  /** Whether this instance may still send for all of {@code partitions}. */
  @Override
  public boolean stillOwns(Set<Integer> partitions) {
    synchronized (lock) {
      return clock.instant().isBefore(validUntil) && epochs.keySet().containsAll(partitions);
    }
  }

  @Override
  public void endBatch(Set<Integer> partitions) {
    synchronized (lock) {
      partitions.forEach(p -> inFlight.computeIfPresent(p, (k, n) -> n == 1 ? null : n - 1));
    }
  }

  /** The partitions this instance holds valid leases on; none once its leases have lapsed. */
  Set<Integer> owned() {
    synchronized (lock) {
      return clock.instant().isBefore(validUntil) ? Set.copyOf(epochs.keySet()) : Set.of();
    }
  }

  /** Renews, rebalances and claims. Errors are logged; the leases then lapse on their own. */
  void heartbeat() {
    Instant start = clock.instant();
    Instant expires = start.plus(ttl);
    try {
      jdbc.autoCommit(
          c -> {
            store.heartbeat(c, me, start, expires);
            List<String> live = new ArrayList<>(store.liveMembers(c, start));
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
              validUntil = expires;
            }
            int target = target(live);
            if (mine.size() > target) {
              release(c, mine.size() - target);
            } else if (mine.size() < target) {
              claim(c, all, target - mine.size(), start, expires);
            }
            return null;
          });
      if (lastHeartbeatFailed) {
        log.info("Relay {} reached the lease tables again", me);
        lastHeartbeatFailed = false;
      }
    } catch (SQLException | RuntimeException e) {
      if (!lastHeartbeatFailed) {
        log.warn(
            "Relay {} could not renew its leases; they lapse at {}: {}",
            me,
            validUntil,
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

  private void release(java.sql.Connection c, int count) throws SQLException {
    List<Map.Entry<Integer, Long>> candidates = new ArrayList<>();
    synchronized (lock) {
      List<Integer> ordered = new ArrayList<>(epochs.keySet());
      ordered.sort(Collections.reverseOrder());
      for (int partition : ordered) {
        if (candidates.size() == count) {
          break;
        }
        if (!inFlight.containsKey(partition)) {
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

  private void claim(
      java.sql.Connection c, List<LeaseRow> all, int count, Instant now, Instant expires)
      throws SQLException {
    List<LeaseRow> free = new ArrayList<>();
    for (LeaseRow row : all) {
      if (row.owner() == null || row.expiresAt() == null || row.expiresAt().isBefore(now)) {
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
      if (store.claim(c, row.partition(), row.epoch(), me, now, expires)) {
        gate.load(row.partition(), rows.retrying(c, row.partition()));
        synchronized (lock) {
          epochs.put(row.partition(), row.epoch() + 1);
        }
        claimed++;
        log.debug("Relay {} claimed outbox partition {}", me, row.partition());
      }
    }
  }

  /** Releases every lease and leaves the member table, so others take over at once. */
  void leave() {
    synchronized (lock) {
      epochs = new HashMap<>();
      validUntil = Instant.MIN;
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
