package dev.outboxkit.relay;

import dev.outboxkit.test.DatabaseKind;

class MySqlDatabaseFailoverIntegrationTests extends DatabaseFailoverContractTests {

  @Override
  DatabaseKind kind() {
    return DatabaseKind.MYSQL;
  }
}
