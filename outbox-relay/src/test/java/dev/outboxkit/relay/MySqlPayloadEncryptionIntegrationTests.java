package dev.outboxkit.relay;

import dev.outboxkit.test.TestDatabaseExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.parallel.ResourceLock;

/** Payload encryption end to end on MySQL 8 (the binlog). */
@ResourceLock(CdcTestLocks.BINLOG_CLIENTS)
class MySqlPayloadEncryptionIntegrationTests extends PayloadEncryptionContractTests {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.mysql();

  @Override
  TestDatabaseExtension db() {
    return db;
  }

  /**
   * Issue 20: the CDC park case on MySQL 8's binlog (MySQL's connector, not MariaDB's): an
   * encrypted event that cannot be sent is parked as its ciphertext, never dropped, while other
   * keys flow; its replay still decrypts.
   */
  @Test
  void inCdcModeAParkedEncryptedEventIsKeptWhileOtherKeysFlowAndItsReplayStillDecrypts()
      throws Exception {
    cdcParksAnEncryptedEventItCannotSendAndItsReplayStillDecrypts();
  }
}
