package dev.outboxkit.chaos;

import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * {@code kill -9} of a relay process (preferably one holding partitions), then a new relay in its
 * slot, as an orchestrator restarts a crashed pod. The others must take its partitions over without
 * waiting for the lease TTL (the dead process's session lock goes with its connections).
 */
final class KillRelayFault implements Fault {

  @Override
  public String name() {
    return "kill-relay";
  }

  @Override
  public @Nullable String unavailableReason(FaultContext context) {
    return null;
  }

  @Override
  public FaultRecord inject(FaultContext context) {
    RelayFleet.Relay victim = context.pickVictim();
    Set<Integer> held = context.partitionsHeldBy(victim.id());
    RelayFleet.kill(victim);
    // Taken once the process is gone: no record it sent can carry a later timestamp.
    long start = context.clock().millis();
    context.fleet().respawn(victim.slot());
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
