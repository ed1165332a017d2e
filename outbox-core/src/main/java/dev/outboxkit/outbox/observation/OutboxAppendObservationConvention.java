package dev.outboxkit.outbox.observation;

import io.micrometer.observation.Observation;
import io.micrometer.observation.ObservationConvention;

/**
 * Names and tags of the append observation. Implement it (or extend {@link
 * DefaultOutboxAppendObservationConvention}) and pass it to {@link
 * OutboxObservations#observe(dev.outboxkit.outbox.Outbox,
 * io.micrometer.observation.ObservationRegistry, OutboxAppendObservationConvention)}, or declare it
 * as a bean with the Spring Boot starter, to rename the observation or change its key values. Key
 * values must not carry payloads or secrets.
 *
 * @since 0.1
 */
public interface OutboxAppendObservationConvention
    extends ObservationConvention<OutboxAppendContext> {

  @Override
  default boolean supportsContext(Observation.Context context) {
    return context instanceof OutboxAppendContext;
  }
}
