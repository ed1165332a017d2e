package dev.outboxkit.relay;

import dev.outboxkit.test.TestDatabaseExtension;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The whole polling contract with transactional fencing on: every batch goes out in one Kafka
 * transaction per outbox partition, and the reader is {@code read_committed}, so each assertion
 * also says that the transactions were committed (or, for parked and retried events, not).
 */
class PostgresFencedPollingRelayIntegrationTests extends PollingRelayContractTests {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.postgres();

  @Override
  TestDatabaseExtension database() {
    return db;
  }

  @Override
  TestRelayBuilder contractOptions(TestRelayBuilder builder) {
    return builder.transactionalFencing("outboxkit-contract-" + topic);
  }

  /** Fenced relays keep a fixed thread count: transactional ids must not move between producers. */
  @Override
  boolean adaptsPublishThreads() {
    return false;
  }

  @Override
  boolean sendsBatchesInTransactions() {
    return true;
  }
}
