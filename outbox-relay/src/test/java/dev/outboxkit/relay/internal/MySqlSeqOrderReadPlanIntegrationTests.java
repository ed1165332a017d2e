package dev.outboxkit.relay.internal;

import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.TestDatabaseExtension;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The polling read's plan on MySQL 8 over a backlog of 100,000 pending rows. */
@ServerTest
class MySqlSeqOrderReadPlanIntegrationTests extends SeqOrderReadPlanContract {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.mysql();

  @BeforeAll
  static void load() throws Exception {
    loadBacklog(db);
  }

  @Override
  TestDatabaseExtension db() {
    return db;
  }
}
