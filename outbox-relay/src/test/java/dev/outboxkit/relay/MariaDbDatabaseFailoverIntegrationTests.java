package dev.outboxkit.relay;

import dev.outboxkit.test.DatabaseKind;

class MariaDbDatabaseFailoverIntegrationTests extends DatabaseFailoverContractTests {

  @Override
  DatabaseKind kind() {
    return DatabaseKind.MARIADB;
  }
}
