package dev.outboxkit.relay.internal;

import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.TestDatabaseExtension;
import java.util.List;
import org.junit.jupiter.api.extension.RegisterExtension;

@ServerTest
class H2ParkedFailureIntegrationTests extends ParkedFailureContract {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.h2();

  @Override
  TestDatabaseExtension db() {
    return db;
  }

  @Override
  String dropTheKey() {
    return "DROP INDEX parked_failure_key_status";
  }

  @Override
  List<String> namedInTheReason() {
    return List.of("Unique index or primary key violation", "PARKED_FAILURE_KEY_STATUS", "23505");
  }

  @Override
  List<String> namedInTheException() {
    return List.of("PARKED_FAILURE_KEY_STATUS", "23505");
  }
}
