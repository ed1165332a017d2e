package dev.outboxkit.relay.internal;

import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.TestDatabaseExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

@ServerTest
class MariaDbAuditTrailIntegrationTests extends AuditTrailContractTests {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.mariadb();

  @Override
  TestDatabaseExtension db() {
    return db;
  }

  @Test
  void aLockTimeoutOfTheStartUpProbeIsReportedAsSuchNotAsAMissingGrant() throws Exception {
    probeUnderALockTimeout(
        "LOCK TABLES outbox_audit WRITE", "UNLOCK TABLES", "SET SESSION lock_wait_timeout = 1");
  }
}
