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
import dev.outboxkit.relay.internal.delivery.PublishResult;
import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.TestDatabaseExtension;
import io.debezium.engine.DebeziumEngine;
import io.debezium.engine.RecordChangeEvent;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import org.apache.kafka.connect.data.Schema;
import org.apache.kafka.connect.data.SchemaBuilder;
import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.source.SourceRecord;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Issue 19, finding 8 (CDC part): the send window is asked before each event is handed over, in CDC
 * as in polling. Before, the CDC batch handler checked the lease once per batch and handed the
 * whole batch over with {@code send(batch)}: a hand-over that outlived the lease (a full buffer, a
 * process paused in the middle of it) went on sending. Against a real PostgreSQL (lease and outbox
 * table); the lease is lost in the middle of the hand-over.
 */
@ServerTest
class CdcHandOverWindowIntegrationTests {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.postgres();

  private static final Schema ROW =
      SchemaBuilder.struct()
          .field("seq", Schema.INT64_SCHEMA)
          .field("id", Schema.STRING_SCHEMA)
          .field("aggregatetype", Schema.STRING_SCHEMA)
          .field("aggregateid", Schema.STRING_SCHEMA)
          .field("type", Schema.STRING_SCHEMA)
          .field("payload", Schema.OPTIONAL_BYTES_SCHEMA)
          .field("headers", Schema.OPTIONAL_STRING_SCHEMA)
          .field("tenant", Schema.OPTIONAL_STRING_SCHEMA)
          .field("created_at", Schema.STRING_SCHEMA)
          .field("partition_no", Schema.INT32_SCHEMA)
          .field("status", Schema.STRING_SCHEMA)
          .field("attempts", Schema.INT32_SCHEMA)
          .optional()
          .build();
  private static final Schema SOURCE =
      SchemaBuilder.struct()
          .field("table", Schema.STRING_SCHEMA)
          .field("ts_ms", Schema.INT64_SCHEMA)
          .build();
  private static final Schema ENVELOPE =
      SchemaBuilder.struct()
          .field("op", Schema.STRING_SCHEMA)
          .field("after", ROW)
          .field("source", SOURCE)
          .build();

  private final List<Long> handedOver = new CopyOnWriteArrayList<>();
  private volatile boolean dieOnSend;
  private CircuitBreaker breaker;
  private CdcLease lease;
  private CdcMetrics metrics;
  private CdcBatchHandler handler;

