package dev.outboxkit.relay.internal;

import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.TestDatabaseExtension;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The relay's statements on the outbox table on PostgreSQL (see {@link OutboxRowsContract}). */
@ServerTest
class PostgresOutboxRowsIntegrationTests extends OutboxRowsContract {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.postgres();

  @Override
  TestDatabaseExtension db() {
    return db;
  }
}
