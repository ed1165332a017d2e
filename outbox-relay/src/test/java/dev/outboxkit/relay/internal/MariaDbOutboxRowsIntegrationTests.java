package dev.outboxkit.relay.internal;

import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.TestDatabaseExtension;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The relay's statements on the outbox table on MariaDB (see {@link OutboxRowsContract}). */
@ServerTest
class MariaDbOutboxRowsIntegrationTests extends OutboxRowsContract {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.mariadb();

  @Override
  TestDatabaseExtension db() {
    return db;
  }
}
