package dev.outboxkit.spring;

import dev.outboxkit.relay.OutboxRelay;

/**
 * Adjusts the relay the starter builds, for what {@code outbox.relay.*} properties cannot express:
 * a custom {@link dev.outboxkit.relay.spi.TopicRouter}, a circuit breaker configuration, producer
 * settings computed at run time. Customizers run in {@link org.springframework.core.Ordered} order,
 * after the properties are applied. A value option is changed on the bound configuration, e.g.
 *
 * <pre>{@code
 * builder -> builder.config(
 *     RelayConfig.from(builder.currentConfig()).circuitBreaker(myBreaker).build())
 * }</pre>
 */
@FunctionalInterface
public interface OutboxRelayBuilderCustomizer {

  /**
   * @param builder the builder, with the properties already applied
   */
  void customize(OutboxRelay.Builder builder);
}
