package dev.outboxkit.chaos;

import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import org.jspecify.annotations.Nullable;

/**
 * Poison events while the dead-letter topic is missing: the kit deletes the relays' dead-letter
 * topic, commits a few {@link PoisonEvents} (each refused by the broker as too large), waits until
 * the relays parked them, and creates the topic again. Checked: every poison event is parked, never
 * dropped (at the end of the run, by the ledger check, through the operator's {@code
 * ParkedEvents}); and the other keys are not held up meanwhile: every outbox partition publishes
 * within a tight bound (twice the lease TTL plus 2 s) of the poison's commit, where a copy that
 * blocks the publishing thread (up to {@code max.block.ms} per parked event) would stall them.
 */
final class MissingDeadLetterTopicFault implements Fault {

  private static final int POISON_PER_CYCLE = 3;
  private static final Duration PARK_TIMEOUT = Duration.ofSeconds(60);

  @Override
  public String name() {
    return "missing-dead-letter-topic";
  }

  @Override
  public @Nullable String unavailableReason(FaultContext context) {
    return null;
  }

  @Override
  public FaultRecord inject(FaultContext context) {
    context.environment().deleteTopic(context.deadLetterTopic());
    long start = context.clock().millis();
    List<UUID> poison = context.poison().write(POISON_PER_CYCLE);
    String problem = null;
    long deadline = System.nanoTime() + PARK_TIMEOUT.toNanos();
    while (true) {
      Set<UUID> parked = context.poison().parkedIds();
      if (parked.containsAll(poison)) {
        break;
      }
      if (System.nanoTime() > deadline) {
        problem =
            poison.stream().filter(id -> !parked.contains(id)).count()
                + " poison events not parked "
                + PARK_TIMEOUT.toSeconds()
                + " s after their commit";
        break;
      }
      Pause.millis(200);
    }
    long parkedAt = context.clock().millis();
    context.environment().createTopic(context.deadLetterTopic(), 1, java.util.Map.of());
    long bound = context.config().leaseTtl().multipliedBy(2).plusSeconds(2).toMillis();
    return new FaultRecord(
        name(),
        poison.size() + " poison events (parked after " + (parkedAt - start) + " ms)",
        start,
        context.clock().millis(),
        FaultRecord.Measure.STALL,
        context.allPartitions().get(),
        0,
        bound,
        problem);
  }
}
