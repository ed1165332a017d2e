package dev.outboxkit.idempotency;

import dev.outboxkit.outbox.OutboxException;

/** A request with the same idempotency key is still being processed; nothing ran. Retry later. */
public class IdempotencyKeyInFlightException extends OutboxException {

  private static final long serialVersionUID = 1L;

  /**
   * @param key the key in use
   */
  public IdempotencyKeyInFlightException(IdempotencyKey key) {
    super(
        "A request with idempotency key '"
            + key.key()
            + "' in scope '"
            + key.scope()
            + "' is still in progress; retry later");
  }
}
