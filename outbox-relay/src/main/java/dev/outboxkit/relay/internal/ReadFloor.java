package dev.outboxkit.relay.internal;

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
 * per-session cache). Let read i, in snapshot S_i, return rows up to {@code seq} c_i, and let the
 * same statement take a transaction id B_i (assigned during the statement, after S_i was taken). A
 * row below c_i that S_i does not see took its {@code seq} before c_i did, so its transaction had
 * its id before c_i's transaction committed, before S_i, before B_i: its id is below B_i. (Not
 * necessarily in S_i's in-progress list: a snapshot's xmax is the latest completed id + 1, and a
 * running transaction with an id at or above it is listed nowhere; review12 finding 1.) Once a
 * later read j's snapshot S_j has its oldest running id (xmin) at or above B_i, every transaction
 * below B_i is finished and every row up to c_i is visible in S_j or gone for good; with m_j, the
 * lowest pending {@code seq} at or above the floor that S_j sees in the partitions (every pending
 * row, held keys' and those in flight included), no row below min(m_j, c_i + 1) is pending in S_j
 * or can become pending later (a row never goes back to pending). The statement of read j returns
 * m_j and whether B_i is passed, with its rows, and takes B_j only when it will be the next
 * candidate.
 *
 * <p>One candidate (c_i, X_i) at a time: while X_i is not finished the older candidate stays (a
 * newer one would wait for newer transactions, and under a steady write load never be finished).
 * The floor is dropped (the read starts at the head again) when the read's partitions or the
 * relay's leases change, on any failure of a read, when the read takes the other path (a position
 * past held keys), when the switch says the trigger is gone, and when a read finds itself on
 * another server than the floor's (its start time changed: a failover or restart behind a pool that
 * reconnects without an error; or it recovered from a crash without a restart, which resets its
 * statistics); that read is then made again from the head. Confined to one publishing thread; only
 * the switch is shared.
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
  private @Nullable String candidateBound;
  private @Nullable String server;
  private @Nullable String sequence;

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
    candidateBound = null;
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
   * Whether the read ran on the server the floor was proved on ({@code server}: its start time and
   * when its statistics were last reset, which crash recovery does), with the same storage of the
   * {@code seq} identity's sequence ({@code sequence}: its file node). Otherwise the floor and the
   * candidate are dropped, and the read that used them must be made again from the head:
   *
   * <ul>
   *   <li>A pool may hand out a connection to another server without any error reaching the relay
   *       (a promoted standby after a failover, a restart): that server may lack commits the floor
   *       counted and hand out the same {@code seq} values and transaction ids again.
   *   <li>{@code TRUNCATE … RESTART IDENTITY} and {@code ALTER … RESTART} replace the sequence's
   *       file node, and new rows then take {@code seq} values below the floor (review12 finding
   *       2). A {@code setval} to a lower value keeps the file node and is not seen.
   * </ul>
   */
  boolean sameSource(String server, String sequence) {
    String knownServer = this.server;
    String knownSequence = this.sequence;
    this.server = server;
    this.sequence = sequence;
    if ((knownServer == null || knownServer.equals(server))
        && (knownSequence == null || knownSequence.equals(sequence))) {
      return true;
    }
    reset();
    return false;
  }

  /**
   * The transaction id the candidate waits for (every transaction below it finished), bound into
   * the read; {@code null} without a candidate.
   */
  @Nullable String waitingFor() {
    return candidateBound;
  }

  /** The current floor, {@link #NONE} without one (for tests and logs). */
  public long floor() {
    return floor;
  }

  /**
   * Moves the floor after a read.
   *
   * @param bound the transaction id the read took after its snapshot, {@code null} when it took
   *     none (it had a candidate whose transactions were not all finished)
   * @param lowest the lowest pending {@code seq} at or above the floor, or {@code null} for none
   * @param finished whether every transaction below the candidate's bound is finished in the read's
   *     snapshot
   * @param highestRead the highest {@code seq} the read returned, or {@link #NONE} for none
   */
  void advance(@Nullable String bound, @Nullable Long lowest, boolean finished, long highestRead) {
    if (candidateBound != null && finished) {
      long next = candidateSeq + 1;
      if (lowest != null && lowest < next) {
        next = lowest;
      }
      floor = Math.max(floor, next);
      candidateBound = null;
    }
    if (candidateBound == null && highestRead != NONE && bound != null) {
      Long.parseUnsignedLong(bound); // a transaction id, or the text is not what we expect
      candidateSeq = highestRead;
      candidateBound = bound;
    }
  }
}
