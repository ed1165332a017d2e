package dev.outboxkit.idempotency;

import dev.outboxkit.test.DatabaseKind;

class MariaDbIdempotencyFailoverIntegrationTests extends IdempotencyFailoverContractTests {

  @Override
  DatabaseKind kind() {
    return DatabaseKind.MARIADB;
  }
}
