/**
 * Micrometer Observation of the relay's publishing: one observation per event handed to Kafka
 * ({@value dev.outboxkit.relay.observation.DefaultOutboxPublishObservationConvention#NAME}), in
 * polling and CDC mode alike, continuing the trace whose context the event's headers carry from its
 * append. Set the registry with {@code OutboxRelay.Builder#observationRegistry}; rename or retag
 * with an {@link dev.outboxkit.relay.observation.OutboxPublishObservationConvention}.
 */
@NullMarked
package dev.outboxkit.relay.observation;

import org.jspecify.annotations.NullMarked;
