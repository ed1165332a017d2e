package dev.outboxkit.relay.internal.delivery;

import dev.outboxkit.relay.internal.PendingEvent;
import java.time.Instant;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * What the delivery core decided for one sent batch, for the mode to record: the polling relay
 * marks rows by {@code seq}, the CDC relay parks by event id and keeps retries in memory.
 *
 * @param acked events the broker acknowledged
 * @param retries events to send again when due (their attempts already counted)
 * @param parked events given up on, to be set {@code DEAD}
 * @param deferred events not sent, to go again at once without an attempt counted
 */
public record DeliveryOutcome(
    List<PendingEvent> acked,
    List<Failure> retries,
    List<Failure> parked,
    List<PendingEvent> deferred) {

  /**
   * A failed attempt.
   *
   * @param attempts the attempts counted so far, this one included when it counts
   * @param nextAttemptAt when to retry, {@code null} for a parked event
   */
  public record Failure(
      PendingEvent event, int attempts, @Nullable Instant nextAttemptAt, String error) {

    /** The event with its bookkeeping after this failure, as the next attempt sees it. */
    public PendingEvent updated() {
      return new PendingEvent(event.seq(), event.event(), attempts, nextAttemptAt);
    }
  }

  /** Whether every event of the batch is settled (acknowledged or parked). */
  public boolean settled() {
    return retries.isEmpty() && deferred.isEmpty();
  }
}
