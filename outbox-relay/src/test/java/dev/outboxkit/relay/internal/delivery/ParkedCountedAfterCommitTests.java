package dev.outboxkit.relay.internal.delivery;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxkit.outbox.OutboxEvent;
import dev.outboxkit.relay.internal.PendingEvent;
import dev.outboxkit.relay.internal.RelayMetrics;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
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
 * A parked event is counted ({@code outbox.events.dead}, and the signal that makes the parked
 * gauges count again at once) only when the store has committed it. Counted when the core decided,
 * the housekeeping thread could count the parked rows between the decision and the commit, see
 * none, and not count again for a minute: the parked gauge read 0 with an event parked (a
 * clean-clone CI run of {@code RealScrapeIntegrationTests} timed out on exactly that).
 */
class ParkedCountedAfterCommitTests {

  private static final Instant NOW = Instant.parse("2026-12-06T06:00:00Z");

  @Test
  void decidingToParkCountsNothingUntilTheStoreHasRecordedIt() {
    RelayMetrics metrics = new RelayMetrics(new SimpleMeterRegistry(), "outbox_event");
    DeliveryCore core =
        new DeliveryCore(
            new DeliveryCore.Policy(
                4,
                IntervalFunction.of(Duration.ofSeconds(1)),
                null,
                Clock.fixed(NOW, ZoneOffset.UTC)),
            new KeyHolds(),
            CircuitBreaker.ofDefaults("parked-count"),
            metrics,
            new UnusedSender());
    PendingEvent poison =
        new PendingEvent(
            1,
            new OutboxEvent(UUID.randomUUID(), "T", "k", "E", null, Map.of(), null, NOW, 0),
            0,
            null);
    assertThat(core.tryAcquire()).isTrue();

    DeliveryOutcome outcome =
        core.decide(
            List.of(
                new PublishResult.Failed(poison, "too large", PublishResult.FailureKind.PERMANENT)),
            1_000_000);

    assertThat(outcome.parked()).hasSize(1);
    assertThat(metrics.parkedHere())
        .as("the row is not DEAD in the table until the store commits the outcome")
        .isZero();
  }

  /** Sends nothing: no dead-letter topic is set, so the decision never sends. */
  private static final class UnusedSender implements BatchSender {
    @Override
    public InFlight send(List<PendingEvent> batch) {
      throw new IllegalStateException("not used by the decision");
    }

    @Override
    public boolean sendDeadLetter(PendingEvent event, String topic, String error) {
      throw new IllegalStateException("not used by the decision");
    }
  }
}
