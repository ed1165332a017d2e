package dev.outboxkit.relay.internal;

import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.TestDatabaseExtension;
import java.util.List;
import org.junit.jupiter.api.extension.RegisterExtension;

@ServerTest
class PostgresParkedLocksIntegrationTests extends ParkedLocksContract {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.postgres();

  @Override
  TestDatabaseExtension db() {
    return db;
  }

  @Override
  List<String> holdTheAuditTable() {
    return List.of("LOCK TABLE outbox_audit IN SHARE MODE");
  }

  @Override
  String waitingSessions() {
    return "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database()"
        + " AND wait_event_type = 'Lock' AND query LIKE 'INSERT INTO outbox_audit %'";
  }

  @Override
  String sessionsQuery() {
    return "SELECT pid, state, wait_event_type, wait_event, query FROM pg_stat_activity WHERE datname = current_database()";
  }
}
