package dev.outboxkit.outbox;

import dev.outboxkit.test.TestDatabaseExtension;
import org.junit.jupiter.api.extension.RegisterExtension;

class H2OutboxIntegrationTests extends OutboxContractTests {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.h2();

  @Override
  TestDatabaseExtension db() {
    return db;
  }
}
