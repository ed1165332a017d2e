package dev.outboxkit.outbox;

import dev.outboxkit.test.TestDatabaseExtension;
import org.junit.jupiter.api.extension.RegisterExtension;

class PostgresOutboxIntegrationTests extends OutboxContractTests {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.postgres();

  @Override
  TestDatabaseExtension db() {
    return db;
  }
}
