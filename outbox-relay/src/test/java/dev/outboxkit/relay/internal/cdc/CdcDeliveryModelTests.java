package dev.outboxkit.relay.internal.cdc;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxkit.relay.internal.cdc.CdcDeliveryModel.Outcome;
import dev.outboxkit.relay.internal.cdc.CdcDeliveryModel.Row;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;

/**
 * Model-based property test of the CDC relay ({@link CdcDeliveryModel}): random appends over a few
 * keys (some with payloads PostgreSQL TOASTs), batches of the change stream handled with broker
 * answers from a script, crashes before the position is stored, operator replays (re-inserts). The
 * stream carries the relay's own writes too. After a drain with a healthy broker:
 *
 * <ul>
 *   <li>nothing is lost: every event is in the topic or parked, and only events the broker refused
 *       are parked;
 *   <li>per key, first copies follow insert order (replayed and parked events aside);
 *   <li>an event is published more than once only after a crash re-read its batch, or a replay;
 *   <li>every record carries its row's payload (never a placeholder of an update's image).
 * </ul>
 *
 * <p>Tries: jqwik's default (1000), more with {@code -Djqwik.tries.default=N}.
 */
class CdcDeliveryModelTests {

  /**
   * One thing that happens: 0 append (arg: key, +10 for a large payload), 1 batch, 2 crash, 3
   * replay.
   */
  record Action(int kind, int arg) {}

  record Scenario(int batchSize, List<Action> actions, List<Outcome> script) {}

  private static Arbitrary<Scenario> scenarios(Arbitrary<Outcome> outcome) {
    Arbitrary<Action> action =
        Arbitraries.frequencyOf(
            Tuple.of(6, Arbitraries.integers().between(0, 13).map(k -> new Action(0, k))),
            Tuple.of(5, Arbitraries.just(new Action(1, 0))),
            Tuple.of(1, Arbitraries.just(new Action(2, 0))),
            Tuple.of(1, Arbitraries.just(new Action(3, 0))));
    return Combinators.combine(
            Arbitraries.integers().between(1, 6),
            action.list().ofMinSize(1).ofMaxSize(50),
            outcome.list().ofMinSize(1).ofMaxSize(20))
        .as(Scenario::new);
  }

  @Provide
  Arbitrary<Scenario> refusals() {
    return scenarios(Arbitraries.frequency(Tuple.of(8, Outcome.ACK), Tuple.of(1, Outcome.REFUSED)));
  }

  @Provide
  Arbitrary<Scenario> brokerTrouble() {
    return scenarios(
        Arbitraries.frequency(
            Tuple.of(8, Outcome.ACK),
            Tuple.of(1, Outcome.REFUSED),
            Tuple.of(1, Outcome.TIMEOUT),
            Tuple.of(1, Outcome.DENIED)));
  }

  /** Refusals that count attempts, parks, crashes and replays. */
  @Property
  void everyEventIsPublishedInOrderPerKeyOrParked(@ForAll("refusals") Scenario s) {
    run(s);
  }

  /**
   * Broker timeouts and ACL refusals as well: they count no attempt, but the relay still records
   * the retry on the {@code PENDING} row ({@code attempts = 0}), and that update is in the change
   * stream. It must not be published again. Finding 1 of issue 19.
   */
  @Property
  void cdcNeverRepublishesRelayBookkeeping(@ForAll("brokerTrouble") Scenario s) {
    run(s);
  }

  /**
   * Finding 1 of issue 19 as one case: one 20 kB event, a broker timeout, a retry recorded on its
   * row, then a healthy broker: exactly one record, its payload intact.
   */
  @Example
  void aRetryRecordedAfterABrokerTimeoutIsNotPublishedAgain() {
    try (CdcDeliveryModel model = new CdcDeliveryModel(10, List.of(Outcome.TIMEOUT))) {
      model.append(0, true);
      model.handleBatch(false);
      model.drain();
      check(model);
      assertThat(model.log).hasSize(1);
    }
  }

  /**
   * review19. {@code KeyHolds.select} took rows "in seq order per key", but {@code
   * CdcBatchHandler.publish} hands it the change log's order, which is commit order: two
   * unserialized writers of one aggregate put events 1 and 0 (seq 2 and 1) in the log in that
   * order. Both go in the first send; the broker times out on the first record (no metadata), so
   * seq 2 fails (a retry, due in 1 s) and seq 1, its key now held back by the publisher, is
   * deferred. {@code retryLater(2)} then {@code deferred(1)} leave the key held on seq 1 (deferred,
   * due at once) with seq 2 behind it. Every later round selects from {@code [seq 2 (retry), seq
   * 1]}: seq 2 is "a later event of a held key", so the key is stopped, and seq 1 is skipped
   * because its key is stopped: nothing is ever selected, the batch never settles, and the engine's
   * position is never stored (in {@code CdcBatchHandler} the loop sleeps and selects again for as
   * long as the lease is renewed: the whole CDC relay stops).
   *
   * <p>Before the fix (select now takes rows in seq order): {@code java.lang.AssertionError: a
   * batch of 2 never settled}, thrown by {@code CdcDeliveryModel.publish} from the first {@code
   * handleBatch} after 10,001 rounds.
   */
  @Example
  void aKeyWhoseEventsCommittedOutOfSeqOrderIsNotStuckAfterABrokerTimeout() {
    try (CdcDeliveryModel model = new CdcDeliveryModel(10, List.of(Outcome.TIMEOUT))) {
      model.appendTwoCommittedOutOfSeqOrder(0);
      model.handleBatch(false);
      model.drain();
      assertThat(model.log).extracting(row -> row.number).containsExactlyInAnyOrder(0, 1);
    }
  }

  private static void run(Scenario s) {
    try (CdcDeliveryModel model = new CdcDeliveryModel(s.batchSize(), s.script())) {
      for (Action a : s.actions()) {
        switch (a.kind()) {
          case 0 -> model.append(a.arg() % 10, a.arg() >= 10);
          case 1 -> model.handleBatch(false);
          case 2 -> model.handleBatch(true);
          default -> model.replayOneParked();
        }
      }
      model.drain();
      check(model);
    }
  }

  private static void check(CdcDeliveryModel model) {
    assertThat(model.wrongPayloads).as("records with another payload than their row's").isEmpty();
    assertThat(model.miscounted).as("healthy events parked").isEmpty();
    assertThat(model.sentBeforeRetryTime).as("retries sent before their retry time").isEmpty();
    Map<Integer, Integer> copies = new HashMap<>();
    model.log.forEach(r -> copies.merge(r.number, 1, Integer::sum));
    for (Row row : model.rows.values()) {
      if (!row.status.equals("DEAD")) {
        assertThat(copies).as("event %d lost", row.number).containsKey(row.number);
      }
      if (copies.getOrDefault(row.number, 0) > 1) {
        assertThat(row.mayDuplicate || row.replayed)
            .as(
                "event %d published %d times without a crash or a replay",
                row.number, copies.get(row.number))
            .isTrue();
      }
    }
    Set<Integer> seen = new HashSet<>();
    Map<String, Integer> last = new HashMap<>();
    List<String> violations = new ArrayList<>();
    for (Row row : model.log) {
      if (!seen.add(row.number) || row.replayed || row.parked) {
        continue;
      }
      int previous = last.getOrDefault(row.key, -1);
      if (row.number < previous) {
        violations.add(row.key + ": event " + row.number + " after " + previous);
      }
      last.put(row.key, Math.max(previous, row.number));
    }
    assertThat(violations).as("per-key order of first copies").isEmpty();
  }
}
