package dev.outboxkit.relay.observation;

import io.micrometer.observation.Observation;
import io.micrometer.observation.ObservationConvention;

/**
 * Names and tags of the publish observation. Implement it (or extend {@link
 * DefaultOutboxPublishObservationConvention}) and give it to {@code
 * OutboxRelay.Builder#publishObservationConvention}, or declare it as a bean with the Spring Boot
 * starter. Key values must not carry payloads or secrets.
 *
 * @since 0.1
 */
public interface OutboxPublishObservationConvention
    extends ObservationConvention<OutboxPublishContext> {

  @Override
  default boolean supportsContext(Observation.Context context) {
    return context instanceof OutboxPublishContext;
  }
}
