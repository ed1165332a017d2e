package dev.outboxkit.chaos;

import java.util.Set;

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
 */
record FaultRecord(
    String fault,
    String target,
    long startMillis,
    long endMillis,
    Measure measure,
    Set<Integer> partitions,
    int relaysHit) {

  /** What the ledger check measures after a fault. */
  enum Measure {
    TAKEOVER,
    RECOVERY,
    NONE
  }

  FaultRecord {
    partitions = Set.copyOf(partitions);
  }

  /** The time the measured interval starts from. */
  long measuredFrom() {
    return measure == Measure.TAKEOVER ? startMillis : endMillis;
  }
}
