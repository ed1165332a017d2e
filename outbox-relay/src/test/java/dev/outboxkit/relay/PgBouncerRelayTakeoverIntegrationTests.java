package dev.outboxkit.relay;

import dev.outboxkit.test.PgBouncerServer;
import dev.outboxkit.test.TestDatabaseExtension;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Fast takeover behind PgBouncer in transaction mode: the relays read, mark and renew their leases
 * through the pooler, and hold their session locks on direct connections ({@link
 * OutboxRelay.Builder#sessionDataSource}), so a SIGKILL is noticed within seconds as without a
 * pooler. Skips, naming the package, where PgBouncer is not installed.
 */
class PgBouncerRelayTakeoverIntegrationTests extends RelayTakeoverContractTests {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.postgres();

  @Override
  TestDatabaseExtension database() {
    return db;
  }

  @Override
  String relayUrl() {
    return PgBouncerServer.get().jdbcUrl(db.database());
  }

  @Override
  String sessionUrl() {
    return db.database().jdbcUrl();
  }
}
