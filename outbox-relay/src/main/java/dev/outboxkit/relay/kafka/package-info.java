/** The Kafka side of the relay: records, the producer, error classification. Not API. */
@NullMarked
package dev.outboxkit.relay.kafka;

import org.jspecify.annotations.NullMarked;
