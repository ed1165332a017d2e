package dev.outboxkit.relay;

import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.UUID;

/**
 * Lists, replays and purges parked events: those the relay stopped retrying after its maximum
 * number of attempts or a permanent error. Each method is one short transaction of its own; all are
 * safe while relays run.
 *
 * <p>Replaying puts an event back in the queue with its attempts reset. It is published after the
 * events of its aggregate that were published while it was parked: replay is the operator's choice
 * to deliver it late.
 *
 * <p>Every listing, replay and purge is recorded in the {@link #auditTrail() audit trail}: a change
 * writes its record in the same transaction, so no change commits without its record. Calls are
 * recorded as {@link AuditActor#APPLICATION} unless made through {@link #as(AuditActor)}. {@link
 * #count()} reads no event and is not recorded.
 */
public interface ParkedEvents {

  /**
   * The oldest parked events, in append order.
   *
   * @param limit the most to return, at least 1
   */
  List<ParkedEvent> list(int limit);

  /** The number of parked events. */
  long count();

  /**
   * Puts parked events back in the queue. Ids that are not parked are ignored.
   *
   * @param ids event ids
   * @return how many events were requeued
   */
  int replay(Collection<UUID> ids);

  /**
   * Puts every parked event back in the queue.
   *
   * @return how many events were requeued
   */
  int replayAll();

  /**
   * Deletes parked events for good. Ids that are not parked are ignored.
   *
   * @param ids event ids
   * @return how many events were deleted
   */
  int purge(Collection<UUID> ids);

  /**
   * Deletes for good, in one transaction, the oldest parked events created before {@code cutoff}:
   * the retention purge. Recorded as {@link AuditEntry.Operation#RETENTION_PURGE} with the ids it
   * deleted.
   *
   * @param cutoff events created before this instant go
   * @param limit the most to delete in this call, at least 1
   * @return how many events were deleted
   * @since 0.7
   */
  int purgeCreatedBefore(Instant cutoff, int limit);

  /**
   * The same parked events, with every operation recorded as done by {@code actor}.
   *
   * @param actor who calls (e.g. the authenticated operator and the request's address)
   * @since 0.7
   */
  ParkedEvents as(AuditActor actor);

  /**
   * The audit trail these operations write to.
   *
   * @since 0.7
   */
  AuditTrail auditTrail();
}