  @BeforeEach
  void setUp() throws Exception {
    OutboxDialect dialect = RelayTables.create(db.dataSource());
    OutboxTable state = OutboxTable.of("window_state_" + System.nanoTime() % 100_000);
    try (Connection c = db.dataSource().getConnection()) {
      CdcSchema.create(c, dialect, state);
    }
    RelaySettings settings = CdcTestSettings.postgres(db.dataSource(), "window-test");
    CdcOptions options =
        CdcOptions.builder(
                db.database().jdbcUrl(), db.database().username(), db.database().password())
            .name("engine_window")
            .stateTable(state)
            .build();
    Jdbc jdbc = new Jdbc(db.dataSource());
    lease =
        new CdcLease(
            jdbc,
            dialect,
            state,
            "engine_window",
            "owner-a",
            settings.leaseTtl(),
            settings.heartbeatInterval(),
            null,
            new RelayMetrics(new SimpleMeterRegistry(), "outbox_event"));
    assertThat(lease.tryAcquire()).isTrue();
    metrics = CdcMetrics.register(settings, options, dialect);
    BatchSender publisher = new LosingTheLeaseSender();
    // One trial call when half-open, so a trial permission lost for good shows at once.
    breaker =
        CircuitBreaker.of(
            "window",
            CircuitBreakerConfig.from(settings.circuitBreaker())
                .permittedNumberOfCallsInHalfOpenState(1)
                .build());
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
                breaker,
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
  void aLeaseLostInTheMiddleOfAHandOverStopsItBeforeTheNextEvent() {
    List<RecordChangeEvent<SourceRecord>> batch = List.of(insert(1, "k1"), insert(2, "k2"));
    Committer committer = new Committer();

    assertThatThrownBy(() -> handler.forRun(() -> true).handleBatch(batch, committer))
        .isInstanceOf(CdcBatchHandler.LeaseLost.class);

    assertThat(handedOver)
        .as("events handed to the producer; the lease was lost after the first")
        .containsExactly(1L);
    assertThat(committer.finished).as("a batch marked processed without its lease").isZero();
  }

  /**
   * Seen in a chaos run (PostgreSQL CDC, kill-relay-thread right after acl-refusal): a publishing
   * thread that dies of an {@code Error} in the middle of a hand-over (an OutOfMemoryError, the
   * kit's injected error) while the breaker was half-open kept the breaker's one trial permission:
   * the engine ended, the relay took the lease again later, and its new engine waited for a
   * permission forever (every partition stuck, the relay healthy). The permission must be given
   * back whatever ends the hand-over.
   */
  @Test
  void aHandOverEndedByAnErrorGivesTheBreakersTrialPermissionBack() {
    breaker.transitionToOpenState();
    breaker.transitionToHalfOpenState();
    dieOnSend = true;

    assertThatThrownBy(
            () -> handler.forRun(() -> true).handleBatch(List.of(insert(1, "k1")), new Committer()))
        .isInstanceOf(DiedInSend.class);

    assertThat(breaker.getState()).isEqualTo(CircuitBreaker.State.HALF_OPEN);
    assertThat(breaker.tryAcquirePermission())
        .as("the half-open breaker's trial permission after the hand-over died")
        .isTrue();
  }

  /**
   * What a publishing thread dies of in {@link
   * #aHandOverEndedByAnErrorGivesTheBreakersTrialPermissionBack}.
   */
  private static final class DiedInSend extends Error {
    private static final long serialVersionUID = 1L;

    DiedInSend() {
      super("the publishing thread died in the middle of a hand-over");
    }
  }

  /**
   * Hands events over one by one, asking {@code mayHandOver} before each as the Kafka publisher
   * does; the lease is lost (as a pause in the middle of a hand-over would make it) once the first
   * event is handed over. Without a window to ask, every event is handed over.
   */
  private final class LosingTheLeaseSender implements BatchSender {
    @Override
    public InFlight send(List<PendingEvent> batch) {
      return send(batch, () -> true);
    }

    @Override
    public InFlight send(List<PendingEvent> batch, BooleanSupplier mayHandOver) {
      if (dieOnSend) {
        throw new DiedInSend();
      }
      List<PublishResult> results = new ArrayList<>();
      boolean open = true;
      for (PendingEvent event : batch) {
        open = open && mayHandOver.getAsBoolean();
        if (!open) {
          results.add(new PublishResult.Deferred(event));
          continue;
        }
        handedOver.add(event.seq());
        results.add(new PublishResult.Acked(event, Instant.now()));
        lease.drop();
      }
      return new InFlight() {
        @Override
        public List<PendingEvent> batch() {
          return batch;
        }

        @Override
        public List<PublishResult> await() {
          return results;
        }
      };
    }

    @Override
    public boolean sendDeadLetter(PendingEvent event, String topic, String error) {
      return false;
    }
  }

  private static RecordChangeEvent<SourceRecord> insert(long seq, String key) {
    Struct row =
        new Struct(ROW)
            .put("seq", seq)
            .put("id", UUID.randomUUID().toString())
            .put("aggregatetype", "Payment")
            .put("aggregateid", key)
            .put("type", "Captured")
            .put("payload", "{}".getBytes(StandardCharsets.UTF_8))
            .put("headers", "{}")
            .put("created_at", "2026-12-01T10:00:00Z")
            .put("partition_no", 3)
            .put("status", "PENDING")
            .put("attempts", 0);
    Struct value =
        new Struct(ENVELOPE)
            .put("op", "c")
            .put("after", row)
            .put("source", new Struct(SOURCE).put("table", "outbox_event").put("ts_ms", 1000L));
    SourceRecord record =
        new SourceRecord(Map.of(), Map.of(), "server.public.outbox_event", ENVELOPE, value);
    return () -> record;
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
    int finished;

    @Override
    public void markProcessed(RecordChangeEvent<SourceRecord> record) {}

    @Override
    public void markBatchFinished() {
      finished++;
    }

    @Override
    public void markProcessed(
        RecordChangeEvent<SourceRecord> record, DebeziumEngine.Offsets sourceOffsets) {}

    @Override
    public DebeziumEngine.Offsets buildOffsets() {
      throw new UnsupportedOperationException("not used by the handler");
    }
  }
}
