package dev.outboxkit.idempotency;

import dev.outboxkit.test.TestDatabaseExtension;
import org.junit.jupiter.api.extension.RegisterExtension;

class H2IdempotencyIntegrationTests extends IdempotencyContractTests {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.h2();

  @Override
  TestDatabaseExtension db() {
    return db;
  }

  @Override
  int roundTripsOfAnExecutedCall() {
    return 7;
  }

  @Override
  String lockTimeoutQuery() {
    return "SELECT LOCK_TIMEOUT()";
  }
}
