package dev.outboxkit.outbox;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * An event as the application hands it to {@link Outbox#append(OutboxMessage)}: what happened to
 * which aggregate, with a payload object that the outbox serializes.
 *
 * <p>The message is not checked when it is created; {@link Outbox#append} validates it and rejects
 * it with an {@link InvalidEventException} that lists every problem.
 *
 * @param aggregateType the kind of aggregate, e.g. {@code "Payment"}; routes the event to a topic.
 *     Letters, digits, '.', '_' and '-', at most {@value OutboxDefaults#MAX_AGGREGATE_TYPE_LENGTH}
 * @param aggregateId the aggregate's id; the Kafka record key and the ordering key: events of one
 *     aggregate id are published in the order they were appended
 * @param eventType what happened, e.g. {@code "PaymentAuthorized"}
 * @param payload the event body, or {@code null} for a tombstone. A {@code byte[]} is stored as is,
 *     a {@code String} as UTF-8 text; anything else goes through the outbox's {@link
 *     dev.outboxkit.outbox.spi.PayloadSerializer} (JSON by default)
 * @param headers extra headers for the Kafka record; names are HTTP tokens not starting with {@code
 *     outbox-}, which is reserved for OutboxKit's own headers
 * @param tenant an optional tenant id, stored in its own column
 */
public record OutboxMessage(
    @Nullable String aggregateType,
    @Nullable String aggregateId,
    @Nullable String eventType,
    @Nullable Object payload,
    Map<String, String> headers,
    @Nullable String tenant) {

  /** Copies the headers; a {@code null} map means no headers. */
  public OutboxMessage {
    headers =
        headers == null || headers.isEmpty()
            ? Map.of()
            : Collections.unmodifiableMap(new LinkedHashMap<>(headers));
  }

  /**
   * A message without headers or tenant.
   *
   * @param aggregateType routes to a topic, e.g. {@code "Payment"}
   * @param aggregateId the Kafka key and ordering key
   * @param eventType what happened
   * @param payload the body, or {@code null} for a tombstone
   */
  public static OutboxMessage of(
      String aggregateType, String aggregateId, String eventType, @Nullable Object payload) {
    return new OutboxMessage(aggregateType, aggregateId, eventType, payload, Map.of(), null);
  }

  /**
   * This message with one more header (replacing a header of the same name).
   *
   * @param name an HTTP token, not starting with {@code outbox-}
   * @param value the value
   */
  public OutboxMessage withHeader(String name, String value) {
    Map<String, String> copy = new LinkedHashMap<>(headers);
    copy.put(name, value);
    return new OutboxMessage(aggregateType, aggregateId, eventType, payload, copy, tenant);
  }

  /**
   * This message with more headers (replacing headers of the same names).
   *
   * @param more the headers to add
   */
  public OutboxMessage withHeaders(Map<String, String> more) {
    Map<String, String> copy = new LinkedHashMap<>(headers);
    copy.putAll(more);
    return new OutboxMessage(aggregateType, aggregateId, eventType, payload, copy, tenant);
  }

  /**
   * This message for a tenant.
   *
   * @param tenant the tenant id, or {@code null} for none
   */
  public OutboxMessage withTenant(@Nullable String tenant) {
    return new OutboxMessage(aggregateType, aggregateId, eventType, payload, headers, tenant);
  }
}
