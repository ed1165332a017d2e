package dev.outboxkit.relay.internal;

import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.TestDatabaseExtension;
import org.junit.jupiter.api.extension.RegisterExtension;

@ServerTest
class MariaDbParkedLocksIntegrationTests extends MySqlFamilyParkedLocksContract {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.mariadb();

  @Override
  TestDatabaseExtension db() {
    return db;
  }
}
