package dev.outboxkit.relay;

import dev.outboxkit.test.TestDatabaseExtension;
import java.sql.SQLException;
import java.sql.Statement;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Payload encryption end to end on PostgreSQL (logical decoding of the WAL). */
class PayloadEncryptionIntegrationTests extends PayloadEncryptionContractTests {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.postgres();

  @Override
  TestDatabaseExtension db() {
    return db;
  }

  @Override
  void dropChangeLogState(Statement statement) throws SQLException {
    statement.execute(
        "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots"
            + " WHERE slot_name = 'crypto_cdc' AND NOT active");
  }
}
