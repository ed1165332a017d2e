package dev.outboxkit.relay;

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
}
