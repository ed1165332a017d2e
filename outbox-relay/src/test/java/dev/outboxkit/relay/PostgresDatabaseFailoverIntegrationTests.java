package dev.outboxkit.relay;

import dev.outboxkit.test.DatabaseKind;

class PostgresDatabaseFailoverIntegrationTests extends DatabaseFailoverContractTests {

  @Override
  DatabaseKind kind() {
    return DatabaseKind.POSTGRESQL;
  }
}
