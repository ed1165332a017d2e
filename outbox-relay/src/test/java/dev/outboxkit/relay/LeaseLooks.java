package dev.outboxkit.relay;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import javax.sql.DataSource;

/**
 * Watches which outbox partitions one relay instance holds, by looking at the lease table over and
 * over on a thread of its own, each look timed by the monotonic clock before and after its query
 * (the state it saw held at some instant in between). A test then judges a record the instance sent
 * at a monotonic time: sent while it surely held the record's partition, surely not, or too close
 * to a change to tell. One look is a few milliseconds on a quiet machine; a record of a partition
 * claimed between two looks falls in the gap and is not counted against the relay.
 */
final class LeaseLooks implements AutoCloseable {

  /** One look: when its query began and ended, and the partitions the instance held then. */
  record Look(long fromNanos, long toNanos, Set<Integer> held) {}

  /** What the looks say about a send. */
  enum Verdict {
    /** A look that began before the send and ended before it, and every look since, saw it held. */
    HELD,
    /** A look that began after the send saw the partition not held, and no earlier look held it. */
    NOT_HELD,
    /** The send fell between a look that did not see the partition held and one that did. */
    UNDECIDED
  }

  private final DataSource dataSource;
  private final String ownerPrefix;
  private final List<Look> looks = new ArrayList<>();
  private final AtomicBoolean running = new AtomicBoolean(true);
  private final AtomicReference<SQLException> failure = new AtomicReference<>();
  private final Thread thread;

  /** Starts looking for leases whose owner starts with {@code instanceId~}. */
  LeaseLooks(DataSource dataSource, String instanceId) {
    this.dataSource = dataSource;
    this.ownerPrefix = instanceId + "~";
    this.thread = new Thread(this::run, "lease-looks-" + instanceId);
    thread.setDaemon(true);
    thread.start();
  }

  private void run() {
    try (Connection c = dataSource.getConnection();
        Statement s = c.createStatement()) {
      while (running.get()) {
        long from = System.nanoTime();
        Set<Integer> held = new HashSet<>();
        try (ResultSet rs =
            s.executeQuery("SELECT partition_no, owner_id FROM outbox_relay_lease")) {
          while (rs.next()) {
            String owner = rs.getString(2);
            if (owner != null && owner.startsWith(ownerPrefix)) {
              held.add(rs.getInt(1));
            }
          }
        }
        Look look = new Look(from, System.nanoTime(), Set.copyOf(held));
        synchronized (looks) {
          looks.add(look);
        }
        Thread.sleep(5);
      }
    } catch (SQLException e) {
      failure.set(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** The looks so far, oldest first. */
  List<Look> looks() {
    synchronized (looks) {
      return List.copyOf(looks);
    }
  }

  /**
   * Whether the instance held {@code partition} when it sent at {@code sentNanos}, as far as the
   * looks can tell. A partition it held once is taken as held from then on (within a test's watch,
   * an instance that just claimed a partition keeps it; a loss would show as a later look without
   * it, which this does not look for).
   */
  Verdict judge(int partition, long sentNanos) {
    return judge(looks(), partition, sentNanos);
  }

  /** {@link #judge(int, long)} over the given looks, oldest first. */
  static Verdict judge(List<Look> all, int partition, long sentNanos) {
    Look firstHeld = null;
    for (Look look : all) {
      if (look.held().contains(partition)) {
        firstHeld = look;
        break;
      }
    }
    if (firstHeld != null && firstHeld.toNanos() - sentNanos <= 0) {
      return Verdict.HELD;
    }
    for (Look look : all) {
      if (firstHeld != null && look == firstHeld) {
        break;
      }
      if (!look.held().contains(partition) && look.fromNanos() - sentNanos > 0) {
        return Verdict.NOT_HELD;
      }
    }
    return Verdict.UNDECIDED;
  }

  @Override
  public void close() throws SQLException {
    running.set(false);
    try {
      thread.join(10_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    SQLException e = failure.get();
    if (e != null) {
      throw e;
    }
  }
}
