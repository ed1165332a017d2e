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

  /**
   * The database rolled the caller's transaction back (a deadlock, or a lock timeout with {@code
   * innodb_rollback_on_timeout=ON}) while waiting for the key; retry the whole transaction.
   *
   * @param key the key in use
   * @param cause the database's error
   */
  public IdempotencyKeyInFlightException(IdempotencyKey key, Throwable cause) {
    super(
        "The transaction waiting for idempotency key '"
            + key.key()
            + "' in scope '"
            + key.scope()
            + "' was rolled back by the database; retry the whole operation",
        cause);
  }
}
