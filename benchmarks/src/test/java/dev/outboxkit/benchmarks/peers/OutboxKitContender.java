package dev.outboxkit.benchmarks.peers;

import dev.outboxkit.benchmarks.BenchTables;
import dev.outboxkit.benchmarks.RelayModes;
import dev.outboxkit.outbox.Outbox;
import dev.outboxkit.outbox.OutboxMessage;
import dev.outboxkit.outbox.jdbc.JdbcTransactions;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.relay.OutboxRelay;
import dev.outboxkit.relay.RelayConfig;
import dev.outboxkit.relay.RelayDefaults;
import dev.outboxkit.test.TestDatabase;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;

/**
 * Events appended with OutboxKit's {@code Outbox} ({@code appendAll} per transaction) into its
 * default table, drained by OutboxKit's relay in one of its modes (polling with defaults, CDC,
 * polling with transactional fencing) or by the hand-rolled {@code DELETE … RETURNING} relay on the
 * same table. Pausing stops the relay (OutboxKit: {@code close}, which releases its leases; CDC:
 * the Debezium engine stops, its slot keeps the backlog), resuming builds and starts a new one, as
 * a restart after an outage would.
 */
final class OutboxKitContender implements Contender {

  private final String name;
  private final String topic;
  private final String settings;
  private final int payloadSize;
  private final JdbcTransactions tx;
  private final Outbox outbox;
  private final Supplier<AutoCloseable> relay;
  private final @Nullable Cleanup cleanup;
  private @Nullable AutoCloseable running;

  /** What {@link #close} removes from the server once the relay stopped. */
  private interface Cleanup {
    void run() throws SQLException;
  }

  private OutboxKitContender(
      String name,
      TestDatabase db,
      String topic,
      String settings,
      int payloadSize,
      Supplier<AutoCloseable> relay,
      @Nullable Cleanup cleanup)
      throws SQLException {
    this.name = name;
    this.topic = topic;
    this.settings = settings;
    this.payloadSize = payloadSize;
    this.tx = JdbcTransactions.of(db.dataSource());
    OutboxDialect dialect = BenchTables.createOutboxAndRelayTables(db.dataSource());
    this.outbox = Outbox.builder().connectionProvider(tx).dialect(dialect).build();
    this.relay = relay;
    this.cleanup = cleanup;
  }

  /** The polling relay built with nothing but the data source and the broker. */
  static OutboxKitContender polling(
      TestDatabase db, String bootstrapServers, String topic, int payloadSize) throws SQLException {
    return new OutboxKitContender(
        "OutboxKit polling, defaults",
        db,
        topic,
        "OutboxRelay.builder() with data source and bootstrap servers only (batch "
            + RelayDefaults.BATCH_SIZE
            + ", "
            + RelayDefaults.PUBLISH_THREADS
            + " publish thread(s), LISTEN/NOTIFY wake-up); appendAll per transaction",
        payloadSize,
        () -> started(db, RelayConfig.custom().bootstrapServers(bootstrapServers).build()),
        null);
  }

  /**
   * The polling relay with transactional fencing, otherwise defaults: RelayBenchmark's {@code
   * polling-fenced} mode without options (its batch and threads are the defaults too).
   */
  static OutboxKitContender fenced(
      TestDatabase db, String bootstrapServers, String topic, int payloadSize, String relayName)
      throws SQLException {
    String prefix = RelayModes.fencingPrefix(relayName);
    return new OutboxKitContender(
        "OutboxKit polling, fenced",
        db,
        topic,
        "as polling, defaults, plus transactionalFencing(\""
            + prefix
            + "\"): one transactional producer per outbox partition (batch "
            + RelayDefaults.BATCH_SIZE
            + ", "
            + RelayDefaults.PUBLISH_THREADS
            + " publish thread(s)); appendAll per transaction",
        payloadSize,
        () ->
            started(
                db,
                RelayConfig.custom()
                    .bootstrapServers(bootstrapServers)
                    .transactionalFencing(prefix)
                    .build()),
        null);
  }

