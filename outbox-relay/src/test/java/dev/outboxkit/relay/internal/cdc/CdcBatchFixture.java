package dev.outboxkit.relay.internal.cdc;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxkit.outbox.OutboxEvent;
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
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Function;
import java.util.function.Supplier;
import javax.sql.DataSource;
import org.apache.kafka.connect.data.Schema;
import org.apache.kafka.connect.data.SchemaBuilder;
import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.source.SourceRecord;
import org.jspecify.annotations.Nullable;

/**
 * What the CDC batch handler's tests share: change records shaped as Debezium's PostgreSQL
 * connector emits them for the outbox table, a committer that counts what Debezium would be told to
 * store, a gate that never pauses, a broker that answers at once, and one engine's wiring (state
 * table, lease held, metrics, row store, handler) against the test database. Each test keeps its
 * own broker and its own assertions; this holds only what was the same in all of them.
 */
final class CdcBatchFixture {

  /** The outbox row image ({@code before}/{@code after}) of a change record. */
  static final Schema ROW =
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

  /** The {@code source} block of a change record: the table and the commit time. */
  static final Schema SOURCE =
      SchemaBuilder.struct()
          .field("table", Schema.STRING_SCHEMA)
          .field("ts_ms", Schema.INT64_SCHEMA)
          .build();

  /** A change record's value with the after image only (inserts, snapshot reads, updates). */
  static final Schema ENVELOPE =
      SchemaBuilder.struct()
          .field("op", Schema.STRING_SCHEMA)
          .field("after", ROW)
          .field("source", SOURCE)
          .build();

  /** The name the tests' fixture parts are named after (state table, engine, breaker). */
  private final String name;

  final RelaySettings settings;
  final CdcOptions options;
  final OutboxDialect dialect;
  final Jdbc jdbc;
  final CdcLease lease;
  final CdcMetrics metrics;
  final CdcRowStore rowStore;

  private CdcBatchFixture(TestDatabaseExtension db, String name) throws SQLException {
    this.name = name;
    dialect = RelayTables.create(db.dataSource());
    OutboxTable state = OutboxTable.of(name + "_state_" + System.nanoTime() % 100_000);
    try (Connection c = db.dataSource().getConnection()) {
      CdcSchema.create(c, dialect, state);
    }
    settings = CdcTestSettings.postgres(db.dataSource(), name + "-test");
    options =
        CdcOptions.builder(
                db.database().jdbcUrl(), db.database().username(), db.database().password())
            .name("engine_" + name)
            .stateTable(state)
            .build();
    jdbc = new Jdbc(db.dataSource());
    lease =
        new CdcLease(
            jdbc,
            dialect,
            state,
            "engine_" + name,
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
  }

  /**
   * One engine of the test database's outbox table, with its lease held: a fresh state table {@code
   * <name>_state_<n>}, relay settings {@code <name>-test}, engine {@code engine_<name>}. {@link
   * #close()} it after each test.
   */
  static CdcBatchFixture engine(TestDatabaseExtension db, String name) throws SQLException {
    return new CdcBatchFixture(db, name);
  }

  /** The engine's circuit breaker as the relay's settings configure it, named after the engine. */
  CircuitBreaker breaker() {
    return CircuitBreaker.of(name, settings.circuitBreaker());
  }

  /** The engine's batch handler, sending through {@code sender}, with fresh key holds. */
  CdcBatchHandler handler(BatchSender sender) {
    return handler(new KeyHolds(), breaker(), sender);
  }

  /** The engine's batch handler, sending through {@code sender}, never paused. */
  CdcBatchHandler handler(KeyHolds holds, CircuitBreaker breaker, BatchSender sender) {
    return new CdcBatchHandler(
        settings,
        options,
        new ChangeDecoder(settings.table().name()),
        rowStore,
        new DeliveryCore(DeliveryCore.Policy.of(settings), holds, breaker, metrics.relay(), sender),
        sender,
        lease,
        metrics,
        new OpenGate());
  }

  /** Gives the lease up and the metrics back. */
  void close() {
    lease.release();
    metrics.close();
  }

  /**
   * The insert of {@code e}'s row {@code seq} as Debezium reads it from the outbox table (a payload
   * of {@code "0"} for an event without one), at source offset {@code seq}.
   */
  static RecordChangeEvent<SourceRecord> insert(long seq, OutboxEvent e) {
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

  /**
   * A change ({@code op}) of a row that carries a captured payment ({@code "{}"}, partition 3,
   * created 2026-12-01T10:00:00Z), committed at 1000 ms, with no source offset.
   */
  static SourceRecord paymentChange(
      String op, long seq, UUID id, String key, String status, int attempts, String headers) {
    Struct row =
        new Struct(ROW)
            .put("seq", seq)
            .put("id", id.toString())
            .put("aggregatetype", "Payment")
            .put("aggregateid", key)
            .put("type", "Captured")
            .put("payload", "{}".getBytes(StandardCharsets.UTF_8))
            .put("headers", headers)
            .put("created_at", "2026-12-01T10:00:00Z")
            .put("partition_no", 3)
            .put("status", status)
            .put("attempts", attempts);
    Struct value =
        new Struct(ENVELOPE)
            .put("op", op)
            .put("after", row)
            .put("source", new Struct(SOURCE).put("table", "outbox_event").put("ts_ms", 1000L));
    return new SourceRecord(Map.of(), Map.of(), "server.public.outbox_event", ENVELOPE, value);
  }

  /** The {@code seq} of {@code event}'s row in the outbox table (the one row with its id). */
  static long seqOf(DataSource dataSource, OutboxEvent event) throws SQLException {
    try (Connection c = dataSource.getConnection();
        Statement s = c.createStatement();
        ResultSet rs =
            s.executeQuery("SELECT seq FROM outbox_event WHERE id = '" + event.id() + "'")) {
      assertThat(rs.next()).isTrue();
      return rs.getLong(1);
    }
  }

  /**
   * A broker that answers every batch at once, with what {@code answer} makes of it (computed when
   * the batch is sent), and has no dead-letter topic.
   */
  static BatchSender answering(Function<List<PendingEvent>, List<PublishResult>> answer) {
    return new BatchSender() {
      @Override
      public InFlight send(List<PendingEvent> batch) {
        return new Answered(batch, answer.apply(batch));
      }

      @Override
      public boolean sendDeadLetter(PendingEvent event, String topic, String error) {
        return false;
      }
    };
  }

  /** A batch handed over whose results are known already. */
  record Answered(List<PendingEvent> batch, List<PublishResult> await)
      implements BatchSender.InFlight {}

  /** A relay that runs, not paused. */
  static final class OpenGate implements CdcBatchHandler.Gate {
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
  static final class Committer
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
