package dev.outboxkit.outbox.observation;

import dev.outboxkit.outbox.Outbox;
import io.micrometer.observation.ObservationRegistry;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * Observes an {@link Outbox} with Micrometer's Observation API: each {@code append}/{@code
 * appendAll} call becomes one observation ({@value DefaultOutboxAppendObservationConvention#NAME}),
 * opened in scope while the events are built and inserted, and the trace context a tracing handler
 * writes is stored in each event's headers (unless the event sets the header itself). With Spring
 * Boot the starter does this when an {@link ObservationRegistry} bean exists.
 *
 * <pre>{@code
 * Outbox outbox = OutboxObservations.observe(Outbox.builder()...build(), observationRegistry);
 * }</pre>
 *
 * <p>Cost: with {@link ObservationRegistry#NOOP} (or {@code null}) the outbox is returned as it is,
 * so an application without observations pays nothing. A registry without handlers costs one
 * context object per call.
 *
 * @since 0.1
 */
public final class OutboxObservations {

  private OutboxObservations() {}

  /**
   * The outbox, observed with the default convention.
   *
   * @param outbox the outbox, not null
   * @param registry the registry, or {@code null} to observe nothing
   * @return an observed outbox, or {@code outbox} itself when the registry is null or NOOP
   */
  public static Outbox observe(Outbox outbox, @Nullable ObservationRegistry registry) {
    return observe(outbox, registry, null);
  }

  /**
   * The outbox, observed with a convention of your own.
   *
   * @param outbox the outbox, not null
   * @param registry the registry, or {@code null} to observe nothing
   * @param convention names and tags, or {@code null} for {@link
   *     DefaultOutboxAppendObservationConvention}
   * @return an observed outbox, or {@code outbox} itself when the registry is null or NOOP
   */
  public static Outbox observe(
      Outbox outbox,
      @Nullable ObservationRegistry registry,
      @Nullable OutboxAppendObservationConvention convention) {
    Objects.requireNonNull(outbox, "outbox");
    if (registry == null || registry == ObservationRegistry.NOOP) {
      return outbox;
    }
    return new ObservedOutbox(outbox, registry, convention);
  }
}
