package dev.outboxkit.relay;

import java.time.Instant;
import java.util.UUID;
import org.jspecify.annotations.Nullable;

/**
 * An event the relay gave up on (status {@code DEAD}); its row, payload included, stays in the
 * outbox until it is replayed or purged.
 *
 * @param seq the row's sequence number
 * @param id the event id
 * @param aggregateType the aggregate type
 * @param aggregateId the aggregate id (the Kafka key)
 * @param eventType the event type
 * @param attempts how many times the relay tried to publish it
 * @param lastError why the last attempt failed
 * @param createdAt when it was appended, or for an event replayed before when that replay made it
 *     pending again (the append time is then in its {@code outbox-appended-at} header)
 */
public record ParkedEvent(
    long seq,
    UUID id,
    String aggregateType,
    String aggregateId,
    String eventType,
    int attempts,
    @Nullable String lastError,
    Instant createdAt) {}
