package dev.outboxkit.relay.internal.cdc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

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
import io.debezium.engine.DebeziumEngine;
import io.debezium.engine.RecordChangeEvent;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.sql.Connection;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.apache.kafka.connect.source.SourceRecord;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Issue 19, finding 9: the batch handler's gate belongs to one engine run. Before, it asked whether
 * the relay's current engine was live, so a batch of a stopped run passed once a new run started
 * here. Against a real PostgreSQL (lease and outbox table), with the lease held throughout.
 */
@ServerTest
class CdcBatchHandlerIntegrationTests {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.postgres();

  private final AtomicInteger sends = new AtomicInteger();
  private CdcLease lease;
  private CdcMetrics metrics;
  private CdcBatchHandler handler;

  @BeforeEach
  void setUp() throws Exception {
    OutboxDialect dialect = RelayTables.create(db.dataSource());
    OutboxTable state = OutboxTable.of("gate_state_" + System.nanoTime() % 100_000);
    try (Connection c = db.dataSource().getConnection()) {
      CdcSchema.create(c, dialect, state);
    }
    RelaySettings settings = settings();
    CdcOptions options =
        CdcOptions.builder(
                db.database().jdbcUrl(), db.database().username(), db.database().password())
            .name("engine_gate")
            .stateTable(state)
            .build();
    Jdbc jdbc = new Jdbc(db.dataSource());
    lease =
        new CdcLease(
            jdbc,
            dialect,
            state,
            "engine_gate",
            "owner-a",
            settings.leaseTtl(),
            settings.heartbeatInterval(),
            null,
            new RelayMetrics(new SimpleMeterRegistry(), "outbox_event"));
    assertThat(lease.tryAcquire()).isTrue();
    metrics = CdcMetrics.register(settings, options, dialect);
    BatchSender publisher =
        new BatchSender() {
          @Override
          public InFlight send(List<PendingEvent> batch) {
            sends.incrementAndGet();
            throw new IllegalStateException("no send expected in this test");
          }

          @Override
          public boolean sendDeadLetter(PendingEvent event, String topic, String error) {
            return false;
          }
        };
    handler =
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
                CircuitBreaker.of("gate", settings.circuitBreaker()),
                metrics.relay(),
                publisher),
            publisher,
            lease,
            metrics,
            new OpenGate());
  }

  @AfterEach
  void tearDown() {
    lease.release();
    metrics.close();
  }

  @Test
  void aBatchOfAStoppedRunIsNeverMarkedProcessedWhileTheLeaseIsHeldByTheNextRun() throws Exception {
    AtomicBoolean firstRunLive = new AtomicBoolean(true);
    var firstRun = handler.forRun(firstRunLive::get);
    Committer committed = new Committer();
    firstRun.handleBatch(List.of(), committed);
    assertThat(committed.finished).as("a batch of the live run").isEqualTo(1);

    // The first run is stopped and a second one started here: same handler, same lease.
    firstRunLive.set(false);
    AtomicBoolean secondRunLive = new AtomicBoolean(true);
    var secondRun = handler.forRun(secondRunLive::get);
    assertThat(lease.validByTtl()).isTrue();

    Committer late = new Committer();
    assertThatThrownBy(() -> firstRun.handleBatch(List.of(), late))
        .isInstanceOf(CdcBatchHandler.LeaseLost.class);
    assertThat(late.finished).as("a batch of the stopped run, stored").isZero();

    Committer current = new Committer();
    secondRun.handleBatch(List.of(), current);
    assertThat(current.finished).as("a batch of the current run").isEqualTo(1);
    assertThat(sends).hasValue(0);
  }

  /** A relay that runs, not paused. */
  private static final class OpenGate implements CdcBatchHandler.Gate {
    @Override
    public boolean paused() {
      return false;
    }

    @Override
    public BatchSender.@Nullable InFlight unlessPaused(Supplier<BatchSender.InFlight> send) {
      return send.get();
    }

    @Override
    public boolean open() {
      return true;
    }
  }

  /** Counts what Debezium would be told to store. */
  private static final class Committer
      implements DebeziumEngine.RecordCommitter<RecordChangeEvent<SourceRecord>> {
    int processed;
    int finished;

    @Override
    public void markProcessed(RecordChangeEvent<SourceRecord> record) {
      processed++;
    }

    @Override
    public void markBatchFinished() {
      finished++;
    }

    @Override
    public void markProcessed(
        RecordChangeEvent<SourceRecord> record, DebeziumEngine.Offsets sourceOffsets) {
      processed++;
    }

    @Override
    public DebeziumEngine.Offsets buildOffsets() {
      throw new UnsupportedOperationException("not used by the handler");
    }
  }

  private static RelaySettings settings() {
    return CdcTestSettings.postgres(db.dataSource(), "gate-test");
  }
}
