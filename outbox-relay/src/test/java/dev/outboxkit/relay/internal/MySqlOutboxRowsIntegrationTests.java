package dev.outboxkit.relay.internal;

import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.TestDatabaseExtension;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The relay's statements on the outbox table on MySQL 8 (see {@link OutboxRowsContract}). */
@ServerTest
class MySqlOutboxRowsIntegrationTests extends OutboxRowsContract {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.mysql();

  @Override
  TestDatabaseExtension db() {
    return db;
  }
}
