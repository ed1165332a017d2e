package dev.outboxkit.outbox.spi;

import dev.outboxkit.outbox.OutboxMessage;
import java.util.Map;

/**
 * Adds headers to every appended event, e.g. the W3C {@code traceparent} of the active trace or the
 * id of the user who made the request. Headers the message already has win over contributed ones.
 *
 * <p>Called on the appending thread, inside the caller's transaction, before validation:
 * contributed headers obey the same rules as the application's. Implementations are thread-safe and
 * fast.
 *
 * @since 0.1
 */
@FunctionalInterface
public interface HeaderContributor {

  /**
   * The headers to add to a message.
   *
   * @param message the message being appended
   * @return the headers to add, possibly empty, never {@code null}
   */
  Map<String, String> headersFor(OutboxMessage message);
}
