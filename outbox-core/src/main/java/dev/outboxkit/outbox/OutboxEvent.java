package dev.outboxkit.outbox;

import java.time.Instant;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import org.jspecify.annotations.Nullable;

/**
 * The envelope of an event as it is stored in the outbox table and published to Kafka.
 *
 * @param id the event id, a time-ordered UUIDv7; the Kafka header consumers deduplicate on
 * @param aggregateType the kind of aggregate; routes to a topic
 * @param aggregateId the aggregate's id; the Kafka key and the ordering key
 * @param eventType what happened
 * @param payload the serialized body, or {@code null} for a tombstone
 * @param headers the user headers (and {@code traceparent} when a trace was active)
 * @param tenant the tenant id, or {@code null}
 * @param createdAt when the event was appended, truncated to microseconds as stored
 * @param partition the outbox partition, {@code hash(aggregateId) mod partitions}
 */
public record OutboxEvent(
    UUID id,
    String aggregateType,
    String aggregateId,
    String eventType,
    byte @Nullable [] payload,
    Map<String, String> headers,
    @Nullable String tenant,
    Instant createdAt,
    int partition) {

  /** Copies the headers, keeping their order. The payload array is shared: do not modify it. */
  public OutboxEvent {
    headers = Collections.unmodifiableMap(new LinkedHashMap<>(headers));
  }

  /** Compares the payload by content, unlike a plain record. */
  @Override
  public boolean equals(@Nullable Object other) {
    return other instanceof OutboxEvent that
        && id.equals(that.id)
        && aggregateType.equals(that.aggregateType)
        && aggregateId.equals(that.aggregateId)
        && eventType.equals(that.eventType)
        && Arrays.equals(payload, that.payload)
        && headers.equals(that.headers)
        && Objects.equals(tenant, that.tenant)
        && createdAt.equals(that.createdAt)
        && partition == that.partition;
  }

  @Override
  public int hashCode() {
    return id.hashCode();
  }

  /** Describes the event without its payload or header values, which may hold personal data. */
  @Override
  public String toString() {
    return "OutboxEvent[id="
        + id
        + ", aggregateType="
        + aggregateType
        + ", aggregateId="
        + aggregateId
        + ", eventType="
        + eventType
        + ", payloadBytes="
        + (payload == null ? "null" : payload.length)
        + ", headers="
        + headers.keySet()
        + ", tenant="
        + tenant
        + ", createdAt="
        + createdAt
        + ", partition="
        + partition
        + "]";
  }
}
