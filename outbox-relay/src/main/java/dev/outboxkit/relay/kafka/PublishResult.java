package dev.outboxkit.relay.kafka;

import dev.outboxkit.relay.internal.PendingEvent;
import java.time.Instant;

/** What became of one event of a batch. */
public sealed interface PublishResult {

  /** The event the result is about. */
  PendingEvent event();

  /** The broker acknowledged the record. */
  record Acked(PendingEvent event, Instant at) implements PublishResult {}

  /**
   * The send failed.
   *
   * @param permanent whether retrying cannot help (the event is parked at once)
   * @param reachedBroker whether the record was handed to the producer; a failure before that
   *     (missing topic, oversized record) says nothing about the broker's health
   */
  record Failed(PendingEvent event, String error, boolean permanent, boolean reachedBroker)
      implements PublishResult {}

  /** Not sent, because an earlier event of its key failed in this batch; retried with it. */
  record Deferred(PendingEvent event) implements PublishResult {}
}
