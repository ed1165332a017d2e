package dev.outboxkit.idempotency;

import dev.outboxkit.outbox.OutboxException;

/** The same idempotency key was used for a different request; nothing ran. */
public class IdempotencyKeyMismatchException extends OutboxException {

  private static final long serialVersionUID = 1L;

  /**
   * @param key the reused key
   */
  public IdempotencyKeyMismatchException(IdempotencyKey key) {
    super(
        "Idempotency key '"
            + key.key()
            + "' in scope '"
            + key.scope()
            + "' was already used for a different request; use a new key for a new request");
  }
}
