package dev.outboxkit.spring;

import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * A Spring application event that goes to Kafka through the outbox: publish it with {@code
 * ApplicationEventPublisher.publishEvent(...)} inside a transaction and it is appended to the
 * outbox in that transaction, synchronously, before {@code publishEvent} returns.
 *
 * <pre>{@code
 * public record PaymentAuthorized(String paymentId, long amountMinor, String currency)
 *     implements OutboxApplicationEvent {
 *   public String aggregateType() { return "Payment"; }
 *   public String aggregateId() { return paymentId; }
 * }
 *
 * @Transactional
 * public void authorize(...) {
 *   ...
 *   events.publishEvent(new PaymentAuthorized(id, 1250, "EUR"));
 * }
 * }</pre>
 *
 * <p>Publishing outside a transaction throws {@link
 * dev.outboxkit.outbox.NoActiveTransactionException} to the publisher; an invalid event throws
 * {@link dev.outboxkit.outbox.InvalidEventException}. Either stops the publication there: listeners
 * that Spring would have called after the outbox's do not run.
 */
public interface OutboxApplicationEvent {

  /** The kind of aggregate; routes the event to a topic. */
  String aggregateType();

  /** The aggregate's id: the Kafka key and ordering key. */
  String aggregateId();

  /** What happened. Default: the simple name of the event's class. */
  default String eventType() {
    return getClass().getSimpleName();
  }

  /** The payload to serialize. Default: the event itself. */
  default @Nullable Object payload() {
    return this;
  }

  /** Extra Kafka headers. Default: none. */
  default Map<String, String> headers() {
    return Map.of();
  }

  /** The tenant, or {@code null}. Default: none. */
  default @Nullable String tenant() {
    return null;
  }
}
