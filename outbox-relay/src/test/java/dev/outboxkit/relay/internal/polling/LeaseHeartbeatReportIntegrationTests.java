package dev.outboxkit.relay.internal.polling;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.relay.RelayDefaults;
import dev.outboxkit.relay.RelayTables;
import dev.outboxkit.relay.internal.LeaseStore;
import dev.outboxkit.relay.internal.LeaseStore.Reported;
import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.TestDatabaseExtension;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * What each heartbeat reports in the member row (the relay's state, its circuit breaker's) is for
 * operators only: a failure to work it out must not cost the leases. Before, the report was asked
 * for outside the heartbeat's error handling: a report that threw ended the heartbeat job, which
 * the lease thread's guard turns into a failed-over relay (FAILED, leases released, nothing
 * published) for the sake of an informational column.
 */
@ServerTest
class LeaseHeartbeatReportIntegrationTests {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.h2();

  @Test
  void aReportThatFailsIsLeftOutAndTheLeasesAreRenewedAnyway() throws SQLException {
    OutboxDialect dialect = RelayTables.create(db.dataSource());
    TestLeaseManagers.clearLeaseTables(db.dataSource());
    LeaseManager leases =
        TestLeaseManagers.create(db.dataSource(), dialect, "reporter", Duration.ofSeconds(1), null);
    AtomicBoolean failing = new AtomicBoolean(false);
    leases.report(
        () -> {
          if (failing.get()) {
            throw new IllegalStateException("status could not be read");
          }
          return new Reported("RUNNING", "CLOSED");
        });
    leases.heartbeat();
    assertThat(reported(dialect)).isEqualTo(new Reported("RUNNING", "CLOSED"));

    failing.set(true);
    leases.heartbeat();

    assertThat(leases.owned()).hasSize(16);
    assertThat(reported(dialect)).isEqualTo(Reported.NOTHING);

    failing.set(false);
    leases.heartbeat();

    assertThat(leases.owned()).hasSize(16);
    assertThat(reported(dialect)).isEqualTo(new Reported("RUNNING", "CLOSED"));
  }

  private static Reported reported(OutboxDialect dialect) throws SQLException {
    LeaseStore store =
        new LeaseStore(
            dialect,
            OutboxTable.of(RelayDefaults.LEASE_TABLE),
            OutboxTable.of(RelayDefaults.MEMBER_TABLE));
    try (Connection c = db.dataSource().getConnection()) {
      return store.members(c).stream()
          .filter(m -> m.id().equals("reporter"))
          .findFirst()
          .orElseThrow()
          .reported();
    }
  }
}
