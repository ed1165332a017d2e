package dev.outboxkit.outbox;

import org.jspecify.annotations.Nullable;

/** The root of every exception OutboxKit throws. Unchecked; subclasses carry the context. */
public class OutboxException extends RuntimeException {

  private static final long serialVersionUID = 1L;

  /**
   * @param message what went wrong and what to change
   */
  public OutboxException(String message) {
    super(message);
  }

  /**
   * @param message what went wrong and what to change
   * @param cause the underlying failure, if any
   */
  public OutboxException(String message, @Nullable Throwable cause) {
    super(message, cause);
  }
}
