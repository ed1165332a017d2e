package dev.outboxkit.relay.polling;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxkit.outbox.OutboxEvent;
import dev.outboxkit.relay.internal.PendingEvent;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import org.junit.jupiter.api.Test;

class RetryGateTests {

  private static final Instant NOW = Instant.parse("2026-11-23T10:00:00Z");

  private static PendingEvent row(long seq, String key, int attempts, Instant next) {
    return new PendingEvent(
        seq,
        new OutboxEvent(UUID.randomUUID(), "T", key, "E", null, Map.of(), null, NOW, 0),
        attempts,
        next);
  }

  @Test
  void aKeyWaitingForItsRetryHoldsBackItsLaterEventsOnly() {
    RetryGate gate = new RetryGate();
    PendingEvent failed = row(1, "a", 1, NOW.plusSeconds(5));
    List<PendingEvent> selected =
        gate.select(List.of(failed, row(2, "a", 0, null), row(3, "b", 0, null)), NOW);
    assertThat(selected).extracting(PendingEvent::seq).containsExactly(3L);
    assertThat(gate.excluded(Set.of(0), NOW)).containsEntry(0, List.of("a"));
  }

  @Test
  void aDueRetryIsSentAloneAndReleasesItsKeyOnceAcknowledged() {
    RetryGate gate = new RetryGate();
    gate.retryLater(row(1, "a", 1, null), NOW.minusSeconds(1));
    PendingEvent retry = row(1, "a", 1, NOW.minusSeconds(1));
    List<PendingEvent> selected = gate.select(List.of(retry, row(2, "a", 0, null)), NOW);
    assertThat(selected).extracting(PendingEvent::seq).containsExactly(1L);
    gate.clear(retry);
    assertThat(gate.select(List.of(row(2, "a", 0, null)), NOW)).hasSize(1);
    assertThat(gate.excluded(Set.of(0), NOW)).isEmpty();
  }

  @Test
  void stateLoadedAtLeaseClaimIsDroppedWithTheLease() {
    RetryGate gate = new RetryGate();
    gate.load(0, Map.of("a", NOW.plusSeconds(60)));
    assertThat(gate.excluded(Set.of(0), NOW)).containsEntry(0, List.of("a"));
    gate.drop(0);
    assertThat(gate.excluded(Set.of(0), NOW)).isEmpty();
  }
}
