package dev.outboxkit.idempotency;

import dev.outboxkit.outbox.PayloadIntegrityException;

/**
 * The result stored with an idempotency key cannot be decoded (the key that encrypted it was
 * removed, encryption was turned on after it was stored, the stored bytes were altered or written
 * by another {@link ResultCodec}). The work under that key was done once and is not run again; the
 * stored result cannot be replayed until the key expires. The message names the scope and key,
 * never the stored bytes; the cause is the codec's failure.
 *
 * @since 0.1
 */
public class IdempotencyResultUnreadableException extends PayloadIntegrityException {

  private static final long serialVersionUID = 1L;

  private final IdempotencyKey key;

  /**
   * @param key the key whose stored result failed, not null
   * @param cause the codec's failure, not null
   */
  public IdempotencyResultUnreadableException(IdempotencyKey key, RuntimeException cause) {
    super(
        null,
        "The result stored with idempotency key '"
            + key.key()
            + "' in scope '"
            + key.scope()
            + "' cannot be decoded ("
            + cause.getClass().getName()
            + "); the work was done once and is not run again. Check the result codec's keys (a"
            + " removed key, encryption turned on after the result was stored)",
        cause);
    this.key = key;
  }

  /** The key whose stored result cannot be decoded. */
  public IdempotencyKey key() {
    return key;
  }
}
