package dev.outboxkit.spring;

import dev.outboxkit.outbox.Outbox;
import dev.outboxkit.outbox.OutboxMessage;
import org.springframework.context.event.EventListener;

/**
 * Appends every published {@link OutboxApplicationEvent} to the outbox, on the publishing thread
 * and in its transaction. A plain {@code @EventListener} rather than a {@code
 * TransactionalEventListener(BEFORE_COMMIT)} so that a missing transaction or an invalid event
 * fails at the {@code publishEvent} call, where the caller can see it, not later inside the commit.
 */
public final class OutboxApplicationEventListener {

  private final Outbox outbox;

  /**
   * @param outbox the outbox to append to
   */
  public OutboxApplicationEventListener(Outbox outbox) {
    this.outbox = outbox;
  }

  /**
   * Appends the event.
   *
   * @param event the published event
   */
  @EventListener
  public void onOutboxEvent(OutboxApplicationEvent event) {
    outbox.append(
        new OutboxMessage(
            event.aggregateType(),
            event.aggregateId(),
            event.eventType(),
            event.payload(),
            event.headers(),
            event.tenant()));
  }
}
