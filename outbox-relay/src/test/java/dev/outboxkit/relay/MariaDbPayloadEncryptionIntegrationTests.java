package dev.outboxkit.relay;

import dev.outboxkit.test.TestDatabaseExtension;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Payload encryption end to end on MariaDB (the binlog). */
class MariaDbPayloadEncryptionIntegrationTests extends PayloadEncryptionContractTests {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.mariadb();

  @Override
  TestDatabaseExtension db() {
    return db;
  }
}
