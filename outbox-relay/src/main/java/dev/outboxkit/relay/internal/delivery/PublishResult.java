package dev.outboxkit.relay.internal.delivery;

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
   * @param kind what the failure says about the event and the broker
   */
  record Failed(PendingEvent event, String error, FailureKind kind) implements PublishResult {

    /** Whether retrying cannot help (the event is parked at once). */
    public boolean permanent() {
      return kind == FailureKind.PERMANENT;
    }
  }

  /**
   * Not sent, because an earlier event of its key failed in this batch, or the broker proved out of
   * reach earlier in the batch; sent again without counting an attempt.
   */
  record Deferred(PendingEvent event) implements PublishResult {}

  /** How a failure is counted. */
  enum FailureKind {
    /** Retrying the same record cannot succeed (too large, invalid): parked at once. */
    PERMANENT,
    /**
     * Retriable, and about this event (missing topic, router failure): counts towards parking after
     * {@code maxAttempts}.
     */
    EVENT,
    /**
     * The broker or the way to it (timeouts, no leader, not enough replicas): retried without
     * counting an attempt, since a healthy event must not be parked because the broker is down; it
     * feeds the circuit breaker.
     */
    BROKER,
    /**
     * Authentication or authorization (an ACL roll-out, expired credentials): like {@link #BROKER},
     * never counted towards parking, logged as a configuration problem.
     */
    ACCESS
  }
}
