package dev.outboxkit.relay.internal.cdc;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxkit.outbox.Outbox;
import dev.outboxkit.outbox.OutboxEvent;
import dev.outboxkit.outbox.OutboxMessage;
import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.jdbc.JdbcTransactions;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.relay.RelayTables;
import dev.outboxkit.relay.cdc.CdcOptions;
import dev.outboxkit.relay.cdc.CdcSchema;
import dev.outboxkit.relay.internal.Jdbc;
import dev.outboxkit.relay.internal.JdbcParkedEvents;
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
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
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
import org.junit.jupiter.api.parallel.Isolated;

/**
 * Issue 19, review6: a restarted engine that reads a replayed event's old insert and its copy's
 * insert in one batch (both have the event's id, the copy a new {@code seq}). The batch handler's
 * bookkeeping was keyed by event id: the attempts recorded on the copy's row went to the old insert
 * (read first), and an old insert settled (acknowledged or parked) took the copy out of the batch
 * unsent, whose position was then stored: the copy stayed {@code PENDING} for good, never read
 * again. Against a real PostgreSQL (lease, outbox table, parked events), with a broker that refuses
 * every event for a reason of the event (an attempt each).
 */
@ServerTest
@Isolated
class CdcReplayedEventIntegrationTests {

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

  /** Sends per row ({@code seq}): every one refused for a reason of the event. */
  private final Map<Long, Integer> sends = new ConcurrentHashMap<>();

  private Outbox outbox;
  private JdbcTransactions tx;
  private OutboxDialect dialect;
  private CdcRowStore rowStore;
  private JdbcParkedEvents parked;
  private CdcLease lease;
  private CdcMetrics metrics;
  private CdcBatchHandler handler;

