package dev.outboxkit.relay;

import dev.outboxkit.test.TestDatabaseExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.parallel.ResourceLock;

/** Payload encryption end to end on MariaDB (the binlog). */
@ResourceLock(CdcTestLocks.BINLOG_CLIENTS)
class MariaDbPayloadEncryptionIntegrationTests extends PayloadEncryptionContractTests {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.mariadb();

  @Override
  TestDatabaseExtension db() {
    return db;
  }

  /**
   * Issue 20: in CDC mode on the binlog too, an encrypted event that cannot be sent is parked as
   * its ciphertext, never dropped, while other keys flow; its replay still decrypts.
   */
  @Test
  void inCdcModeAParkedEncryptedEventIsKeptWhileOtherKeysFlowAndItsReplayStillDecrypts()
      throws Exception {
    cdcParksAnEncryptedEventItCannotSendAndItsReplayStillDecrypts();
  }
}
