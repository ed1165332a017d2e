package dev.outboxkit.relay.internal.polling;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.outboxkit.outbox.OutboxEvent;
import dev.outboxkit.relay.internal.OutboxRows;
import dev.outboxkit.relay.internal.PauseSwitch;
import dev.outboxkit.relay.internal.PendingEvent;
import dev.outboxkit.relay.internal.RelayMetrics;
import dev.outboxkit.relay.internal.delivery.BatchSender;
import dev.outboxkit.relay.internal.delivery.DeliveryCore;
import dev.outboxkit.relay.internal.delivery.DeliveryOutcome;
import dev.outboxkit.relay.internal.delivery.KeyHolds;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.github.resilience4j.core.IntervalFunction;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * Issue 19, reviewer suspicion 3(b): when choosing the events to send fails (any runtime error in
 * {@code core.select} or the key holds' bookkeeping after the read), the batch's partitions must
 * still be ended and the breaker's permission given back. A partition left marked in flight can
 * never be drained, so the rebalancer could never hand it to another instance; a lost permission
 * leaves a half-open breaker without trials for good.
 */
class PublishLoopSelectFailureTests {

  private static final Instant NOW = Instant.parse("2026-12-06T03:00:00Z");

  @Test
  void aFailingSelectionEndsTheBatchAndGivesThePermissionBack() {
    CircuitBreaker breaker =
        CircuitBreaker.of(
            "select",
            CircuitBreakerConfig.custom().permittedNumberOfCallsInHalfOpenState(1).build());
    breaker.transitionToOpenState();
    breaker.transitionToHalfOpenState();
    CountingLeases leases = new CountingLeases();
    PublishLoop loop =
        new PublishLoop(
            new OneRowStore(),
            leases,
            new DeliveryCore(
                new DeliveryCore.Policy(
                    4, IntervalFunction.of(Duration.ofSeconds(1)), null, new FailingClock(2)),
                new KeyHolds(),
                breaker,
                new RelayMetrics(new SimpleMeterRegistry(), "outbox_event"),
                new NeverSends()),
            new NeverSends(),
            new WakeUpSignal(),
            () -> true,
            new PauseSwitch(),
            new PublishLoop.Pacing(10, Duration.ofMillis(10), Duration.ofMillis(100)),
            0,
            1);

    assertThatThrownBy(loop::step).hasMessageContaining("injected");

    assertThat(leases.inFlight).as("partitions still marked in flight").isEmpty();
    assertThat(breaker.tryAcquirePermission())
        .as("the half-open breaker's one trial permission was given back")
        .isTrue();
  }

  /** A clock that fails on its {@code failing}-th reading (the selection's, after the read's). */
  private static final class FailingClock extends Clock {
    private final AtomicInteger readings = new AtomicInteger();
    private final int failing;

    FailingClock(int failing) {
      this.failing = failing;
    }

    @Override
    public Instant instant() {
      if (readings.incrementAndGet() == failing) {
        throw new IllegalStateException("injected: the selection fails");
      }
      return NOW;
    }

    @Override
    public ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
      return this;
    }
  }

  private static final class CountingLeases implements PartitionLeases {
    final Map<Integer, Integer> inFlight = new HashMap<>();

    @Override
    public Set<Integer> beginBatch(int slot, int slots) {
      inFlight.merge(0, 1, Integer::sum);
      return Set.of(0);
    }

    @Override
    public boolean stillOwns(Set<Integer> partitions) {
      return true;
    }

    @Override
    public void endBatch(Set<Integer> partitions) {
      partitions.forEach(p -> inFlight.computeIfPresent(p, (k, n) -> n == 1 ? null : n - 1));
    }
  }

  private static final class OneRowStore implements PollingStore {
    @Override
    public OutboxRows.Fetched fetch(
        Set<Integer> partitions,
        int perPartition,
        Map<Integer, List<String>> excluded,
        List<PendingEvent> inFlight,
        Map<Integer, Long> after,
        long maxBytes) {
      PendingEvent row =
          new PendingEvent(
              1,
              new OutboxEvent(UUID.randomUUID(), "T", "k", "E", null, Map.of(), null, NOW, 0),
              0,
              null);
      return new OutboxRows.Fetched(List.of(row), Set.of());
    }

    @Override
    public void record(DeliveryOutcome outcome) {}

    @Override
    public Set<Long> pending(java.util.Collection<Long> seqs) {
      return Set.copyOf(seqs);
    }
  }

  private static final class NeverSends implements BatchSender {
    @Override
    public InFlight send(List<PendingEvent> batch) {
      throw new IllegalStateException("the selection failed before any send");
    }

    @Override
    public boolean sendDeadLetter(PendingEvent event, String topic, String error) {
      throw new IllegalStateException("no dead-letter topic");
    }
  }
}
