/**
 * Micrometer Observation of the write path: {@link
 * dev.outboxkit.outbox.observation.OutboxObservations#observe} wraps an {@link
 * dev.outboxkit.outbox.Outbox} so that each {@code append}/{@code appendAll} is an observation
 * ({@value dev.outboxkit.outbox.observation.DefaultOutboxAppendObservationConvention#NAME}) whose
 * trace context is written into the events' headers (W3C {@code traceparent} with a tracing
 * bridge). The relay continues that trace when it publishes, and the consumer's inbox when it
 * processes. Needs {@code io.micrometer:micrometer-observation} on the class path.
 */
@NullMarked
package dev.outboxkit.outbox.observation;

import org.jspecify.annotations.NullMarked;
