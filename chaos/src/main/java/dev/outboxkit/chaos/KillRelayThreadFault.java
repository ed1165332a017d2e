package dev.outboxkit.chaos;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.time.Duration;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * A publishing thread of a relay (preferably one holding partitions) dies of an {@link Error}, as
 * an {@code OutOfMemoryError} or a linkage error would end it: the kit drops a file in the relay's
 * control directory and the relay's topic router ({@link ChaosSignals}) throws the error on the
 * next event. The relay must fail over cleanly: a polling relay releases its leases and reports
 * {@code FAILED} (its process then exits and is replaced, as a liveness probe would restart the
 * pod); a CDC relay's engine ends and its lease goes to a standby. What the ledger then checks:
 * nothing lost or reordered, and every partition the relay held publishes again (a thread that died
 * with its leases still renewed would leave them stuck).
 */
final class KillRelayThreadFault implements Fault {

  @Override
  public String name() {
    return "kill-relay-thread";
  }

  @Override
  public @Nullable String unavailableReason(FaultContext context) {
    return null;
  }

  @Override
  public FaultRecord inject(FaultContext context) {
    RelayFleet.Relay victim = context.pickVictim();
    Set<Integer> held = context.partitionsHeldBy(victim.id());
    long start = context.clock().millis();
    if (held.isEmpty()) {
      // A relay without partitions routes nothing: the error would stay armed until it gets some.
      return new FaultRecord(
          name(),
          "none (no relay held partitions)",
          start,
          start,
          FaultRecord.Measure.NONE,
          held,
          0);
    }
    try {
      Files.writeString(victim.control().resolve(ChaosSignals.THROW_ERROR), "");
    } catch (IOException e) {
      throw new UncheckedIOException("Could not signal relay " + victim.id(), e);
    }
    // A failed-over polling relay exits; a CDC relay whose engine died gives its lease up and
    // stays. Either way the victim must no longer hold what it held, within a few lease TTLs.
    Duration bound = context.config().leaseTtl().multipliedBy(4).plus(Duration.ofSeconds(10));
    long deadline = System.nanoTime() + bound.toNanos();
    String outcome = "still holding its partitions after " + bound.toSeconds() + " s";
    String problem = victim.id() + " did not fail over: " + outcome;
    while (System.nanoTime() < deadline) {
      if (!victim.process().isAlive()) {
        int status = victim.process().exitValue();
        outcome = "exited with status " + status;
        problem =
            status == ChaosRelayMain.FAILED_EXIT
                ? null
                : victim.id() + " exited with " + status + " instead of failing over";
        context.fleet().respawn(victim.slot());
        break;
      }
      if (context.config().mode() == Mode.CDC && context.partitionsHeldBy(victim.id()).isEmpty()) {
        outcome = "gave its partitions up";
        problem = null;
        break;
      }
      Pause.millis(100);
    }
    return new FaultRecord(
        name(),
        victim.id() + " (" + outcome + ")",
        start,
        context.clock().millis(),
        FaultRecord.Measure.TAKEOVER,
        held,
        1,
        -1,
        problem);
  }
}
