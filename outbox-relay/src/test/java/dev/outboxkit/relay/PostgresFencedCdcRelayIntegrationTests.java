package dev.outboxkit.relay;

import dev.outboxkit.test.TestDatabaseExtension;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The whole CDC contract with transactional fencing on: the engine's batches go out in one Kafka
 * transaction per outbox partition, and the reader is {@code read_committed}.
 */
class PostgresFencedCdcRelayIntegrationTests extends CdcRelayContractTests {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.postgres();

  @Override
  TestDatabaseExtension database() {
    return db;
  }

  @Override
  TestRelayBuilder contractOptions(TestRelayBuilder builder) {
    return builder.transactionalFencing("outboxkit-cdc-contract-" + topic);
  }
}
