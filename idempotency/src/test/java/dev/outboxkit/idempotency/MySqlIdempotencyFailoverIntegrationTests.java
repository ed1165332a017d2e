package dev.outboxkit.idempotency;

import dev.outboxkit.test.DatabaseKind;

class MySqlIdempotencyFailoverIntegrationTests extends IdempotencyFailoverContractTests {

  @Override
  DatabaseKind kind() {
    return DatabaseKind.MYSQL;
  }
}
