package dev.outboxkit.idempotency;

import dev.outboxkit.test.TestDatabaseExtension;
import org.junit.jupiter.api.extension.RegisterExtension;

class PostgresIdempotencyIntegrationTests extends IdempotencyContractTests {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.postgres();

  @Override
  TestDatabaseExtension db() {
    return db;
  }

  @Override
  int roundTripsOfAnExecutedCall() {
    return 2;
  }

  @Override
  String lockTimeoutQuery() {
    return "SHOW lock_timeout";
  }
}
