package dev.outboxkit.idempotency;

import dev.outboxkit.outbox.OutboxException;

/**
 * An idempotency key, scope, fingerprint or message id is empty, too long or has bad characters.
 */
public class InvalidIdempotencyKeyException extends OutboxException {

  private static final long serialVersionUID = 1L;

  /**
   * @param message what is wrong
   */
  public InvalidIdempotencyKeyException(String message) {
    super("Invalid idempotency key: " + message);
  }
}
