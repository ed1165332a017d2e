package dev.outboxkit.relay.app.cli;

import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.TestDatabase;
import dev.outboxkit.test.TestServers;

@ServerTest
class MariaDbOperatorCliCdcRolesIntegrationTests extends MySqlFamilyOperatorCliCdcRoles {

  private final TestDatabase db = TestServers.mariadb().createDatabase("operator_cli_cdc_roles");

  @Override
  TestDatabase db() {
    return db;
  }

  /** MariaDB has one default role per user, set with FOR. */
  @Override
  String setDefaultRole(String role, String account) {
    return "SET DEFAULT ROLE " + role + " FOR " + account;
  }

  /** User names are server-wide, and MySQL and MariaDB may share one server in CI. */
  @Override
  String user(String role) {
    return "okcli_mariadb_" + role;
  }
}
