package dev.outboxkit.relay.internal.delivery;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxkit.outbox.OutboxEvent;
import dev.outboxkit.relay.internal.PendingEvent;
import dev.outboxkit.relay.internal.RelayMetrics;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.github.resilience4j.core.IntervalFunction;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/**
 * Issue 19, reviewer suspicion 3(a): a batch of which nothing was handed over (every event came
 * back {@link PublishResult.Deferred}, e.g. the leases ran out before the first event) proves
 * nothing about the broker. It must not count as a success of the circuit breaker: a half-open
 * breaker's trial would close it while the broker may still be down.
 */
class DeferredBatchBreakerTests {

  private static final Instant NOW = Instant.parse("2026-12-06T03:00:00Z");

  private static PendingEvent row(long seq, String key) {
    return new PendingEvent(
        seq,
        new OutboxEvent(UUID.randomUUID(), "T", key, "E", null, Map.of(), null, NOW, 0),
        0,
        null);
  }

  private static CircuitBreaker halfOpenBreaker() {
    CircuitBreaker breaker =
        CircuitBreaker.of(
            "deferred",
            CircuitBreakerConfig.custom()
                .permittedNumberOfCallsInHalfOpenState(1)
                .minimumNumberOfCalls(1)
                .build());
    breaker.transitionToOpenState();
    breaker.transitionToHalfOpenState();
    return breaker;
  }

  private static DeliveryCore core(CircuitBreaker breaker) {
    return new DeliveryCore(
        new DeliveryCore.Policy(
            4, IntervalFunction.of(Duration.ofSeconds(1)), null, Clock.fixed(NOW, ZoneOffset.UTC)),
        new KeyHolds(),
        breaker,
        new RelayMetrics(new SimpleMeterRegistry(), "outbox_event"),
        new InMemoryBatchSenderForBreaker());
  }

  @Test
  void aFullyDeferredTrialBatchLeavesTheBreakerHalfOpenAndItsPermissionFree() {
    CircuitBreaker breaker = halfOpenBreaker();
    DeliveryCore core = core(breaker);
    assertThat(core.tryAcquire()).isTrue();

    DeliveryOutcome outcome =
        core.decide(
            List.of(
                new PublishResult.Deferred(row(1, "a")), new PublishResult.Deferred(row(2, "b"))),
            1_000_000);

    assertThat(outcome.deferred()).hasSize(2);
    assertThat(breaker.getState())
        .as("nothing reached the broker, so nothing proves it is back")
        .isEqualTo(CircuitBreaker.State.HALF_OPEN);
    assertThat(breaker.getMetrics().getNumberOfSuccessfulCalls()).isZero();
    assertThat(core.tryAcquire()).as("the trial permission was given back").isTrue();
  }

  @Test
  void aTrialBatchWithAnAcknowledgementClosesTheBreaker() {
    CircuitBreaker breaker = halfOpenBreaker();
    DeliveryCore core = core(breaker);
    assertThat(core.tryAcquire()).isTrue();

    core.decide(
        List.of(new PublishResult.Acked(row(1, "a"), NOW), new PublishResult.Deferred(row(2, "a"))),
        1_000_000);

    assertThat(breaker.getState()).isEqualTo(CircuitBreaker.State.CLOSED);
  }

  /**
   * Review finding: a batch of which nothing was handed over reset {@code consecutiveFailures} to
   * 0, so a relay failing every batch, with fully deferred batches between (the send window closed
   * before the first event), showed a failure streak of 0 or 1 in its status and health instead of
   * a growing one. Nothing reached the broker: the streak must stay as it was.
   */
  @Test
  void aFullyDeferredBatchLeavesTheFailureStreakAsItWas() {
    DeliveryCore core = core(CircuitBreaker.ofDefaults("streak"));
    core.decide(
        List.of(
            new PublishResult.Failed(row(1, "a"), "broker down", PublishResult.FailureKind.EVENT)),
        1_000_000);
    core.decide(
        List.of(
            new PublishResult.Failed(row(2, "b"), "broker down", PublishResult.FailureKind.EVENT)),
        1_000_000);
    assertThat(core.consecutiveFailures()).isEqualTo(2);

    core.decide(List.of(new PublishResult.Deferred(row(3, "c"))), 1_000_000);

    assertThat(core.consecutiveFailures())
        .as("failure streak after a batch of which nothing was handed over")
        .isEqualTo(2);
    core.decide(List.of(new PublishResult.Acked(row(4, "d"), NOW)), 1_000_000);
    assertThat(core.consecutiveFailures()).as("an acknowledgement ends the streak").isZero();
  }

  /** Sends nothing: the decisions under test never send (no dead-letter topic is set). */
  private static final class InMemoryBatchSenderForBreaker implements BatchSender {
    @Override
    public InFlight send(List<PendingEvent> batch) {
      throw new IllegalStateException("not used by the decisions");
    }

    @Override
    public boolean sendDeadLetter(PendingEvent event, String topic, String error) {
      throw new IllegalStateException("not used by the decisions");
    }
  }
}
