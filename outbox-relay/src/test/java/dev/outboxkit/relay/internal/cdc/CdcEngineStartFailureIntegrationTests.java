package dev.outboxkit.relay.internal.cdc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.relay.RelayTables;
import dev.outboxkit.relay.cdc.CdcOptions;
import dev.outboxkit.relay.cdc.CdcSchema;
import dev.outboxkit.relay.internal.Jdbc;
import dev.outboxkit.relay.internal.OutboxRows;
import dev.outboxkit.relay.internal.PendingEvent;
import dev.outboxkit.relay.internal.RelayMetrics;
import dev.outboxkit.relay.internal.RelaySettings;
import dev.outboxkit.relay.internal.delivery.BatchSender;
import dev.outboxkit.relay.internal.delivery.DeliveryCore;
import dev.outboxkit.relay.internal.delivery.KeyHolds;
import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.TestDatabaseExtension;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.sql.Connection;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Issue 19, item 6: when Debezium's connector refuses its configuration at engine start (here: the
 * database the CDC URL names does not exist, as after a database was dropped or renamed while the
 * relay ran), Debezium 3.5 reports the refusal through Kafka Connect's {@code
 * ConfigInfos.values()}, which Kafka 4.2 no longer has (the class became a record with {@code
 * configs()}): the engine dies of {@code NoSuchMethodError} and the real cause is lost. The relay
 * must say what is wrong. Runs the engine runner's lease loop by hand against a real PostgreSQL and
 * the real Debezium engine.
 */
@ServerTest
class CdcEngineStartFailureIntegrationTests {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.postgres();

  private CdcLease lease;
  private CdcMetrics metrics;
  private CdcEngineRunner runner;

  @BeforeEach
  void setUp() throws Exception {
    OutboxDialect dialect = RelayTables.create(db.dataSource());
    OutboxTable state = OutboxTable.of("start_state_" + System.nanoTime() % 100_000);
    try (Connection c = db.dataSource().getConnection()) {
      CdcSchema.create(c, dialect, state);
    }
    RelaySettings settings = CdcTestSettings.postgres(db.dataSource(), "start-test");
    String url = db.database().jdbcUrl();
    String missing = url.substring(0, url.lastIndexOf('/') + 1) + "no_such_database";
    CdcOptions options =
        CdcOptions.builder(missing, db.database().username(), db.database().password())
            .name("engine_start_" + System.nanoTime() % 100_000)
            .stateTable(state)
            .build();
    Jdbc jdbc = new Jdbc(db.dataSource());
    lease =
        new CdcLease(
            jdbc,
            dialect,
            state,
            options.name(),
            "owner-a",
            settings.leaseTtl(),
            settings.heartbeatInterval(),
            null,
            new RelayMetrics(new SimpleMeterRegistry(), "outbox_event"));
    metrics = CdcMetrics.register(settings, options, dialect);
    BatchSender publisher = new NoSends();
    CdcBatchHandler handler =
        new CdcBatchHandler(
            settings,
            options,
            new ChangeDecoder(settings.table().name()),
            new CdcRowStore(
                settings,
                jdbc,
                dialect,
                new OutboxRows(dialect, settings.table()),
                metrics.relay()),
            new DeliveryCore(
                DeliveryCore.Policy.of(settings),
                new KeyHolds(),
                CircuitBreaker.of("start", settings.circuitBreaker()),
                metrics.relay(),
                publisher),
            publisher,
            lease,
            metrics,
            new CdcBatchFixture.OpenGate());
    runner =
        new CdcEngineRunner(
            settings, options, "owner-a", dialect, dialect, lease, metrics, handler, () -> true);
  }

  @AfterEach
  void tearDown() {
    runner.stop();
    lease.release();
    metrics.close();
  }

  @Test
  void anEngineWhoseConnectorRefusesItsConfigurationReportsTheRealCause() {
    await()
        .atMost(Duration.ofSeconds(60))
        .pollInterval(Duration.ofMillis(200))
        .until(
            () -> {
              runner.tick();
              return runner.lastError() != null;
            });
    assertThat(runner.lastError())
        .as("the reason the engine could not start")
        .contains("no_such_database")
        .contains("does not exist");
    assertThat(lease.held()).as("the lease of an engine that could not start").isFalse();
  }

  private static final class NoSends implements BatchSender {
    @Override
    public InFlight send(List<PendingEvent> batch) {
      throw new IllegalStateException("the engine never starts in this test");
    }

    @Override
    public boolean sendDeadLetter(PendingEvent event, String topic, String error) {
      return false;
    }
  }
}
