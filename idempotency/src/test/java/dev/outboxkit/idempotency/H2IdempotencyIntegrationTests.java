package dev.outboxkit.idempotency;

import dev.outboxkit.test.TestDatabaseExtension;
import org.junit.jupiter.api.extension.RegisterExtension;

class H2IdempotencyIntegrationTests extends IdempotencyContractTests
    implements PurgeNeverWaitsContract {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.h2();

  @Override
  public TestDatabaseExtension db() {
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

  @Override
  public String lockWaitsQuery() {
    return "SELECT COUNT(*) FROM INFORMATION_SCHEMA.SESSIONS WHERE BLOCKER_ID IS NOT NULL";
  }
}
