package dev.outboxkit.idempotency;

import dev.outboxkit.test.DatabaseKind;

class PostgresIdempotencyFailoverIntegrationTests extends IdempotencyFailoverContractTests {

  @Override
  DatabaseKind kind() {
    return DatabaseKind.POSTGRESQL;
  }
}
