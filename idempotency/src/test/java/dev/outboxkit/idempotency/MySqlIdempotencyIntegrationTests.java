package dev.outboxkit.idempotency;

import dev.outboxkit.test.TestDatabaseExtension;
import org.junit.jupiter.api.extension.RegisterExtension;

class MySqlIdempotencyIntegrationTests extends MySqlFamilyIdempotencyContractTests {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.mysql();

  @Override
  public TestDatabaseExtension db() {
    return db;
  }

  @Override
  int roundTripsOfAnExecutedCall() {
    return 5;
  }
}
