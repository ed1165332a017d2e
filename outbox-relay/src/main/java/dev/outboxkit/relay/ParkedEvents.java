package dev.outboxkit.relay;

import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.UUID;
import java.util.function.Consumer;

/**
 * Lists, replays and purges parked events: those the relay stopped retrying after its maximum
 * number of attempts or a permanent error. Each method is one short transaction of its own; all are
 * safe while relays run.
 *
 * <p>Replaying puts an event back in the queue with its attempts reset, at the end of its key's
 * queue: the parked row is replaced by a pending copy (same id, payload, headers and append time)
 * with a new {@code seq}. It is therefore published after every event of its key that was appended
 * before the replay, those published while it was parked and those still pending alike: a replayed
 * event never overtakes a later event of its key. Replay is the operator's choice to deliver it
 * late.
 *
 * <p>Bulk operations ({@link #groups}, {@link #replay(ParkedFilter, int, Consumer)}, {@link
 * #purge(ParkedFilter, int, Consumer)}) select events with a {@link ParkedFilter}, e.g. one {@link
 * ParkedGroup failure group}, and change them in batches: one transaction and one audit record
 * (naming the filter and the ids it resolved) per batch, so a run over 40,000 events neither holds
 * one long transaction nor leaves unaudited changes when it is interrupted.
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
   * Puts parked events back in the queue. Ids that are not parked are ignored. At most {@link
   * #MAX_REPLAY_BATCH} ids go back per transaction, each batch with its audit record listing them;
   * the ids are put in the order their events were appended before the batches are cut, whatever
   * the order given, so a key's copies keep their order across batches. A call with more ids that
   * fails part way leaves the batches before the failure replayed (and audited), as a replay by
   * filter does: the relay is woken for them, and the exception says how many of the requested
   * events were replayed.
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
   * Parked events grouped by their {@link FailureFingerprint failure}, largest group first. Reads
   * every matching parked event (in pages, in one transaction); recorded as a listing.
   *
   * @param filter which events to group ({@link ParkedFilter#all()} for all)
   * @since 0.8
   */
  List<ParkedGroup> groups(ParkedFilter filter);

  /**
   * The oldest parked events that match a filter, in append order; recorded as a listing.
   *
   * @param filter which events
   * @param limit the most to return, at least 1
   * @since 0.8
   */
  List<ParkedEvent> list(ParkedFilter filter, int limit);

  /**
   * The most events {@link #replay(ParkedFilter, int, Consumer)} puts back in one transaction,
   * whatever its batch size: each batch's audit record then lists every event it replayed ({@link
   * AuditEntry#MAX_LISTED_IDS}), which is how the CDC relay tells a replayed event from one its
   * writer deleted when it re-reads the event's original insert.
   *
   * @since 0.9
   */
  int MAX_REPLAY_BATCH = AuditEntry.MAX_LISTED_IDS;

  /**
   * Puts the parked events that match {@code filter} back in the queue, {@code batchSize} (at most
   * {@link #MAX_REPLAY_BATCH}) per transaction, each batch with its audit record. Visits the events
   * parked when the call began once, oldest first; events parked again meanwhile wait for another
   * call. A batch that fails stops the call: the batches before it stay replayed (the relay is
   * woken for them), and the exception says how many events they replayed.
   *
   * @param filter which events
   * @param batchSize events per transaction, 1 to 10,000; above {@link #MAX_REPLAY_BATCH}, {@link
   *     #MAX_REPLAY_BATCH}
   * @param progress told the running totals after each committed batch, on the calling thread
   * @return the totals
   * @since 0.8
   */
  BulkResult replay(ParkedFilter filter, int batchSize, Consumer<BulkResult> progress);

  /**
   * Deletes for good the parked events that match {@code filter}, {@code batchSize} per
   * transaction, each batch with its audit record.
   *
   * @param filter which events
   * @param batchSize events per transaction, 1 to 10,000
   * @param progress told the running totals after each committed batch, on the calling thread
   * @return the totals
   * @since 0.8
   */
  BulkResult purge(ParkedFilter filter, int batchSize, Consumer<BulkResult> progress);

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