  @BeforeEach
  void setUp() throws Exception {
    dialect = RelayTables.create(db.dataSource());
    execute("DELETE FROM outbox_event");
    tx = JdbcTransactions.of(db.dataSource());
    outbox = Outbox.builder().connectionProvider(tx).dialect(dialect).build();
    OutboxTable state = OutboxTable.of("replayed_state_" + System.nanoTime() % 100_000);
    try (Connection c = db.dataSource().getConnection()) {
      CdcSchema.create(c, dialect, state);
    }
    RelaySettings settings = CdcTestSettings.postgres(db.dataSource(), "replayed-test");
    CdcOptions options =
        CdcOptions.builder(
                db.database().jdbcUrl(), db.database().username(), db.database().password())
            .name("engine_replayed")
            .stateTable(state)
            .build();
    Jdbc jdbc = new Jdbc(db.dataSource());
    lease =
        new CdcLease(
            jdbc,
            dialect,
            state,
            "engine_replayed",
            "owner-a",
            settings.leaseTtl(),
            settings.heartbeatInterval(),
            null,
            new RelayMetrics(new SimpleMeterRegistry(), "outbox_event"));
    assertThat(lease.tryAcquire()).isTrue();
    metrics = CdcMetrics.register(settings, options, dialect);
    rowStore =
        new CdcRowStore(
            settings, jdbc, dialect, new OutboxRows(dialect, settings.table()), metrics.relay());
    parked = new JdbcParkedEvents(jdbc, dialect, settings.table(), () -> {}, Clock.systemUTC());
    BatchSender refusing =
        new BatchSender() {
          @Override
          public InFlight send(List<PendingEvent> batch) {
            List<PublishResult> results =
                batch.stream()
                    .<PublishResult>map(
                        e -> {
                          sends.merge(e.seq(), 1, Integer::sum);
                          return new PublishResult.Failed(
                              e, "unknown topic (test)", PublishResult.FailureKind.EVENT);
                        })
                    .toList();
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
        };
    handler =
        new CdcBatchHandler(
            settings,
            options,
            new ChangeDecoder(settings.table().name()),
            rowStore,
            new DeliveryCore(
                DeliveryCore.Policy.of(settings),
                new KeyHolds(),
                CircuitBreaker.of("replayed", settings.circuitBreaker()),
                metrics.relay(),
                refusing),
            refusing,
            lease,
            metrics,
            new OpenGate());
  }

  @AfterEach
  void tearDown() {
    lease.release();
    metrics.close();
  }

  /**
   * Event E was parked, replayed (the copy failed twice, recorded on the copy's row: attempts 2 of
   * 3), then the engine restarted from an offset before E's old insert and read both inserts in one
   * batch. Each row is decided on its own count: the old insert from zero (three sends, then its
   * park finds the copy and leaves it), the copy from its own two attempts (one more send, then
   * parked with attempts 3). Before, the old insert took the copy's count (one send), its park
   * settled "E" and took the copy out of the batch unsent: the copy stayed PENDING with its
   * position stored, read by no engine again, neither published nor parked.
   */
  @Test
  void aReReadOfAReplayedEventsOldInsertAndItsCopyAreEachDecidedOnTheirOwnCount() throws Exception {
    OutboxEvent event = tx.inTransaction(c -> outbox.append(OutboxMessage.of("t", "k", "E", "0")));
    long oldSeq = seqOf(event);
    rowStore.park(new PendingEvent(oldSeq, event, 3, null), "unknown topic", 3);
    assertThat(parked.replay(List.of(event.id()))).isEqualTo(1);
    long copySeq = seqOf(event);
    // The copy failed twice before the restart (CdcRowStore.recordRetries on its row).
    execute("UPDATE outbox_event SET attempts = 2 WHERE seq = " + copySeq);

    Committer committed = new Committer();
    handler
        .forRun(() -> true)
        .handleBatch(List.of(insert(oldSeq, event), insert(copySeq, event)), committed);

    assertThat(committed.finished).isEqualTo(1);
    assertThat(sends.getOrDefault(copySeq, 0))
        .as("sends of the replayed copy, which goes on from its own 2 recorded attempts of 3")
        .isEqualTo(1);
    assertThat(sends.getOrDefault(oldSeq, 0))
        .as("sends of the old insert, counted from zero: the copy's attempts are not its own")
        .isEqualTo(3);
    assertThat(statusAndAttempts(copySeq))
        .as("the copy, parked on its own count (not left PENDING)")
        .isEqualTo("DEAD/3");
    assertThat(rowCount()).as("one row of E: its copy, no row for the old insert").isEqualTo(1);
  }

  private static RecordChangeEvent<SourceRecord> insert(long seq, OutboxEvent e) {
    Struct row =
        new Struct(ROW)
            .put("seq", seq)
            .put("id", e.id().toString())
            .put("aggregatetype", e.aggregateType())
            .put("aggregateid", e.aggregateId())
            .put("type", e.eventType())
            .put(
                "payload", e.payload() == null ? "0".getBytes(StandardCharsets.UTF_8) : e.payload())
            .put("headers", null)
            .put("created_at", e.createdAt().toString())
            .put("partition_no", e.partition())
            .put("status", "PENDING")
            .put("attempts", 0);
    Struct value =
        new Struct(ENVELOPE)
            .put("op", "c")
            .put("after", row)
            .put(
                "source",
                new Struct(SOURCE)
                    .put("table", "outbox_event")
                    .put("ts_ms", System.currentTimeMillis()));
    SourceRecord record =
        new SourceRecord(
            Map.of("server", "test"),
            Map.of("lsn", seq),
            "server.public.outbox_event",
            ENVELOPE,
            value);
    return () -> record;
  }

  private long seqOf(OutboxEvent event) throws SQLException {
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement();
        ResultSet rs =
            s.executeQuery("SELECT seq FROM outbox_event WHERE id = '" + event.id() + "'")) {
      assertThat(rs.next()).isTrue();
      return rs.getLong(1);
    }
  }

  private String statusAndAttempts(long seq) throws SQLException {
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement();
        ResultSet rs =
            s.executeQuery("SELECT status, attempts FROM outbox_event WHERE seq = " + seq)) {
      return rs.next() ? rs.getString(1) + "/" + rs.getInt(2) : "no row";
    }
  }

  private long rowCount() throws SQLException {
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT COUNT(*) FROM outbox_event")) {
      rs.next();
      return rs.getLong(1);
    }
  }

  private static void execute(String sql) throws SQLException {
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement()) {
      s.execute(sql);
    }
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
}
