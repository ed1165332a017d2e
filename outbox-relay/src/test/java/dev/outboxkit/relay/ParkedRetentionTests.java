package dev.outboxkit.relay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Deque;
import java.util.List;
import java.util.UUID;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;

/** The retention purge: cutoff from the clock, bounded batches as the retention actor, metrics. */
class ParkedRetentionTests {

  static final Instant NOW = Instant.parse("2026-12-06T03:00:00Z");

  /** Answers purgeCreatedBefore with scripted counts and records the calls. */
  static final class ScriptedParked implements ParkedEvents {
    final Deque<Integer> answers = new ArrayDeque<>();
    final List<String> calls = new ArrayList<>();
    @Nullable AuditActor actor;

    @Override
    public int purgeCreatedBefore(Instant cutoff, int limit) {
      calls.add(actor + " " + cutoff + " " + limit);
      Integer next = answers.poll();
      if (next == null) {
        throw new IllegalStateException("database down");
      }
      return next;
    }

    @Override
    public ParkedEvents as(AuditActor actor) {
      this.actor = actor;
      return this;
    }

    @Override
    public List<ParkedEvent> list(int limit) {
      throw new UnsupportedOperationException();
    }

    @Override
    public long count() {
      throw new UnsupportedOperationException();
    }

    @Override
    public int replay(Collection<UUID> ids) {
      throw new UnsupportedOperationException();
    }

    @Override
    public int replayAll() {
      throw new UnsupportedOperationException();
    }

    @Override
    public int purge(Collection<UUID> ids) {
      throw new UnsupportedOperationException();
    }

    @Override
    public AuditTrail auditTrail() {
      throw new UnsupportedOperationException();
    }

    @Override
    public List<ParkedGroup> groups(ParkedFilter filter) {
      throw new UnsupportedOperationException();
    }

    @Override
    public List<ParkedEvent> list(ParkedFilter filter, int limit) {
      throw new UnsupportedOperationException();
    }

    @Override
    public BulkResult replay(
        ParkedFilter filter, int batchSize, java.util.function.Consumer<BulkResult> progress) {
      throw new UnsupportedOperationException();
    }

    @Override
    public BulkResult purge(
        ParkedFilter filter, int batchSize, java.util.function.Consumer<BulkResult> progress) {
      throw new UnsupportedOperationException();
    }
  }

  private final ScriptedParked parked = new ScriptedParked();
  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();

  private ParkedRetention retention(int batchSize) {
    return ParkedRetention.of(
        () -> parked,
        Duration.ofDays(30),
        Duration.ofHours(1),
        batchSize,
        Clock.fixed(NOW, ZoneOffset.UTC),
        registry,
        "outbox_event");
  }

  @Test
  void purgesBatchByBatchUntilOneIsShortAsTheRetentionActor() {
    parked.answers.addAll(List.of(2, 2, 1));
    assertThat(retention(2).runOnce()).isEqualTo(5);
    String call = AuditActor.RETENTION + " " + NOW.minus(Duration.ofDays(30)) + " 2";
    assertThat(parked.calls).containsExactly(call, call, call);
    assertThat(registry.get("outbox.parked.retention.purged").counter().count()).isEqualTo(5);
  }

  @Test
  void oneRunIsBounded() {
    for (int i = 0; i < ParkedRetention.MAX_BATCHES_PER_RUN + 10; i++) {
      parked.answers.add(1);
    }
    assertThat(retention(1).runOnce()).isEqualTo(ParkedRetention.MAX_BATCHES_PER_RUN);
    assertThat(parked.answers).hasSize(10);
  }

  @Test
  void aFailedBatchFailsTheRunAfterEarlierBatchesWereCounted() {
    parked.answers.add(2);
    assertThatThrownBy(() -> retention(2).runOnce()).hasMessage("database down");
    assertThat(registry.get("outbox.parked.retention.purged").counter().count()).isEqualTo(2);
  }

  @Test
  void theScheduleKeepsRunningAfterAFailureAndCountsIt() {
    ParkedRetention scheduled =
        ParkedRetention.of(
            () -> parked,
            Duration.ofDays(30),
            Duration.ofSeconds(1),
            10,
            Clock.fixed(NOW, ZoneOffset.UTC),
            registry,
            "outbox_event");
    try {
      scheduled.start();
      org.awaitility.Awaitility.await()
          .atMost(Duration.ofSeconds(60))
          .until(() -> registry.get("outbox.parked.retention.failures").counter().count() >= 2);
    } finally {
      scheduled.close();
    }
  }

  @Test
  void settingsOutOfRangeNameTheProperty() {
    assertThatIllegalArgumentException()
        .isThrownBy(
            () ->
                ParkedRetention.of(
                    () -> parked,
                    Duration.ofSeconds(5),
                    Duration.ofHours(1),
                    10,
                    Clock.systemUTC(),
                    registry,
                    "t"))
        .withMessage("outbox.relay.parked.retention must be at least PT1M but was PT5S");
    assertThatIllegalArgumentException()
        .isThrownBy(() -> retention(0))
        .withMessage("outbox.relay.parked.batch-size must be between 1 and 10000 but was 0");
  }
}
