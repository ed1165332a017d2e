package dev.outboxkit.chaos;

import java.time.Duration;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * A zombie: SIGSTOP freezes a relay's whole process (as a long GC pause or a stalled VM would) for
 * longer than its lease TTL while the writers go on; the others take its partitions over; SIGCONT
 * wakes it with its batch and producer where they were. It must publish nothing its lease no longer
 * covers: the ledger's order check is what catches it.
 */
final class PauseRelayFault implements Fault {

  @Override
  public String name() {
    return "pause-relay";
  }

  @Override
  public @Nullable String unavailableReason(FaultContext context) {
    return null;
  }

  @Override
  public FaultRecord inject(FaultContext context) {
    RelayFleet.Relay victim = context.pickVictim();
    Set<Integer> held = context.partitionsHeldBy(victim.id());
    // The relay's starvation watch takes the stall it wakes up to as this fault, not starvation.
    ChaosSignals.markPaused(victim.control());
    RelayFleet.signal(victim, "STOP");
    // Taken once the process is frozen: no record it sent can carry a later timestamp.
    long start = context.clock().millis();
    try {
      // Past the TTL, plus time for a survivor to notice and claim.
      Pause.of(context.config().leaseTtl().multipliedBy(2).plus(Duration.ofSeconds(1)));
    } finally {
      RelayFleet.signal(victim, "CONT");
    }
    return new FaultRecord(
        name(),
        victim.id(),
        start,
        context.clock().millis(),
        FaultRecord.Measure.TAKEOVER,
        held,
        1);
  }
}
