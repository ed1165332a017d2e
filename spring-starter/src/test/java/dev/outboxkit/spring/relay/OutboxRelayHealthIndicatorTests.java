package dev.outboxkit.spring.relay;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxkit.relay.OutboxRelay;
import dev.outboxkit.relay.ParkedEvents;
import dev.outboxkit.relay.RelayStatus;
import dev.outboxkit.spring.OutboxRelayHealthIndicator;
import java.time.Duration;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.Status;

class OutboxRelayHealthIndicatorTests {

  private static Health health(RelayStatus.State state, Duration lag, int failures) {
    return health(
        new RelayStatus(
            "r-1",
            state,
            Set.of(1, 2),
            7,
            lag,
            failures,
            "CLOSED",
            failures > 0 ? "boom" : null,
            null));
  }

  private static Health health(RelayStatus status) {
    OutboxRelay relay =
        new OutboxRelay() {
          @Override
          public void start() {}

          @Override
          public void wakeUp() {}

          @Override
          public void pause() {}

          @Override
          public void resume() {}

          @Override
          public RelayStatus status() {
            return status;
          }

          @Override
          public ParkedEvents parkedEvents() {
            throw new UnsupportedOperationException();
          }

          @Override
          public void close() {}
        };
    return new OutboxRelayHealthIndicator(relay, Duration.ofMinutes(1), 3).health();
  }

  @Test
  void upWhileRunningWithinThresholds() {
    Health health = health(RelayStatus.State.RUNNING, Duration.ofSeconds(5), 2);
    assertThat(health.getStatus()).isEqualTo(Status.UP);
    assertThat(health.getDetails())
        .containsEntry("ownedPartitions", 2)
        .containsEntry("backlog", 7L)
        .containsEntry("lagSeconds", 5.0)
        .containsEntry("lastError", "boom");
  }

  @Test
  void downWhenLagOrConsecutiveFailuresPassTheirThresholdsOrWhenStopped() {
    assertThat(health(RelayStatus.State.RUNNING, Duration.ofMinutes(2), 0).getStatus())
        .isEqualTo(Status.DOWN);
    assertThat(health(RelayStatus.State.RUNNING, Duration.ZERO, 3).getStatus())
        .isEqualTo(Status.DOWN);
    assertThat(health(RelayStatus.State.STOPPED, Duration.ZERO, 0).getStatus())
        .isEqualTo(Status.DOWN);
    assertThat(health(RelayStatus.State.PAUSED, Duration.ZERO, 0).getStatus())
        .isEqualTo(Status.OUT_OF_SERVICE);
  }

  @Test
  void downWhenStalledNamingWhatWaits() {
    Health health =
        health(
            new RelayStatus(
                "r-1",
                RelayStatus.State.RUNNING,
                Set.of(1),
                3,
                Duration.ofSeconds(2),
                0,
                "CLOSED",
                null,
                null,
                "no progress for 300 s (stall timeout 300 s) while 3 events wait in the outbox"));
    assertThat(health.getStatus()).isEqualTo(Status.DOWN);
    assertThat(health.getDetails())
        .containsEntry(
            "reason",
            "no progress for 300 s (stall timeout 300 s) while 3 events wait in the outbox");
  }

  @Test
  void anUnknownLagIsLeftOutOfTheDetailsNotShownAsZero() {
    Health health =
        health(
            new RelayStatus(
                "r-1", RelayStatus.State.RUNNING, Set.of(), -1, null, 0, "CLOSED", null, null));
    assertThat(health.getStatus()).isEqualTo(Status.UP);
    assertThat(health.getDetails()).doesNotContainKey("lagSeconds").containsEntry("backlog", -1L);
  }
}
