package dev.outboxkit.relay.app.cli;

import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.TestDatabase;
import dev.outboxkit.test.TestServers;

@ServerTest
class MariaDbOperatorCliRunningRelayIntegrationTests extends OperatorCliRunningRelayContractTests {

  private final TestDatabase db = TestServers.mariadb().createDatabase("operator_cli_relay_ma");

  @Override
  TestDatabase db() {
    return db;
  }
}
