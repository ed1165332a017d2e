package dev.outboxkit.relay.app.cli;

import dev.outboxkit.relay.RelayDefaults;
import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.TestDatabase;
import dev.outboxkit.test.TestServers;
import java.sql.SQLException;
import java.sql.Statement;

@ServerTest
class PostgresOperatorCliCdcRolesIntegrationTests extends OperatorCliCdcRolesContractTests {

  private final TestDatabase db = TestServers.postgres().createDatabase("operator_cli_cdc_roles");

  @Override
  TestDatabase db() {
    return db;
  }

  /** REPLICATION is an attribute that role membership never passes on: the user gets it itself. */
  @Override
  void createLoginUser(Statement admin, String user, String role) throws SQLException {
    admin.execute("DROP ROLE IF EXISTS " + user);
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
  void dropLoginUser(Statement admin, String user) throws SQLException {
    admin.execute("DROP ROLE IF EXISTS " + user);
  }

  /** The publication is the administrator's: owning it would need ownership of the table. */
  @Override
  void createChangeLogObjects(Statement admin) throws SQLException {
    admin.execute(
        "CREATE PUBLICATION "
            + RelayDefaults.CDC_PUBLICATION
            + " FOR TABLE outbox_event WITH (publish = 'insert')");
  }
}
