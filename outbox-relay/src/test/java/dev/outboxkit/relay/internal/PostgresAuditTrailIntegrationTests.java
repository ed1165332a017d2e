package dev.outboxkit.relay.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.outboxkit.relay.AuditEntry;
import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.TestDatabaseExtension;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

@ServerTest
class PostgresAuditTrailIntegrationTests extends AuditTrailContractTests {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.postgres();

  @Override
  TestDatabaseExtension db() {
    return db;
  }

  /**
   * The change fails in the database (a trigger refuses the delete): it rolls back, and a FAILED
   * record naming the operator, the ids and the error is written in a transaction of its own.
   */
  @Test
  void aFailedChangeLeavesAFailedRecordAndNoChange() throws Exception {
    List<UUID> ids = park(1);
    execute(
        "CREATE OR REPLACE FUNCTION audit_test_refuse() RETURNS trigger LANGUAGE plpgsql AS"
            + " $$ BEGIN RAISE EXCEPTION 'deletes refused by the test'; END $$");
    execute(
        "CREATE TRIGGER audit_test_refuse BEFORE DELETE ON outbox_event FOR EACH ROW"
            + " EXECUTE FUNCTION audit_test_refuse()");
    try {
      assertThatThrownBy(() -> parked.as(ALICE).purge(ids))
          .hasMessageContaining("Could not purge parked events");
    } finally {
      execute("DROP TRIGGER audit_test_refuse ON outbox_event");
    }
    AuditEntry entry = only();
    assertThat(entry.outcome()).isEqualTo(AuditEntry.Outcome.FAILED);
    assertThat(entry.principal()).isEqualTo("alice");
    assertThat(entry.target()).isEqualTo("ids=" + ids.get(0));
    assertThat(entry.count()).isZero();
    assertThat(entry.reason()).contains("deletes refused by the test");
    assertThat(count("status = 'DEAD'")).isOne();
  }

  @Test
  void aLockTimeoutOfTheStartUpProbeIsReportedAsSuchNotAsAMissingGrant() throws Exception {
    probeUnderALockTimeout(
        "LOCK TABLE outbox_audit IN ACCESS EXCLUSIVE MODE",
        "SELECT 1",
        "SET lock_timeout = '300ms'");
  }
}
