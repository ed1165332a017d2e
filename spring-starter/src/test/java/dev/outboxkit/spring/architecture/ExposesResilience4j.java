package dev.outboxkit.spring.architecture;

import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;

/**
 * A fixture of {@link ModuleBoundaryRuleTests}: a public type of an API package with a setter that
 * takes Resilience4j's configuration, as {@code OutboxRelay.Builder#circuitBreaker} once did.
 */
public final class ExposesResilience4j {

  /** Breaks the rule: a caller would have to depend on Resilience4j. */
  public ExposesResilience4j circuitBreaker(CircuitBreakerConfig config) {
    return this;
  }
}
