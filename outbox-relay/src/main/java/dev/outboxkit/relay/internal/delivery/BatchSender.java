package dev.outboxkit.relay.internal.delivery;

import dev.outboxkit.relay.internal.PendingEvent;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.BooleanSupplier;

/**
 * Hands batches of events to the broker. The relays hold the Kafka implementation as a {@link
 * ManagedBatchSender} made by {@code KafkaPublishers}; tests of the delivery decisions use an
 * in-memory one.
 *
 * <p>Contract the decisions rely on: results come back one per event in the batch's order; when an
 * event cannot be handed over, later events of its key in the batch come back {@link
 * PublishResult.Deferred}; events of one key reach the broker in batch order, and when one fails
 * after it was handed over, the later ones of its key in the same batch fail too (the idempotent
 * producer's ordered, per-partition retries).
 */
public interface BatchSender {

  /** A batch handed over, whose acknowledgements are still to come. */
  interface InFlight {
    /** The events, in the order they were handed over. */
    List<PendingEvent> batch();

    /** Waits for every acknowledgement; one result per event, in the batch's order. */
    List<PublishResult> await();
  }

  /** Hands a batch over without waiting for acknowledgements. */
  InFlight send(List<PendingEvent> batch);

  /**
   * Hands a batch over like {@link #send(List)}, asking {@code mayHandOver} before each event: once
   * it says no, the rest of the batch comes back {@link PublishResult.Deferred}, not sent. Handing
   * a batch over can take long (a full buffer, a process paused in the middle of it), and a relay
   * whose leases lapsed meanwhile must not go on sending. The default asks nothing.
   *
   * @param mayHandOver whether an event may still be handed over now; called on the caller's thread
   */
  default InFlight send(List<PendingEvent> batch, BooleanSupplier mayHandOver) {
    return send(batch);
  }

  /**
   * Sends a copy of a parked event to the dead-letter topic and waits for it. The relays call
   * {@link #copyToDeadLetter} instead.
   *
   * @return whether the broker acknowledged it
   */
  boolean sendDeadLetter(PendingEvent event, String topic, String error);

  /**
   * Hands a copy of a parked event to the dead-letter topic without waiting for it: the decision
   * that parked the event must not hold its partitions while a copy waits for the broker (a missing
   * dead-letter topic blocks a send for {@code max.block.ms}). The default sends through {@link
   * #sendDeadLetter}, on the caller's thread; the Kafka publisher copies on a thread of its own.
   *
   * @return completes normally once the broker acknowledged the copy, exceptionally when it did not
   */
  default CompletionStage<Void> copyToDeadLetter(PendingEvent event, String topic, String error) {
    return sendDeadLetter(event, topic, error)
        ? CompletableFuture.completedFuture(null)
        : CompletableFuture.failedFuture(
            new IllegalStateException("The broker did not acknowledge the copy"));
  }
}
