package dev.outboxkit.idempotency;

import dev.outboxkit.test.TestDatabaseExtension;
import org.junit.jupiter.api.extension.RegisterExtension;

class PostgresIdempotencyIntegrationTests extends IdempotencyContractTests
    implements PurgeNeverWaitsContract {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.postgres();

  @Override
  public TestDatabaseExtension db() {
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

  @Override
  public String lockWaitsQuery() {
    return "SELECT COUNT(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'";
  }
}
