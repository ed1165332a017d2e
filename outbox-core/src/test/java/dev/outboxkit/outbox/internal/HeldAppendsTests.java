package dev.outboxkit.outbox.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.outboxkit.outbox.OutboxEvent;
import dev.outboxkit.outbox.OutboxException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;

/** The rules of events held for a commit: order, bounds, savepoints, a failed insert. */
class HeldAppendsTests {

  private final List<List<String>> inserts = new ArrayList<>();
  private @Nullable RuntimeException refusal;

  private HeldAppends held(int maxRows, long maxBytes) {
    return new HeldAppends(
        events -> {
          RuntimeException refused = refusal;
          if (refused != null) {
            throw refused;
          }
          inserts.add(events.stream().map(OutboxEvent::eventType).toList());
        },
        maxRows,
        maxBytes);
  }

  private static List<OutboxEvent> events(String... types) {
    List<OutboxEvent> events = new ArrayList<>();
    for (String type : types) {
      events.add(
          new OutboxEvent(
              UUID.randomUUID(),
              "Order",
              "o-1",
              type,
              new byte[10],
              Map.of(),
              null,
              Instant.EPOCH,
              0));
    }
    return events;
  }

  @Test
  void insertsEverythingHeldInOneInsertInAppendOrderBeforeCommit() {
    HeldAppends held = held(100, 1_000_000);
    held.hold(events("a"));
    held.hold(events("b"));
    held.hold(events("c"));
    assertThat(inserts).isEmpty();

    held.beforeCommit();

    assertThat(inserts).containsExactly(List.of("a", "b", "c"));
    assertThat(held.closed()).isTrue();
  }

  @Test
  void insertsAsSoonAsTheHeldEventsFillOneInsertByRowsOrBytes() {
    HeldAppends byRows = held(2, 1_000_000);
    byRows.hold(events("a"));
    byRows.hold(events("b"));
    byRows.hold(events("c"));
    byRows.beforeCommit();
    assertThat(inserts).containsExactly(List.of("a", "b"), List.of("c"));

    inserts.clear();
    HeldAppends byBytes = held(100, 25); // 10 payload bytes per event
    byBytes.hold(events("a"));
    byBytes.hold(events("b"));
    byBytes.hold(events("c"));
    assertThat(inserts).containsExactly(List.of("a", "b", "c"));
    assertThat(byBytes.size()).isZero();
  }

  @Test
  void aRollbackToASavepointRestoresWhatWasHeldWhenItWasSet() {
    HeldAppends held = held(100, 1_000_000);
    Object outer = new Object();
    Object inner = new Object();
    held.hold(events("before"));
    held.savepointSet(outer);
    held.hold(events("inside-outer"));
    held.savepointSet(inner);
    held.hold(events("inside-inner"));

    held.rolledBackToSavepoint(inner);
    assertThat(held.size()).isEqualTo(2);
    held.rolledBackToSavepoint(outer);
    held.hold(events("after"));
    held.beforeCommit();

    assertThat(inserts).containsExactly(List.of("before", "after"));
  }

  @Test
  void aRollbackToASavepointAfterAnInsertHoldsAgainWhatTheDatabaseUndid() {
    // "before" was held when the savepoint was set, then inserted after it (the batch filled):
    // the rollback undoes that insert in the database, so it must be held again.
    HeldAppends held = held(2, 1_000_000);
    Object savepoint = new Object();
    held.hold(events("before"));
    held.savepointSet(savepoint);
    held.hold(events("inside"));
    assertThat(inserts).containsExactly(List.of("before", "inside"));

    held.rolledBackToSavepoint(savepoint);
    held.beforeCommit();

    assertThat(inserts).containsExactly(List.of("before", "inside"), List.of("before"));
  }

  @Test
  void aSavepointSetBeforeTheStateExistedDropsEverythingHeld() {
    HeldAppends held = held(100, 1_000_000);
    held.hold(events("a"));
    held.rolledBackToSavepoint(new Object());
    held.beforeCommit();
    assertThat(inserts).isEmpty();
  }

  @Test
  void aFailedInsertMakesTheCommitFailEvenWhenTheCallerCaughtIt() {
    HeldAppends held = held(1, 1_000_000);
    refusal = new IllegalStateException("duplicate key");
    assertThatThrownBy(() -> held.hold(events("a"))).hasMessage("duplicate key");
    refusal = null;

    assertThatThrownBy(held::beforeCommit)
        .isInstanceOf(OutboxException.class)
        .hasMessageContaining("must roll back")
        .hasRootCauseMessage("duplicate key");
    assertThat(inserts).isEmpty();
  }

  @Test
  void aRollbackToASavepointSetBeforeAFailedInsertClearsTheFailure() {
    HeldAppends held = held(100, 1_000_000);
    Object savepoint = new Object();
    held.hold(events("before"));
    held.savepointSet(savepoint);
    held.hold(events("inside"));
    refusal = new IllegalStateException("refused");
    assertThatThrownBy(held::flush).hasMessage("refused");
    refusal = null;

    held.rolledBackToSavepoint(savepoint);
    held.beforeCommit();

    assertThat(inserts).containsExactly(List.of("before"));
  }
}
