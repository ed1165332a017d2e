package dev.outboxkit.relay.internal;

import dev.outboxkit.outbox.OutboxEvent;
import java.time.Instant;
import org.jspecify.annotations.Nullable;

/**
 * A pending row of the outbox: the envelope and the relay's bookkeeping.
 *
 * @param seq the row's sequence number
 * @param event the envelope
 * @param attempts failed attempts so far
 * @param nextAttemptAt when it may be retried, or {@code null} when it never failed
 */
public record PendingEvent(
    long seq, OutboxEvent event, int attempts, @Nullable Instant nextAttemptAt) {

  /** The ordering key. */
  public String key() {
    return event.aggregateId();
  }

  public int partition() {
    return event.partition();
  }
}
