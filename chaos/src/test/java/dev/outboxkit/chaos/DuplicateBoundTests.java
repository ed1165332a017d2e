package dev.outboxkit.chaos;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxkit.relay.RelayDefaults;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The duplicate bound counts in the largest batch a relay really reads: with the relay's default
 * batch size the polling relay's batch grows under a backlog (docs/chaos.md said "2 × batch size",
 * which a run with {@code --batch-size 500} could exceed without any defect).
 */
class DuplicateBoundTests {

  private static ChaosConfig config(Mode mode, int batchSize) {
    return TestChaosConfigs.postgres(mode, batchSize);
  }

  private static long bound(ChaosConfig config, long duplicates) {
    Ledger ledger = new Ledger();
    ledger.committed("key-0", 0, 0, 1_000);
    List<Delivery> deliveries = new ArrayList<>();
    for (int copy = 0; copy <= duplicates; copy++) {
      deliveries.add(new Delivery("key-0", 0, 0, copy, 1_100));
    }
    // One kill of a relay holding partitions: one relay hit.
    List<FaultRecord> faults =
        List.of(
            new FaultRecord(
                "kill-relay", "relay-0-0", 1_050, 1_050, FaultRecord.Measure.NONE, Set.of(), 1));
    LedgerCheck.Result result =
        LedgerCheck.check(ledger, deliveries, faults, config, 2_000, List.of(), Set.of());
    assertThat(result.duplicates()).isEqualTo(duplicates);
    return result.duplicateBound();
  }

  @Test
  void withTheRelaysDefaultBatchSizePollingCountsTheAdaptiveMaximum() {
    ChaosConfig config = config(Mode.POLLING, RelayDefaults.BATCH_SIZE);

    assertThat(config.relayMaxBatchSize())
        .isEqualTo(RelayDefaults.maxBatchSize(RelayDefaults.BATCH_SIZE))
        .isEqualTo(RelayDefaults.ADAPTIVE_MAX_BATCH_SIZE);
    // A batch in flight and one read ahead, each as large as the batch grows.
    assertThat(bound(config, 3_000))
        .isEqualTo(2L * config.relayMaxPublishThreads() * RelayDefaults.ADAPTIVE_MAX_BATCH_SIZE);
  }

  @Test
  void anyOtherBatchSizeIsFixedAndSoIsItsBound() {
    ChaosConfig config = config(Mode.POLLING, 100);
    assertThat(bound(config, 0)).isEqualTo(200L * config.relayMaxPublishThreads());
  }

  @Test
  void cdcBatchesAreTheEnginesBatchSize() {
    ChaosConfig config = config(Mode.CDC, RelayDefaults.BATCH_SIZE);

    assertThat(config.relayMaxBatchSize()).isEqualTo(RelayDefaults.BATCH_SIZE);
    assertThat(config.relayMaxPublishThreads()).isEqualTo(1);
    assertThat(bound(config, 0)).isEqualTo(2L * RelayDefaults.BATCH_SIZE);
  }
}
