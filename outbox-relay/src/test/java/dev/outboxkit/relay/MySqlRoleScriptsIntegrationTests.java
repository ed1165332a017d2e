package dev.outboxkit.relay;

import dev.outboxkit.test.TestDatabaseExtension;
import org.junit.jupiter.api.extension.RegisterExtension;

class MySqlRoleScriptsIntegrationTests extends MySqlFamilyRoleScriptsContractTests {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.mysql();

  @Override
  TestDatabaseExtension database() {
    return db;
  }

  @Override
  String setDefaultRole(String role, String user) {
    return "SET DEFAULT ROLE " + role + " TO " + user;
  }
}
