package dev.outboxkit.chaos;

import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * One injected fault, for the ledger check.
 *
 * @param fault the fault's name
 * @param target what it hit (a relay id, the database)
 * @param startMillis when it began
 * @param endMillis when it was over (relay replaced or woken, database back)
 * @param measure what the check measures after it: a takeover (from {@code startMillis}), a
 *     recovery (from {@code endMillis}) or nothing
 * @param partitions the outbox partitions that must publish again (those the victim held)
 * @param relaysHit relays that may resend their batch in flight because of it
 * @param stuckAfterMillis a partition that publishes nothing for longer than this after the fault
 *     is stuck ({@code --stuck-after} unless the fault states a tighter bound)
 * @param problem a guarantee the fault itself saw broken (a relay that did not fail over, an event
 *     dropped instead of parked), or null
 */
record FaultRecord(
    String fault,
    String target,
    long startMillis,
    long endMillis,
    Measure measure,
    Set<Integer> partitions,
    int relaysHit,
    long stuckAfterMillis,
    @Nullable String problem) {

  /** A fault held to the run's stuck bound, that saw nothing broken itself. */
  FaultRecord(
      String fault,
      String target,
      long startMillis,
      long endMillis,
      Measure measure,
      Set<Integer> partitions,
      int relaysHit) {
    this(fault, target, startMillis, endMillis, measure, partitions, relaysHit, -1, null);
  }

  /** What the ledger check measures after a fault. */
  enum Measure {
    TAKEOVER,
    RECOVERY,
    /**
     * Other keys' progress while the fault lasts: from its start to every partition's next publish.
     */
    STALL,
    NONE
  }

  FaultRecord {
    partitions = Set.copyOf(partitions);
  }

  /** The time the measured interval starts from. */
  long measuredFrom() {
    return measure == Measure.TAKEOVER || measure == Measure.STALL ? startMillis : endMillis;
  }
}
