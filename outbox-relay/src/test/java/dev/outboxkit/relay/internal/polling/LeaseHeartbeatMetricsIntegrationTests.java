package dev.outboxkit.relay.internal.polling;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.relay.RelayTables;
import dev.outboxkit.relay.internal.RelayMetrics;
import dev.outboxkit.relay.internal.delivery.KeyHolds;
import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.TestDatabaseExtension;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Whether lease heartbeats are on time is visible before the leases lapse: each heartbeat's
 * duration by outcome, and the age of the last one that renewed the leases, which grows while
 * heartbeats fail and starts again from the next that succeeds.
 */
@ServerTest
class LeaseHeartbeatMetricsIntegrationTests {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.h2();

  @Test
  void heartbeatsAreTimedByOutcomeAndTheAgeOfTheLastRenewalGrowsWhileTheyFail() throws Exception {
    OutboxDialect dialect = RelayTables.create(db.dataSource());
    TestLeaseManagers.clearLeaseTables(db.dataSource());
    MeterRegistry registry = new SimpleMeterRegistry();
    LeaseManager leases =
        TestLeaseManagers.create(
            db.dataSource(),
            dialect,
            "timed",
            Duration.ofSeconds(1),
            null,
            new KeyHolds(),
            new RelayMetrics(registry, "outbox_event"));
    assertThat(age(registry)).as("before the first heartbeat").isNaN();

    leases.heartbeat();

    assertThat(heartbeats(registry, "succeeded")).isEqualTo(1);
    assertThat(heartbeats(registry, "failed")).isZero();
    double afterRenewal = age(registry);
    assertThat(afterRenewal).isBetween(0.0, 1.0);

    try {
      rename(db.dataSource(), "outbox_relay_lease", "outbox_relay_lease_away");
      Thread.sleep(50);
      leases.heartbeat();

      assertThat(heartbeats(registry, "failed")).isEqualTo(1);
      assertThat(heartbeats(registry, "succeeded")).isEqualTo(1);
      assertThat(age(registry)).as("no renewal since").isGreaterThan(afterRenewal + 0.04);
    } finally {
      rename(db.dataSource(), "outbox_relay_lease_away", "outbox_relay_lease");
    }
    double beforeRecovery = age(registry);

    leases.heartbeat();

    assertThat(heartbeats(registry, "succeeded")).isEqualTo(2);
    assertThat(age(registry)).isLessThan(beforeRecovery);
    assertThat(leases.owned()).hasSize(16);
  }

  private static long heartbeats(MeterRegistry registry, String outcome) {
    return registry
        .get("outbox.relay.lease.heartbeats")
        .tag("table", "outbox_event")
        .tag("outcome", outcome)
        .timer()
        .count();
  }

  private static double age(MeterRegistry registry) {
    return registry.get("outbox.relay.lease.heartbeat.age").gauge().value();
  }

  private static void rename(DataSource dataSource, String from, String to) throws SQLException {
    try (Connection c = dataSource.getConnection();
        Statement s = c.createStatement()) {
      s.execute("ALTER TABLE " + from + " RENAME TO " + to);
    }
  }
}
