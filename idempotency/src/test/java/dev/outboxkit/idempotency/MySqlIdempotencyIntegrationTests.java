package dev.outboxkit.idempotency;

import dev.outboxkit.test.TestDatabaseExtension;
import org.junit.jupiter.api.extension.RegisterExtension;

class MySqlIdempotencyIntegrationTests extends IdempotencyContractTests {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.mysql();

  @Override
  TestDatabaseExtension db() {
    return db;
  }
}
