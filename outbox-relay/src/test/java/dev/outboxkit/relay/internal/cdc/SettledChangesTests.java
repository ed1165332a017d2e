package dev.outboxkit.relay.internal.cdc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.outboxkit.outbox.OutboxEvent;
import dev.outboxkit.relay.internal.PendingEvent;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;

class SettledChangesTests {

  private static PendingEvent row(UUID id, long seq) {
    OutboxEvent event =
        new OutboxEvent(
            id,
            "Order",
            "k",
            "Created",
            "{}".getBytes(StandardCharsets.UTF_8),
            Map.of(),
            null,
            Instant.EPOCH,
            0);
    return new PendingEvent(seq, event, 0, null);
  }

  @Test
  void aRowSentAgainIsKnown() {
    SettledChanges settled = new SettledChanges();
    UUID id = UUID.randomUUID();
    settled.settled(row(id, 7));
    // The change log's second copy carries the insert image again (attempts 0): same id and seq.
    assertThat(settled.contains(row(id, 7))).isTrue();
  }

  @Test
  void aReplayOfAParkedEventIsNotTakenForARowSentAgain() {
    SettledChanges settled = new SettledChanges();
    UUID id = UUID.randomUUID();
    settled.settled(row(id, 7));
    // A replay is a fresh insert: the same id with a new seq must be published.
    assertThat(settled.contains(row(id, 8))).isFalse();
    assertThat(settled.contains(row(UUID.randomUUID(), 7))).isFalse();
  }

  @Test
  void remembersTheLatestRowsOnly() {
    SettledChanges settled = new SettledChanges(3);
    UUID[] ids = {UUID.randomUUID(), UUID.randomUUID(), UUID.randomUUID(), UUID.randomUUID()};
    for (int i = 0; i < ids.length; i++) {
      settled.settled(row(ids[i], i));
    }
    assertThat(settled.size()).isEqualTo(3);
    assertThat(settled.contains(row(ids[0], 0))).as("the oldest, forgotten").isFalse();
    assertThat(settled.contains(row(ids[3], 3))).isTrue();
    assertThatThrownBy(() -> new SettledChanges(0)).hasMessageContaining("capacity");
  }
}
