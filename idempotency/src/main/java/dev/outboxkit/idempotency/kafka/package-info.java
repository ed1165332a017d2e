/** The consumer inbox for Kafka records: message ids from the {@code outbox-event-id} header. */
@NullMarked
package dev.outboxkit.idempotency.kafka;

import org.jspecify.annotations.NullMarked;
