package dev.outboxkit.relay.app.cli;

import java.sql.SQLException;
import java.sql.Statement;

/** Login users on MySQL and MariaDB: a user per service holding one role as its default role. */
abstract class MySqlFamilyOperatorCliCdcRoles extends OperatorCliCdcRolesContractTests {

  abstract String setDefaultRole(String role, String account);

  @Override
  void createLoginUser(Statement admin, String user, String role) throws SQLException {
    String account = "'" + user + "'@'%'";
    admin.execute("DROP USER IF EXISTS " + account);
    admin.execute("CREATE USER " + account + " IDENTIFIED BY '" + PASSWORD + "'");
    admin.execute("GRANT " + role + " TO " + account);
    admin.execute(setDefaultRole(role, account));
  }

  @Override
  void dropLoginUser(Statement admin, String user) throws SQLException {
    admin.execute("DROP USER IF EXISTS '" + user + "'@'%'");
  }
}
