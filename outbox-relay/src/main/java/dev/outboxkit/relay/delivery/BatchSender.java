package dev.outboxkit.relay.delivery;

import dev.outboxkit.relay.internal.PendingEvent;
import java.util.List;
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
   * Hands a batch over while {@code mayHandOver} allows it, asked before each event: handing over
   * can block (a full buffer, metadata, a transaction to initialise), and a relay must not hand an
   * event over once its lease no longer outlasts the delivery timeout. The events not handed over
   * come back {@link PublishResult.Deferred}: sent again later, never failed for this.
   */
  default InFlight send(List<PendingEvent> batch, BooleanSupplier mayHandOver) {
    return send(batch);
  }

  /**
   * Sends a copy of a parked event to the dead-letter topic and waits for it.
   *
   * @return whether the broker acknowledged it
   */
  boolean sendDeadLetter(PendingEvent event, String topic, String error);
}
