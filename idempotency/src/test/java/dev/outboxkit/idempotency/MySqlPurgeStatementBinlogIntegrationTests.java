package dev.outboxkit.idempotency;

import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.TestDatabaseExtension;
import org.junit.jupiter.api.extension.RegisterExtension;

@ServerTest
class MySqlPurgeStatementBinlogIntegrationTests extends StatementBinlogPurgeContract {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.mysql();

  @Override
  TestDatabaseExtension db() {
    return db;
  }
}
