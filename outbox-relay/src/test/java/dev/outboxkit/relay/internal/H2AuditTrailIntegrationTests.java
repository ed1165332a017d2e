package dev.outboxkit.relay.internal;

import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.TestDatabaseExtension;
import org.junit.jupiter.api.extension.RegisterExtension;

@ServerTest
class H2AuditTrailIntegrationTests extends AuditTrailContractTests {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.h2();

  @Override
  TestDatabaseExtension db() {
    return db;
  }
}
