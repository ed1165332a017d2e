package dev.outboxkit.spring;

import dev.outboxkit.relay.OutboxRelay;
import dev.outboxkit.relay.RelayStatus;
import java.time.Duration;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;

/**
 * The relay's health: DOWN when it is stopped, when it is stalled (work waited and nothing was
 * published, parked or acknowledged for {@code outbox.relay.health.stall-timeout}; {@link
 * RelayStatus#stalled()}), when the oldest pending event is older than the allowed lag, or after
 * too many batches in a row with send failures; OUT_OF_SERVICE while paused. An unknown lag (not
 * measured yet, a failed measurement, a CDC instance without a running engine) is left out of the
 * details rather than shown as zero. Reads a snapshot only, so checking health never touches the
 * database or the broker.
 */
public final class OutboxRelayHealthIndicator implements HealthIndicator {

  private final OutboxRelay relay;
  private final Duration maxLag;
  private final int maxConsecutiveFailures;

  /**
   * @param relay the relay
   * @param maxLag the lag beyond which it is DOWN
   * @param maxConsecutiveFailures the failed batches in a row beyond which it is DOWN
   */
  public OutboxRelayHealthIndicator(
      OutboxRelay relay, Duration maxLag, int maxConsecutiveFailures) {
    this.relay = relay;
    this.maxLag = maxLag;
    this.maxConsecutiveFailures = maxConsecutiveFailures;
  }

  @Override
  public Health health() {
    RelayStatus status = relay.status();
    Health.Builder health;
    if (status.state() == RelayStatus.State.PAUSED) {
      health = Health.outOfService();
    } else if (status.state() != RelayStatus.State.RUNNING) {
      health = Health.down().withDetail("reason", "relay is " + status.state());
    } else if (status.stalled() != null) {
      health = Health.down().withDetail("reason", status.stalled());
    } else if (status.lag() != null && status.lag().compareTo(maxLag) > 0) {
      health = Health.down().withDetail("reason", "lag above " + maxLag);
    } else if (status.consecutiveFailures() >= maxConsecutiveFailures) {
      health =
          Health.down()
              .withDetail("reason", status.consecutiveFailures() + " failed batches in a row");
    } else {
      health = Health.up();
    }
    health
        .withDetail("instanceId", status.instanceId())
        .withDetail("state", status.state().name())
        .withDetail("ownedPartitions", status.ownedPartitions().size())
        .withDetail("backlog", status.backlog())
        .withDetail("consecutiveFailures", status.consecutiveFailures())
        .withDetail("circuitBreaker", status.circuitState());
    if (status.lag() != null) {
      health.withDetail("lagSeconds", status.lag().toMillis() / 1000.0);
    }
    if (status.lastError() != null) {
      health.withDetail("lastError", status.lastError());
    }
    return health.build();
  }
}
