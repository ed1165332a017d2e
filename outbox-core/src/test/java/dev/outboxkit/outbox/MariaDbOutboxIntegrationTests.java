package dev.outboxkit.outbox;

import dev.outboxkit.test.TestDatabaseExtension;
import org.junit.jupiter.api.extension.RegisterExtension;

class MariaDbOutboxIntegrationTests extends OutboxContractTests {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.mariadb();

  @Override
  TestDatabaseExtension db() {
    return db;
  }
}
