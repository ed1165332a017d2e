/**
 * The OutboxKit relay: moves committed outbox events to Kafka, at least once and in order per
 * aggregate id.
 *
 * <p>Start with {@link dev.outboxkit.relay.OutboxRelay#builder()} and a {@link
 * dev.outboxkit.relay.RelayConfig}, the relay's configuration value. Parked (dead) events are
 * managed through {@link dev.outboxkit.relay.ParkedEvents}; the lease tables are created by {@link
 * dev.outboxkit.relay.RelaySchema} or the shipped scripts.
 */
@NullMarked
package dev.outboxkit.relay;

import org.jspecify.annotations.NullMarked;
