package dev.outboxkit.relay.app.cli;

import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.TestDatabase;
import dev.outboxkit.test.TestServers;

@ServerTest
class MySqlOperatorCliRunningCdcRelayIntegrationTests
    extends OperatorCliRunningCdcRelayContractTests {

  private final TestDatabase db = TestServers.mysql().createDatabase("operator_cli_cdc_my");

  @Override
  TestDatabase db() {
    return db;
  }

  @Override
  String engine() {
    return "okcli_cdc_my";
  }
}
