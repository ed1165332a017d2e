package dev.outboxkit.relay.app.cli;

import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.TestDatabase;
import dev.outboxkit.test.TestServers;

@ServerTest
class MySqlOperatorCliRunningRelayIntegrationTests extends OperatorCliRunningRelayContractTests {

  private final TestDatabase db = TestServers.mysql().createDatabase("operator_cli_relay_my");

  @Override
  TestDatabase db() {
    return db;
  }
}
