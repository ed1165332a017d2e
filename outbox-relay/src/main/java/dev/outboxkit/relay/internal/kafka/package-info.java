/**
 * The Kafka side of the relay: records, the producer, error classification. Not API.
 *
 * <p>The relays reach it through one factory, {@link
 * dev.outboxkit.relay.internal.kafka.KafkaPublishers}, which returns a {@link
 * dev.outboxkit.relay.internal.delivery.ManagedBatchSender}; {@link
 * dev.outboxkit.relay.internal.kafka.KafkaRecords} is public for the Kafka Connect transform.
 * Everything else is package-private, enforced by an ArchUnit rule.
 */
@NullMarked
package dev.outboxkit.relay.internal.kafka;

import org.jspecify.annotations.NullMarked;
