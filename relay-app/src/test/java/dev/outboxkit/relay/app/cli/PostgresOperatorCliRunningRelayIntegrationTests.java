package dev.outboxkit.relay.app.cli;

import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.TestDatabase;
import dev.outboxkit.test.TestServers;

@ServerTest
class PostgresOperatorCliRunningRelayIntegrationTests extends OperatorCliRunningRelayContractTests {

  private final TestDatabase db = TestServers.postgres().createDatabase("operator_cli_relay_pg");

  @Override
  TestDatabase db() {
    return db;
  }
}
