package dev.outboxkit.idempotency.kafka;

import io.micrometer.observation.Observation;
import io.micrometer.observation.ObservationConvention;

/**
 * Names and tags of the inbox observation. Implement it (or extend {@link
 * DefaultOutboxInboxObservationConvention}) and pass it to {@link KafkaInbox#observed}. Key values
 * must not carry payloads or secrets.
 *
 * @since 0.1
 */
public interface OutboxInboxObservationConvention
    extends ObservationConvention<OutboxInboxContext> {

  @Override
  default boolean supportsContext(Observation.Context context) {
    return context instanceof OutboxInboxContext;
  }
}
