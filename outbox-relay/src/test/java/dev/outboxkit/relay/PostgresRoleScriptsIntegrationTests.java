package dev.outboxkit.relay;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxkit.test.TestDatabaseExtension;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import org.junit.jupiter.api.extension.RegisterExtension;

class PostgresRoleScriptsIntegrationTests extends RoleScriptsContractTests {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.postgres();

  @Override
  TestDatabaseExtension database() {
    return db;
  }

  @Override
  void createLoginUser(Statement admin, String user, String role) throws SQLException {
    admin.execute("DROP ROLE IF EXISTS " + user);
    // REPLICATION is a role attribute that membership never passes on: the CDC user gets it itself.
    String replication = role.equals("outboxkit_cdc") ? " REPLICATION" : "";
    admin.execute(
        "CREATE ROLE "
            + user
            + " LOGIN"
            + replication
            + " PASSWORD '"
            + PASSWORD
            + "' IN ROLE "
            + role);
  }

  @Override
  String createPublicationAsAdministrator() throws SQLException {
    try (Connection admin = db.dataSource().getConnection();
        Statement s = admin.createStatement()) {
      s.execute("DROP PUBLICATION IF EXISTS " + RelayDefaults.CDC_PUBLICATION);
      s.execute("CREATE PUBLICATION " + RelayDefaults.CDC_PUBLICATION + " FOR TABLE outbox_event");
    }
    return RelayDefaults.CDC_PUBLICATION;
  }

  @Override
  void cannotReadTheChangeLog(Statement statement) {
    assertRefused(
        statement, "SELECT pg_create_logical_replication_slot('okt_roles_refused', 'pgoutput')");
  }

  /** pgoutput needs no schema history: the relation comes with every change. */
  @Override
  void assertSchemaHistoryWritten(String engine) {}

  @Override
  void dropReplicationSlot(String engine) throws SQLException {
    try (Connection admin = db.dataSource().getConnection();
        Statement s = admin.createStatement()) {
      s.execute(
          "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '"
              + engine
              + "' AND NOT active");
    }
  }

  @Override
  void dropLoginUser(Statement admin, String user) throws SQLException {
    admin.execute("DROP ROLE IF EXISTS " + user);
  }

  /**
   * The CDC user may create and drop a logical replication slot of the pgoutput plugin (which needs
   * REPLICATION); the publication belongs to the administrator who owns the table.
   */
  @Override
  void readsTheChangeLog(Connection cdc) throws SQLException {
    String slot = "okt_roles_" + ProcessHandle.current().pid();
    try (Statement s = cdc.createStatement()) {
      s.execute("SELECT pg_create_logical_replication_slot('" + slot + "', 'pgoutput')");
      try (ResultSet rs =
          s.executeQuery(
              "SELECT plugin, slot_type, database = current_database() FROM pg_replication_slots"
                  + " WHERE slot_name = '"
                  + slot
                  + "'")) {
        assertThat(rs.next()).isTrue();
        assertThat(rs.getString(1)).isEqualTo("pgoutput");
        assertThat(rs.getString(2)).isEqualTo("logical");
        assertThat(rs.getBoolean(3)).isTrue();
      } finally {
        s.execute("SELECT pg_drop_replication_slot('" + slot + "')");
      }
    }
  }
}
