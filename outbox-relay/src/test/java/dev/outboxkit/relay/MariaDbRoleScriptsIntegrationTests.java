package dev.outboxkit.relay;

import dev.outboxkit.test.TestDatabaseExtension;
import org.junit.jupiter.api.extension.RegisterExtension;

class MariaDbRoleScriptsIntegrationTests extends MySqlFamilyRoleScriptsContractTests {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.mariadb();

  @Override
  TestDatabaseExtension database() {
    return db;
  }

  /** MariaDB has one default role per user, set with FOR. */
  @Override
  String setDefaultRole(String role, String user) {
    return "SET DEFAULT ROLE " + role + " FOR " + user;
  }
}
