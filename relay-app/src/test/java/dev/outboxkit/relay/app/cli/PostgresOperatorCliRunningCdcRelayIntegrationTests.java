package dev.outboxkit.relay.app.cli;

import static org.awaitility.Awaitility.await;

import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.TestDatabase;
import dev.outboxkit.test.TestServers;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;

@ServerTest
class PostgresOperatorCliRunningCdcRelayIntegrationTests
    extends OperatorCliRunningCdcRelayContractTests {

  private final TestDatabase db = TestServers.postgres().createDatabase("operator_cli_cdc_pg");

  @Override
  TestDatabase db() {
    return db;
  }

  @Override
  String engine() {
    return "okcli_cdc_pg";
  }

  /**
   * A database with a replication slot cannot be dropped; the slot is dropped once the stopped
   * engine's walsender let it go.
   */
  @Override
  void dropChangeLogObjects(Statement admin) throws SQLException {
    String slot = "FROM pg_replication_slots WHERE slot_name = '" + engine() + "'";
    await()
        .atMost(Duration.ofSeconds(30))
        .pollInterval(Duration.ofMillis(200))
        .until(
            () -> {
              admin.execute(
                  "SELECT pg_drop_replication_slot(slot_name) " + slot + " AND NOT active");
              try (ResultSet rs = admin.executeQuery("SELECT count(*) " + slot)) {
                rs.next();
                return rs.getInt(1) == 0;
              }
            });
  }
}
