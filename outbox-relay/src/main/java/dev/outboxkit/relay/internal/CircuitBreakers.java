package dev.outboxkit.relay.internal;

import dev.outboxkit.relay.RelayConfig;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;

/**
 * Turns the public {@link RelayConfig.CircuitBreaker} into Resilience4j's configuration, so that
 * Resilience4j stays an implementation detail of the relay: a count-based window of batches.
 */
public final class CircuitBreakers {

  private CircuitBreakers() {}

  /** Resilience4j's configuration for these settings. */
  public static CircuitBreakerConfig toResilience4j(RelayConfig.CircuitBreaker breaker) {
    return CircuitBreakerConfig.custom()
        .slidingWindowType(CircuitBreakerConfig.SlidingWindowType.COUNT_BASED)
        .slidingWindowSize(breaker.slidingWindowSize())
        .minimumNumberOfCalls(breaker.minimumNumberOfCalls())
        .failureRateThreshold(breaker.failureRatePercent())
        .waitDurationInOpenState(breaker.waitInOpenState())
        .permittedNumberOfCallsInHalfOpenState(breaker.permittedCallsInHalfOpenState())
        .build();
  }
}
