package dev.outboxkit.outbox;

import dev.outboxkit.test.TestDatabaseExtension;
import org.junit.jupiter.api.extension.RegisterExtension;

/** MySQL 8 through Testcontainers; skipped with a message when no Docker engine exists. */
class MySqlOutboxIntegrationTests extends OutboxContractTests {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.mysql();

  @Override
  TestDatabaseExtension db() {
    return db;
  }
}
