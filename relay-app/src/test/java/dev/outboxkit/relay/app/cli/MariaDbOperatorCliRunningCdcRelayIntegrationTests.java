package dev.outboxkit.relay.app.cli;

import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.TestDatabase;
import dev.outboxkit.test.TestServers;

@ServerTest
class MariaDbOperatorCliRunningCdcRelayIntegrationTests
    extends OperatorCliRunningCdcRelayContractTests {

  private final TestDatabase db = TestServers.mariadb().createDatabase("operator_cli_cdc_maria");

  @Override
  TestDatabase db() {
    return db;
  }

  @Override
  String engine() {
    return "okcli_cdc_maria";
  }
}