  /**
   * The CDC relay as RelayBenchmark's {@code cdc} mode sets it up ({@link RelayModes#cdc}). The
   * engine is started once here on the still empty table and stopped again after an event came
   * through its change stream, so every pass's backlog is read from the replication slot (not from
   * an initial snapshot of the table); {@link #close} drops the slot.
   */
  static OutboxKitContender cdc(
      TestDatabase db, String bootstrapServers, String topic, int payloadSize, String engine)
      throws SQLException {
    Supplier<RelayConfig> config =
        () ->
            RelayConfig.custom()
                .bootstrapServers(bootstrapServers)
                .cdc(RelayModes.cdc(db, engine).build())
                .build();
    OutboxKitContender contender =
        new OutboxKitContender(
            "OutboxKit CDC",
            db,
            topic,
            "Debezium embedded engine on the WAL (pgoutput), slot "
                + engine
                + ", publication of inserts only and state table created by the relay"
                + " (autoCreate), heartbeat 1 s, rows deleted once acknowledged, defaults"
                + " otherwise; the engine stops while paused and resumes from its slot;"
                + " appendAll per transaction",
            payloadSize,
            () -> started(db, config.get()),
            () -> RelayModes.dropCdcLeftovers(db, engine));
    try {
      contender.primeChangeStream(db, config.get());
    } catch (RuntimeException e) {
      contender.close();
      throw e;
    }
    return contender;
  }

  /** The hand-rolled relay (RelayBenchmark's and DrainBenchmark's limit) on OutboxKit's table. */
  static OutboxKitContender handRolled(
      TestDatabase db, String bootstrapServers, String topic, int payloadSize) throws SQLException {
    return new OutboxKitContender(
        "hand-rolled DELETE … RETURNING relay",
        db,
        topic,
        "benchmarks' HandRolledRelay on OutboxKit's table: one thread, DELETE … RETURNING of up to "
            + RelayModes.handRolledBatch()
            + " oldest pending rows, all sent async (idempotent, acks=all, linger.ms=5), commit"
            + " after every ack, a poll every 10 ms when empty; no leases, retries or key holds;"
            + " OutboxKit appendAll per transaction",
        payloadSize,
        () -> RelayModes.startHandRolled(db.dataSource(), db.kind(), bootstrapServers),
        null);
  }

  private static AutoCloseable started(TestDatabase db, RelayConfig config) {
    OutboxRelay relay =
        OutboxRelay.builder()
            .dataSource(db.dataSource())
            .config(config)
            .meterRegistry(new SimpleMeterRegistry())
            .build();
    relay.start();
    return relay;
  }

  /**
   * Starts the CDC engine (its initial snapshot finds an empty table), appends one event and, once
   * it is published, another, which then can only come from the change stream: the stored position
   * is a streaming one (as RelayBenchmark's warm-up does). Their records land on the topic before
   * any pass's consumer starts at its end.
   */
  private void primeChangeStream(TestDatabase db, RelayConfig config) {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    try (OutboxRelay relay =
        OutboxRelay.builder()
            .dataSource(db.dataSource())
            .config(config)
            .meterRegistry(registry)
            .build()) {
      relay.start();
      for (int n = 1; n <= 2; n++) {
        appendOne("key-0", Payloads.of(System.currentTimeMillis(), payloadSize));
        awaitPublished(registry, n);
      }
    }
  }

  private static void awaitPublished(SimpleMeterRegistry registry, int events) {
    long deadline = System.nanoTime() + 120_000_000_000L;
    while (true) {
      Counter published = registry.find("outbox.events.published").counter();
      if (published != null && published.count() >= events) {
        return;
      }
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("the CDC engine published no event within 120 s");
      }
      try {
        Thread.sleep(10);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while the CDC engine started", e);
      }
    }
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public String topic() {
    return topic;
  }

  @Override
  public String settings() {
    return settings;
  }

  @Override
  public void fill(int events, int keys, int perTransaction) {
    byte[] payload =
        Payloads.of(System.currentTimeMillis(), payloadSize).getBytes(StandardCharsets.UTF_8);
    for (int from = 0; from < events; from += perTransaction) {
      List<OutboxMessage> messages = new ArrayList<>(perTransaction);
      for (int i = from; i < Math.min(events, from + perTransaction); i++) {
        messages.add(OutboxMessage.of(topic, "key-" + i % keys, "Bench", payload));
      }
      tx.execute(c -> outbox.appendAll(messages));
    }
  }

  @Override
  public void resume() {
    running = relay.get();
  }

  @Override
  public void pause() {
    if (running != null) {
      try {
        running.close();
      } catch (Exception e) {
        if (e instanceof InterruptedException) {
          Thread.currentThread().interrupt();
        }
        throw new IllegalStateException(name + ": the relay did not stop cleanly", e);
      } finally {
        running = null;
      }
    }
  }

  @Override
  public void appendOne(String key, String payload) {
    OutboxMessage message =
        OutboxMessage.of(topic, key, "Bench", payload.getBytes(StandardCharsets.UTF_8));
    tx.execute(c -> outbox.append(message));
  }

  @Override
  public void close() {
    pause();
    if (cleanup != null) {
      try {
        cleanup.run();
      } catch (SQLException e) {
        throw new IllegalStateException(name + ": could not drop the replication slot", e);
      }
    }
  }
}
