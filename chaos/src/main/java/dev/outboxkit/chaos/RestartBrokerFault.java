package dev.outboxkit.chaos;

import java.time.Duration;
import org.jspecify.annotations.Nullable;

/**
 * The Kafka broker crashes ({@code kill -9} of its process: no shutdown, unflushed segments), stays
 * down for a second and comes back on the same port and log directory after log recovery, as a
 * broker host that died and restarted. Sends fail or time out meanwhile; the relays must keep every
 * event and resend, within the duplicate bound. Embedded broker only: a broker named with {@code
 * --bootstrap-servers} is not this kit's to kill (restart one of yours by hand during a run and the
 * ledger check still holds you to the same guarantees).
 */
final class RestartBrokerFault implements Fault {

  private static final Duration DOWN = Duration.ofSeconds(1);

  @Override
  public String name() {
    return "restart-broker";
  }

  @Override
  public @Nullable String unavailableReason(FaultContext context) {
    return context.environment().restartableBroker() == null
        ? "the Kafka cluster is not one this run started (--bootstrap-servers)"
        : null;
  }

  @Override
  public FaultRecord inject(FaultContext context) {
    ChaosBroker broker = context.environment().restartableBroker();
    if (broker == null) {
      throw new IllegalStateException(unavailableReason(context));
    }
    long start = context.clock().millis();
    broker.kill();
    Pause.of(DOWN);
    Duration ready = broker.restart();
    return new FaultRecord(
        name(),
        "broker (back after " + ready.toMillis() + " ms)",
        start,
        context.clock().millis(),
        FaultRecord.Measure.RECOVERY,
        context.allPartitions().get(),
        context.config().relays());
  }
}
