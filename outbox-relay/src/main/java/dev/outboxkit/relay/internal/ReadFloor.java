package dev.outboxkit.relay.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.function.BooleanSupplier;
import org.jspecify.annotations.Nullable;

/**
 * Where one publishing thread's seq-order read starts: a {@code seq} below which none of the read's
 * partitions has, or will ever have, a pending row, so that the read need not walk the pending
 * index from its head (through the entries of every row deleted since the last vacuum; with a
 * snapshot held elsewhere, every row deleted since it was taken).
 *
 * <p>Why a floor is exact (PostgreSQL, schema version 12): the trigger gives a writing transaction
 * its id before its insert takes a {@code seq}, and the sequence hands out values in time order (no
 * per-session cache). Let read i, in snapshot S_i, return rows up to {@code seq} c_i. A row below
 * c_i that S_i does not see took its {@code seq} before c_i did, so its transaction had its id
 * before c_i's transaction committed, before S_i: it is in S_i's in-progress list X_i, or aborted.
 * Once a later read j's snapshot S_j sees every id of X_i finished, every row up to c_i is visible
 * in S_j or gone for good; with m_j, the lowest pending {@code seq} at or above the floor that S_j
 * sees in the partitions (every pending row, held keys' and those in flight included), no row below
 * min(m_j, c_i + 1) is pending in S_j or can become pending later (a row never goes back to
 * pending). The statement of read j returns S_j, m_j and whether X_i is finished, with its rows.
 *
 * <p>One candidate (c_i, X_i) at a time: while X_i is not finished the older candidate stays (a
 * newer one would wait for newer transactions, and under a steady write load never be finished).
 * The floor is dropped (the read starts at the head again) when the read's partitions or the
 * relay's leases change, on any failure of a read, when the read takes the other path (a position
 * past held keys), when the switch says the trigger is gone, and when a read finds itself on
 * another server than the floor's (its start time changed: a failover or restart behind a pool that
 * reconnects without an error); that read is then made again from the head. Confined to one
 * publishing thread; only the switch is shared.
 */
public final class ReadFloor {

  /** The bound floor when there is none: the read starts at the head of the index. */
  public static final long NONE = Long.MIN_VALUE;

  private static final ReadFloor OFF = new ReadFloor(() -> false);

  private final BooleanSupplier enabled;
  private @Nullable Set<Integer> partitions;
  private long scope;
  private long floor = NONE;
  private long candidateSeq;
  private @Nullable List<String> candidateXids;
  private @Nullable String server;

  /**
   * @param enabled whether the database's catalog allows a floor now (the trigger of version 12
   *     present and enabled); asked before every read
   */
  public ReadFloor(BooleanSupplier enabled) {
    this.enabled = enabled;
  }

  /** A floor that is never used: every read starts at the head. Stateless, shareable. */
  public static ReadFloor off() {
    return OFF;
  }

  /** Whether reads may start at a floor now. */
  boolean enabled() {
    return this != OFF && enabled.getAsBoolean();
  }

  /** Forgets the floor and the candidate: the next read starts at the head. */
  public void reset() {
    if (this == OFF) {
      return;
    }
    partitions = null;
    floor = NONE;
    candidateXids = null;
  }

  /** Where a read of {@code partitions} starts: at the head when they are not the last read's. */
  long floorFor(Set<Integer> partitions) {
    if (!partitions.equals(this.partitions)) {
      reset();
      this.partitions = Set.copyOf(partitions);
    }
    return floor;
  }

  /**
   * Scopes the next read to {@code leaseChanges}, a counter of the relay's lease claims and losses:
   * when it moved since the last read, the floor is dropped.
   */
  public void scope(long leaseChanges) {
    if (this != OFF && leaseChanges != scope) {
      reset();
      scope = leaseChanges;
    }
  }

  /**
   * Whether the read ran on the server the floor was proved on ({@code server}: its start time). A
   * pool may hand out a connection to another server without any error reaching the relay (a
   * promoted standby after a failover, a restart): that server may lack commits the floor counted
   * and hand out the same {@code seq} values and transaction ids again, so the floor and the
   * candidate are dropped, and the read that used them must be made again from the head.
   */
  boolean sameServer(String server) {
    String known = this.server;
    this.server = server;
    if (known == null || known.equals(server)) {
      return true;
    }
    reset();
    return false;
  }

  /** The transaction ids the candidate waits for: bound into the read, empty without one. */
  List<String> waitingFor() {
    List<String> xids = candidateXids;
    return xids == null ? List.of() : xids;
  }

  /** The current floor, {@link #NONE} without one (for tests and logs). */
  public long floor() {
    return floor;
  }

  /**
   * Moves the floor after a read in snapshot {@code snapshot} ({@code xmin:xmax:xip,...}).
   *
   * @param lowest the lowest pending {@code seq} at or above the floor, or {@code null} for none
   * @param finished whether every id the candidate waited for is finished in the snapshot
   * @param highestRead the highest {@code seq} the read returned, or {@link #NONE} for none
   */
  void advance(String snapshot, @Nullable Long lowest, boolean finished, long highestRead) {
    List<String> xids = candidateXids;
    if (xids != null && finished) {
      long next = candidateSeq + 1;
      if (lowest != null && lowest < next) {
        next = lowest;
      }
      floor = Math.max(floor, next);
      candidateXids = null;
    }
    if (candidateXids == null && highestRead != NONE) {
      candidateSeq = highestRead;
      candidateXids = inProgress(snapshot);
    }
  }

  /** The in-progress ids of a {@code pg_snapshot} as text: {@code xmin:xmax:xip1,xip2,...}. */
  static List<String> inProgress(String snapshot) {
    String[] parts = snapshot.split(":", -1);
    if (parts.length != 3) {
      throw new IllegalStateException("Unexpected snapshot text '" + snapshot + "'");
    }
    List<String> xids = new ArrayList<>();
    for (String xid : parts[2].split(",")) {
      if (!xid.isBlank()) {
        Long.parseUnsignedLong(xid.strip()); // a number, or the text is not what we expect
        xids.add(xid.strip());
      }
    }
    return List.copyOf(xids);
  }
}
