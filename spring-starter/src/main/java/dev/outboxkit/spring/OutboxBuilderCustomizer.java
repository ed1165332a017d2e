package dev.outboxkit.spring;

import dev.outboxkit.outbox.Outbox;

/**
 * Customizes the auto-configured {@link Outbox} beyond what properties express, e.g. a custom
 * {@link dev.outboxkit.outbox.spi.PayloadSerializer} per application or a {@link java.time.Clock}.
 * Every customizer bean is applied, in {@code @Order}, after the properties.
 */
@FunctionalInterface
public interface OutboxBuilderCustomizer {

  /**
   * @param builder the builder, already configured from properties
   */
  void customize(Outbox.Builder builder);
}
