package dev.outboxkit.relay;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

/** Login users on MySQL and MariaDB: a user per service holding one role as its default role. */
abstract class MySqlFamilyRoleScriptsContractTests extends RoleScriptsContractTests {

  abstract String setDefaultRole(String role, String user);

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

  @Override
  void cannotReadTheChangeLog(Statement statement) {
    assertRefused(statement, "SHOW BINLOG EVENTS LIMIT 1");
  }

  /** The binlog, as a replica reads it: its files and its events. */
  @Override
  void readsTheChangeLog(Connection cdc) throws SQLException {
    try (Statement s = cdc.createStatement()) {
      try (ResultSet rs = s.executeQuery("SHOW BINARY LOGS")) {
        assertThat(rs.next()).isTrue();
      }
      try (ResultSet rs = s.executeQuery("SHOW BINLOG EVENTS LIMIT 1")) {
        assertThat(rs.next()).isTrue();
      }
    }
  }
}
