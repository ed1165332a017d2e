package dev.outboxkit.relay.internal.cdc;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.relay.RelayTables;
import dev.outboxkit.relay.cdc.CdcOptions;
import dev.outboxkit.relay.cdc.CdcSchema;
import dev.outboxkit.relay.internal.Jdbc;
import dev.outboxkit.relay.internal.OutboxStats;
import dev.outboxkit.relay.internal.RelayMetrics;
import dev.outboxkit.relay.internal.RelaySettings;
import dev.outboxkit.relay.internal.SessionLock;
import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.TestDatabaseExtension;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.sql.Connection;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Review of issue 19, finding 7 (CDC progress check) with offsets in Kafka: the state row's lease
 * expiry counts as progress so that a standby behind a healthy holder stays UP ("that holder judges
 * itself", docs/monitoring.md). But the holder's own renewals moved the expiry too, so the active
 * instance, stuck on a batch (broker down) while its heartbeat renews the lease, was never stalled.
 */
@ServerTest
class CdcOwnLeaseStallIntegrationTests {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.postgres();

  /** A clock the test moves by hand (the stall detector's time). */
  private static final class HandClock extends Clock {
    private volatile Instant now = Instant.parse("2026-12-06T01:00:00Z");

    @Override
    public ZoneOffset getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(java.time.ZoneId zone) {
      return this;
    }

    @Override
    public Instant instant() {
      return now;
    }
  }

  @Test
  void theLeaseHolderStuckOnABatchIsStalledAlthoughItRenewsItsOwnLease() throws Exception {
    HandClock clock = new HandClock();
    OutboxDialect dialect = RelayTables.create(db.dataSource());
    OutboxTable state = OutboxTable.of("own_lease_state_" + System.nanoTime() % 100_000);
    try (Connection c = db.dataSource().getConnection()) {
      CdcSchema.create(c, dialect, state);
    }
    RelaySettings settings = settings(clock);
    CdcOptions options =
        CdcOptions.builder(
                db.database().jdbcUrl(), db.database().username(), db.database().password())
            .name("own_lease")
            .stateTable(state)
            .offsetsInKafka("outboxkit-offsets")
            .build();
    Jdbc jdbc = new Jdbc(db.dataSource());
    CdcLease lease =
        new CdcLease(
            jdbc,
            dialect,
            state,
            "own_lease",
            SessionLock.ownerName(settings.instanceId()),
            settings.leaseTtl(),
            settings.heartbeatInterval(),
            null,
            new RelayMetrics(new SimpleMeterRegistry(), "outbox_event"));
    assertThat(lease.tryAcquire()).isTrue();
    CdcMetrics metrics = CdcMetrics.register(settings, options, dialect);
    OutboxStats stats = new OutboxStats(dialect, settings.table());

    // The engine runs here and nothing is published, parked or settled; only the heartbeat
    // renews this instance's own lease between measurements.
    metrics.measure(jdbc, stats, true, true, null);
    for (int i = 0; i < 4; i++) {
      Thread.sleep(20); // the database clock moves, so the renewed expiry differs
      assertThat(lease.renew()).isTrue();
      clock.now = clock.now.plus(Duration.ofMinutes(2));
      metrics.measure(jdbc, stats, true, true, null);
    }

    assertThat(metrics.stalled())
        .as("8 minutes without progress past a 5-minute stall timeout")
        .isNotNull();
  }

  private static RelaySettings settings(Clock clock) {
    return CdcTestSettings.postgres(db.dataSource(), "own-lease-test", clock);
  }
}
