package dev.outboxkit.relay.app.cli;

import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.TestDatabase;
import dev.outboxkit.test.TestServers;

@ServerTest
class MySqlOperatorCliCdcRolesIntegrationTests extends MySqlFamilyOperatorCliCdcRoles {

  private final TestDatabase db = TestServers.mysql().createDatabase("operator_cli_cdc_roles");

  @Override
  TestDatabase db() {
    return db;
  }

  /** MySQL 8 sets default roles with TO. */
  @Override
  String setDefaultRole(String role, String account) {
    return "SET DEFAULT ROLE " + role + " TO " + account;
  }

  /** User names are server-wide, and MySQL and MariaDB may share one server in CI. */
  @Override
  String user(String role) {
    return "okcli_mysql_" + role;
  }
}
