package dev.outboxkit.chaos;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The tight stall bound of {@code missing-dead-letter-topic} (other keys must publish within 2 ×
 * TTL + 2 s of the poison's commit) judges the poison, not an earlier fault: the PostgreSQL CDC run
 * of seed 1932 committed its poison 1 s after a {@code kill-connections} whose engine restart
 * (Debezium waits 10 s after a retriable error) was still under way, and the kit reported 16
 * partitions stuck after the poison (9.0 s) although the dead-letter path held nothing up.
 */
class StallTimingTests {

  private static final long BOUND = 8_000; // 2 × TTL 3 s + 2 s

  private static ChaosConfig config() {
    return TestChaosConfigs.postgres(Mode.CDC, 100);
  }

  /** One key on outbox partition 0, committed every 500 ms, published when {@code publishes}. */
  private static Ledger ledger() {
    Ledger ledger = new Ledger();
    for (int n = 0; n < 40; n++) {
      ledger.committed("key-0", n, 0, n * 500L);
    }
    return ledger;
  }

  /** A {@code kill-connections} of 30 ms from {@code start} that partition 0 must recover from. */
  private static FaultRecord killConnectionsAt(long start) {
    return new FaultRecord(
        "kill-connections",
        "10 connections",
        start,
        start + 30,
        FaultRecord.Measure.RECOVERY,
        Set.of(0),
        2);
  }

  private static FaultRecord poison(long start) {
    return new FaultRecord(
        "missing-dead-letter-topic",
        "3 poison events",
        start,
        start + 300,
        FaultRecord.Measure.STALL,
        Set.of(0),
        0,
        BOUND,
        null);
  }

  @Test
  void aStallThatBeganWhileAnEarlierFaultWasStillRecoveringIsNotBlamedOnThePoison() {
    // kill-connections at 1,000 ms; the engine publishes again only at 11,500 ms (10 s restart
    // delay); the poison is committed at 2,500 ms, while that recovery is under way.
    FaultRecord killConnections = killConnectionsAt(1_000);
    List<Delivery> deliveries =
        List.of(new Delivery("key-0", 0, 0, 0, 500), new Delivery("key-0", 1, 0, 1, 11_500));

    Timing timing =
        Timing.of(ledger(), deliveries, List.of(killConnections, poison(2_500)), config(), 20_000);

    assertThat(timing.stuck()).isEmpty();
    assertThat(timing.recoveries()).containsExactly(10_470L);
  }

  @Test
  void aStallFromAHealthyStartIsStillHeldToTheTightBound() {
    // The same 9 s without a publish, with no earlier fault: the poison held the other keys up.
    List<Delivery> deliveries =
        List.of(new Delivery("key-0", 0, 0, 0, 500), new Delivery("key-0", 1, 0, 1, 11_500));

    Timing timing = Timing.of(ledger(), deliveries, List.of(poison(2_500)), config(), 20_000);

    assertThat(timing.stuck()).singleElement().asString().contains("missing-dead-letter-topic");
    assertThat(timing.stalls()).containsExactly(9_000L);
  }

  @Test
  void anEarlierFaultThatRecoveredBeforeThePoisonLeavesTheTightBoundInForce() {
    FaultRecord killConnections = killConnectionsAt(1_000);
    List<Delivery> deliveries =
        List.of(
            new Delivery("key-0", 0, 0, 0, 500),
            new Delivery("key-0", 1, 0, 1, 1_500),
            new Delivery("key-0", 2, 0, 2, 11_500));

    Timing timing =
        Timing.of(ledger(), deliveries, List.of(killConnections, poison(2_500)), config(), 20_000);

    assertThat(timing.stuck()).singleElement().asString().contains("missing-dead-letter-topic");
  }
}
