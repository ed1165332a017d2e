package dev.outboxkit.relay;

import dev.outboxkit.test.TestDatabaseExtension;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Payload encryption end to end on MySQL 8 (the binlog). */
class MySqlPayloadEncryptionIntegrationTests extends PayloadEncryptionContractTests {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.mysql();

  @Override
  TestDatabaseExtension db() {
    return db;
  }
}
