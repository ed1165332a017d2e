package dev.outboxkit.outbox;

import java.util.UUID;
import org.jspecify.annotations.Nullable;

/**
 * An encoded payload failed its check on the consumer side: it was altered, moved to another event
 * or aggregate, is not encoded at all, or was encoded with a key the consumer does not have. Never
 * retry such a record and never skip it: park it (dead-letter topic) and investigate. The message
 * names the event, never key material.
 */
public class PayloadIntegrityException extends OutboxException {

  private static final long serialVersionUID = 1L;

  private final @Nullable UUID eventId;

  /**
   * @param eventId the event whose payload failed, if known
   * @param message what failed and what to check
   * @param cause the underlying failure, if any
   */
  public PayloadIntegrityException(
      @Nullable UUID eventId, String message, @Nullable Throwable cause) {
    super(message, cause);
    this.eventId = eventId;
  }

  /** The event whose payload failed, or {@code null} when the record did not name one. */
  public @Nullable UUID eventId() {
    return eventId;
  }
}
