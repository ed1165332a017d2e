package dev.outboxkit.relay;

import static dev.outboxkit.relay.RelayTestSupport.appendSamples;
import static dev.outboxkit.relay.RelayTestSupport.assertSameRecords;
import static dev.outboxkit.relay.RelayTestSupport.headers;
import static dev.outboxkit.relay.RelayTestSupport.text;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.outboxkit.outbox.Outbox;
import dev.outboxkit.outbox.OutboxEvent;
import dev.outboxkit.outbox.OutboxHeaders;
import dev.outboxkit.outbox.OutboxMessage;
import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.jdbc.JdbcTransactions;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.relay.cdc.CdcOptions;
import dev.outboxkit.relay.cdc.CdcSchema;
import dev.outboxkit.relay.spi.TopicRouter;
import dev.outboxkit.test.KafkaTestBroker;
import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.TestDatabase;
import dev.outboxkit.test.TestDatabaseExtension;
import dev.outboxkit.test.TestServers;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.UnaryOperator;
import javax.sql.DataSource;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What the CDC relay must do on every database it supports, against the real database's change log
 * and a real broker. One subclass per database.
 */
@ServerTest
abstract class CdcRelayContractTests {

  private static final AtomicInteger counter = new AtomicInteger();

  static final KafkaTestBroker kafka = TestServers.kafka();

  final List<OutboxRelay> relays = new CopyOnWriteArrayList<>();
  final List<String> engines = new CopyOnWriteArrayList<>();
  String topic;
  String engine;
  Outbox outbox;
  JdbcTransactions tx;
  OutboxDialect dialect;

  abstract TestDatabaseExtension database();

  DataSource dataSource() {
    return database().dataSource();
  }

  @BeforeEach
  void setUp() throws SQLException {
    dialect = RelayTables.create(dataSource());
    try (Connection c = dataSource().getConnection();
        Statement s = c.createStatement()) {
      CdcSchema.create(c, dialect, OutboxTable.of("outbox_cdc_state"));
      s.execute("DELETE FROM outbox_event");
    }
    int n = counter.incrementAndGet();
    topic = "cdc" + n + "x" + System.nanoTime() % 100_000;
    engine = "outboxkit_t" + n + "_" + System.nanoTime() % 100_000;
    kafka.createTopic(topic, 4);
    tx = JdbcTransactions.of(dataSource());
    outbox = Outbox.builder().connectionProvider(tx).dialect(dialect).build();
  }

  @AfterEach
  void closeRelays() throws SQLException {
    relays.forEach(OutboxRelay::close);
    if (dialect.name().equals("postgresql")) {
      try (Connection c = dataSource().getConnection();
          Statement s = c.createStatement()) {
        for (String name : engines) {
          s.execute(
              "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE"
                  + " slot_name = '"
                  + name
                  + "' AND NOT active");
        }
      }
    }
  }

  CdcOptions.Builder cdcOptions(String name) {
    TestDatabase db = database().database();
    engines.add(name);
    return CdcOptions.builder(db.jdbcUrl(), db.username(), db.password())
        .name(name)
        .autoCreate(true)
        .heartbeatInterval(Duration.ofMillis(500));
  }

  /** Options a subclass runs the whole contract with, e.g. transactional fencing. */
  TestRelayBuilder contractOptions(TestRelayBuilder builder) {
    return builder;
  }

  OutboxRelay relay(UnaryOperator<CdcOptions.Builder> cdc, UnaryOperator<TestRelayBuilder> more) {
    OutboxRelay relay =
        more.apply(
                contractOptions(TestRelayBuilder.relay())
                    .dataSource(dataSource())
                    .bootstrapServers(kafka.bootstrapServers())
                    .cdc(cdc.apply(cdcOptions(engine)).build())
                    .leases(Duration.ofSeconds(2), Duration.ofMillis(250))
                    .pollInterval(Duration.ofMillis(5), Duration.ofMillis(100))
                    .metricsInterval(Duration.ofMillis(100))
                    .retryBackoff(Duration.ofMillis(100), 2.0, Duration.ofSeconds(1))
                    .meterRegistry(new SimpleMeterRegistry())
                    .shutdownTimeout(Duration.ofSeconds(10)))
            .build();
    relays.add(relay);
    return relay;
  }

  /**
   * Publishes one event through a relay whose CDC URL is {@code jdbcUrl} (another driver's scheme
   * for the same server): the connector must follow the server the URL reaches, not its prefix.
   */
  void publishesThroughTheUrl(String jdbcUrl) {
    TestDatabase db = database().database();
    engines.add(engine);
    OutboxRelay relay =
        TestRelayBuilder.relay()
            .dataSource(dataSource())
            .bootstrapServers(kafka.bootstrapServers())
            .cdc(
                CdcOptions.builder(jdbcUrl, db.username(), db.password())
                    .name(engine)
                    .autoCreate(true)
                    .heartbeatInterval(Duration.ofMillis(500))
                    .build())
            .leases(Duration.ofSeconds(2), Duration.ofMillis(250))
            .meterRegistry(new SimpleMeterRegistry())
            .build();
    relays.add(relay);
    relay.start();
    tx.execute(c -> outbox.append(OutboxMessage.of(topic, "crossed", "Crossed", "0")));
    try (KafkaReader reader = reader(topic)) {
      assertThat(reader.readAtLeast(1, Duration.ofSeconds(60))).hasSize(1);
    }
    assertThat(relay.status().lastError()).isNull();
  }

  OutboxRelay startRelay() {
    OutboxRelay relay = relay(c -> c, b -> b);
    relay.start();
    return relay;
  }

  /**
   * Appends events {@code from} to {@code to} (exclusive), one transaction each, over {@code keys}
   * keys: event i is key {@code k<i % keys>}'s number {@code i / keys}, as {@link Ordering} reads.
   */
  void appendCounted(int from, int to, int keys) {
    for (int i = from; i < to; i++) {
      int n = i;
      tx.execute(
          c ->
              outbox.append(
                  OutboxMessage.of(topic, "k" + (n % keys), "E", String.valueOf(n / keys))));
    }
  }

  /**
   * Review (mdbcdc, {@code connect.keep.alive.interval.ms=5000}): the binlog client's keep-alive
   * thread reconnects when it saw no event for 5 s, which is also the case while its reader thread
   * is blocked putting a row into Debezium's full queue (the relay's handler held up by a slow
   * broker). The reader is then in the middle of a transaction; the reconnect resumes from the
   * client's position (updated after every row event) or GTID set (updated at commit). Every event
   * of the transaction must still be published exactly once. MySQL and MariaDB only.
   */
  void aKeepAliveReconnectWhileTheQueueIsFullLosesAndRepeatsNothing() throws Exception {
    AtomicBoolean blocked = new AtomicBoolean();
    AtomicBoolean dumpEnded = new AtomicBoolean();
    List<Long> dumpsBefore = new ArrayList<>();
    TopicRouter slowOnce =
        event -> {
          if ("block".equals(event.aggregateId()) && blocked.compareAndSet(false, true)) {
            // A broker that takes long: the handler holds this batch until the server ended the
            // binlog dump the engine had (the keep-alive closed it), at most 30 s.
            try {
              await()
                  .atMost(Duration.ofSeconds(30))
                  .pollInterval(Duration.ofMillis(200))
                  .until(() -> !binlogDumps().containsAll(dumpsBefore));
              dumpEnded.set(true);
            } catch (org.awaitility.core.ConditionTimeoutException e) {
              // reported by the assertion below
            }
          }
          return event.aggregateType();
        };
    relay(c -> c, b -> b.topicRouter(slowOnce).batchSize(2).batchBytes(1024)).start();
    awaitStreaming();
    dumpsBefore.addAll(binlogDumps());
    assertThat(dumpsBefore).as("the engine's binlog dump on the server").isNotEmpty();
    int n = 40;
    tx.execute(
        c -> {
          outbox.append(OutboxMessage.of(topic, "block", "E", "block"));
          for (int i = 0; i < n; i++) {
            outbox.append(OutboxMessage.of(topic, "k" + i, "E", String.valueOf(i)));
          }
        });
    tx.execute(c -> outbox.append(OutboxMessage.of(topic, "tail", "E", "tail")));
    List<String> keys;
    try (KafkaReader reader = reader(topic)) {
      keys =
          reader
              .readUntil(
                  records ->
                      records.stream()
                          .anyMatch(
                              r -> "tail".equals(new String(r.key(), StandardCharsets.UTF_8))),
                  Duration.ofSeconds(60))
              .stream()
              .map(r -> new String(r.key(), StandardCharsets.UTF_8))
              .filter(k -> !k.equals("tail"))
              .toList();
    }
    assertThat(dumpEnded)
        .as(
            "precondition: the keep-alive ended the engine's binlog dump while the reader was blocked")
        .isTrue();
    List<String> expected = new ArrayList<>();
    expected.add("block");
    for (int i = 0; i < n; i++) {
      expected.add("k" + i);
    }
    assertThat(keys)
        .as("every event of the transaction exactly once after a keep-alive reconnect")
        .containsExactlyInAnyOrderElementsOf(expected);
  }

  /**
   * Review (mdbcdc): as {@link #aKeepAliveReconnectWhileTheQueueIsFullLosesAndRepeatsNothing}, but
   * with no slow broker at all: one poison event (its topic router fails) is retried with backoff
   * for about 11 s before it is parked, and the batch it is in is settled only then. Meanwhile the
   * queue is full and the reader waits in the middle of the transaction, so the keep-alive
   * reconnects. Every other event of the transaction must come exactly once, and the event after it
   * must come at all.
   */
  void aPoisonEventRetriedLongerThanTheKeepAliveRepeatsNothing() throws Exception {
    TopicRouter poisonFails =
        event -> {
          if ("poison".equals(event.aggregateId())) {
            throw new IllegalStateException("no topic for the poison event");
          }
          return event.aggregateType();
        };
    relay(
            c -> c,
            b ->
                b.topicRouter(poisonFails)
                    .batchSize(2)
                    .batchBytes(1024)
                    .maxAttempts(5)
                    .retryBackoff(Duration.ofSeconds(1), 2.0, Duration.ofSeconds(4)))
        .start();
    awaitStreaming();
    int n = 40;
    tx.execute(
        c -> {
          outbox.append(OutboxMessage.of(topic, "poison", "E", "poison"));
          for (int i = 0; i < n; i++) {
            outbox.append(OutboxMessage.of(topic, "k" + i, "E", String.valueOf(i)));
          }
        });
    tx.execute(c -> outbox.append(OutboxMessage.of(topic, "tail", "E", "tail")));
    List<String> keys;
    try (KafkaReader reader = reader(topic)) {
      keys =
          reader
              .readUntil(
                  records ->
                      records.stream()
                          .anyMatch(
                              r -> "tail".equals(new String(r.key(), StandardCharsets.UTF_8))),
                  Duration.ofSeconds(60))
              .stream()
              .map(r -> new String(r.key(), StandardCharsets.UTF_8))
              .toList();
    }
    List<String> expected = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      expected.add("k" + i);
    }
    expected.add("tail");
    assertThat(keys)
        .as("the transaction's events exactly once, then the tail, within 60 s of one poison event")
        .containsExactlyInAnyOrderElementsOf(expected);
  }

  /** The server's binlog dump threads (this class's engines: CdcTestLocks.BINLOG_CLIENTS). */
  List<Long> binlogDumps() throws SQLException {
    List<Long> ids = new ArrayList<>();
    try (Connection c = dataSource().getConnection();
        Statement s = c.createStatement();
        ResultSet rs =
            s.executeQuery(
                "SELECT id FROM information_schema.processlist WHERE command LIKE 'Binlog Dump%'")) {
      while (rs.next()) {
        ids.add(rs.getLong(1));
      }
    }
    return ids;
  }

  KafkaReader reader(String topic) {
    return new KafkaReader(kafka.bootstrapServers(), topic);
  }

  long rows(String where) throws SQLException {
    return RelayTestSupport.rows(dataSource(), where);
  }

  /**
   * Waits until the engine streams: a marker event written now is published. Rows written while the
   * first start's snapshot runs may otherwise come twice (snapshot and log).
   */
  void awaitStreaming() {
    String markers = topic + "-ready";
    kafka.createTopic(markers, 1);
    tx.execute(c -> outbox.append(OutboxMessage.of(markers, "ready", "Ready", "0")));
    try (KafkaReader reader = reader(markers)) {
      assertThat(reader.readAtLeast(1, Duration.ofSeconds(60))).hasSize(1);
    }
  }

  /**
   * Issue 20: a login user's default role set on the server the engine reads ({@code
   * setDefaultRole}, with {@code %1$s} the role and {@code %2$s} the account, as docs/roles.md
   * tells users to run it). The statement goes to the binlog, and Debezium's MariaDB DDL parser
   * stopped on it: the engine failed at that position at every start, and nothing after it was
   * published. A throwaway role and user are created and dropped again.
   */
  void anEventAfterADefaultRoleWasSetOnTheServerIsPublished(String setDefaultRole)
      throws Exception {
    OutboxRelay relay = startRelay();
    awaitStreaming();
    String suffix = String.valueOf(System.nanoTime() % 100_000);
    String role = "'okt_role_" + suffix + "'";
    String account = "'okt_user_" + suffix + "'@'%'";
    try (Connection c = dataSource().getConnection();
        Statement s = c.createStatement()) {
      s.execute("CREATE ROLE " + role);
      s.execute("CREATE USER " + account + " IDENTIFIED BY 'Role-test-pw-1'");
      s.execute("GRANT " + role + " TO " + account);
      s.execute(setDefaultRole.formatted(role, account));
    }
    try {
      tx.execute(c -> outbox.append(OutboxMessage.of(topic, "after-role", "AfterRole", "0")));
      try (KafkaReader reader = reader(topic)) {
        assertThat(reader.readAtLeast(1, Duration.ofSeconds(30)))
            .as("published within 30 s of the default role's statement")
            .hasSize(1);
      }
      assertThat(relay.status().lastError()).isNull();
    } finally {
      try (Connection c = dataSource().getConnection();
          Statement s = c.createStatement()) {
        s.execute("DROP USER IF EXISTS " + account);
        s.execute("DROP ROLE IF EXISTS " + role);
      }
    }
  }

  /**
   * Review: gh-ost's statements for an online {@code ALTER} of the outbox table (MySQL and
   * MariaDB): a shadow table created like it, altered, and renamed into its place. The binlog DDL
   * filter skipped the shadow's {@code ALTER} (its name held the outbox table's only between
   * underscores), the rename gave the outbox table the shadow's columns from before it, and the
   * engine stopped at the next row ("internal schema size 15, but row size 16") at every start. The
   * column is dropped again afterwards.
   */
  void anEventAfterAnOnlineSchemaChangeOnTheServerIsPublished() throws Exception {
    OutboxRelay relay = startRelay();
    awaitStreaming();
    try (Connection c = dataSource().getConnection();
        Statement s = c.createStatement()) {
      s.execute("DROP TABLE IF EXISTS `_outbox_event_gho`, `_outbox_event_del`");
      s.execute("CREATE /* gh-ost */ TABLE `_outbox_event_gho` LIKE `outbox_event`");
      s.execute(
          "ALTER /* gh-ost */ TABLE `_outbox_event_gho` ADD COLUMN gh_note VARCHAR(16) NULL FIRST");
      s.execute(
          "RENAME /* gh-ost */ TABLE `outbox_event` TO `_outbox_event_del`, `_outbox_event_gho` TO"
              + " `outbox_event`");
      s.execute("DROP TABLE `_outbox_event_del`");
    }
    try {
      tx.execute(c -> outbox.append(OutboxMessage.of(topic, "after-swap", "AfterSwap", "0")));
      try (KafkaReader reader = reader(topic)) {
        List<ConsumerRecord<byte[], byte[]>> got = reader.readAtLeast(1, Duration.ofSeconds(30));
        assertThat(got).as("published within 30 s of the rename").hasSize(1);
        assertThat(new String(got.get(0).key(), StandardCharsets.UTF_8)).isEqualTo("after-swap");
      }
      assertThat(relay.status().lastError()).isNull();
    } finally {
      try (Connection c = dataSource().getConnection();
          Statement s = c.createStatement()) {
        s.execute("DROP TABLE IF EXISTS `_outbox_event_gho`, `_outbox_event_del`");
        try (ResultSet rs =
            s.executeQuery(
                "SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = DATABASE()"
                    + " AND table_name = 'outbox_event' AND column_name = 'gh_note'")) {
          rs.next();
          if (rs.getInt(1) > 0) {
            s.execute("ALTER TABLE outbox_event DROP COLUMN gh_note");
          }
        }
      }
    }
  }

  /**
   * A state table of the first version (before V0_6) stops the start when the relay may not add the
   * columns itself, naming the columns and the scripts to apply.
   */
  @Test
  void aStateTableWithoutTheSessionLockColumnStopsTheStartNamingTheScript() throws Exception {
    OutboxRelay first = relay(c -> c, b -> b); // creates what the engine needs (publication, ...)
    first.start();
    first.close();
    OutboxTable old = OutboxTable.of("cdc_state_v4_" + System.nanoTime() % 100_000);
    try (Connection c = dataSource().getConnection();
        Statement s = c.createStatement()) {
      for (String sql : CdcSchema.createStatements(OutboxDialect.detect(c), old)) {
        s.execute(sql);
      }
    }
    OutboxRelay relay = relay(c -> c.autoCreate(false).stateTable(old), b -> b);
    assertThatThrownBy(relay::start)
        .hasMessageContaining(
            "lacks column(s) [session_lock_owner, heartbeat_at, relay_state, circuit_state]")
        .hasMessageContaining("V0_6__outboxkit_cdc_session_lock.sql")
        .hasMessageContaining("V0_11__outboxkit_cdc_relay_state.sql")
        .hasMessageContaining("outbox.relay.cdc.auto-create=true");
  }

  @Test
  void publishesOnlyCommittedEventsAsTheVeryRecordsThePollingRelaySends() throws Exception {
    // The same rows go out twice: by CDC to cdc-<topic> (rows kept), then by the polling relay to
    // poll-<topic>. Consumers must not be able to tell the two apart.
    kafka.createTopic("cdc-" + topic, 4);
    kafka.createTopic("poll-" + topic, 4);
    List<OutboxEvent> committed = appendSamples(tx, outbox, topic);
    OutboxRelay cdc =
        relay(c -> c.deletePublished(false), b -> b.topicRouter(TopicRouter.prefixed("cdc-")));
    cdc.start();
    List<ConsumerRecord<byte[], byte[]>> viaCdc;
    try (KafkaReader reader = reader("cdc-" + topic)) {
      reader.readAtLeast(3, Duration.ofSeconds(60));
      viaCdc = reader.readFor(Duration.ofMillis(500));
    }
    cdc.close();
    OutboxRelay polling =
        TestRelayBuilder.relay()
            .dataSource(dataSource())
            .bootstrapServers(kafka.bootstrapServers())
            .topicRouter(TopicRouter.prefixed("poll-"))
            .leases(Duration.ofSeconds(2), Duration.ofMillis(250))
            .pollInterval(Duration.ofMillis(5), Duration.ofMillis(100))
            .meterRegistry(new SimpleMeterRegistry())
            .build();
    relays.add(polling);
    polling.start();
    List<ConsumerRecord<byte[], byte[]>> viaPolling;
    try (KafkaReader reader = reader("poll-" + topic)) {
      viaPolling = reader.readAtLeast(3, Duration.ofSeconds(30));
    }

    Map<String, ConsumerRecord<byte[], byte[]>> polled = assertSameRecords(viaCdc, viaPolling, 3);
    for (OutboxEvent event : committed) {
      ConsumerRecord<byte[], byte[]> record = polled.get(event.id().toString());
      assertThat(text(record.key())).isEqualTo(event.aggregateId());
      assertThat(record.value()).isEqualTo(event.payload());
      assertThat(record.timestamp()).isEqualTo(event.createdAt().toEpochMilli());
    }
    List<String> orderOne =
        viaCdc.stream()
            .filter(r -> text(r.key()).equals("order-1"))
            .map(r -> headers(r).get(OutboxHeaders.EVENT_TYPE))
            .toList();
    assertThat(orderOne).containsExactly("OrderPlaced", "OrderPaid");
    assertThat(headers(viaCdc.get(0))).containsKey(OutboxHeaders.EVENT_ID);
  }

  @Test
  void concurrentWritersEventsArriveOnceInCommitOrderPerKeyAndRowsAreDeleted() throws Exception {
    int keys = 100;
    int perKey = 60;
    int writers = 4;
    startRelay();
    awaitStreaming();
    ExecutorService pool = Executors.newFixedThreadPool(writers);
    List<Future<?>> writing = new ArrayList<>();
    for (int w = 0; w < writers; w++) {
      int writer = w;
      writing.add(
          pool.submit(
              () -> {
                for (int n = 0; n < perKey; n++) {
                  List<OutboxMessage> batch = new ArrayList<>();
                  for (int k = writer; k < keys; k += writers) {
                    batch.add(OutboxMessage.of(topic, "key-" + k, "Step", n + ":w" + writer));
                  }
                  tx.execute(c -> outbox.appendAll(batch));
                  if (n % 10 == 0) {
                    try {
                      tx.execute(
                          c -> {
                            outbox.appendAll(batch);
                            throw new IllegalStateException("rolled back");
                          });
                    } catch (IllegalStateException expected) {
                      // never published
                    }
                  }
                }
              }));
    }
    for (Future<?> f : writing) {
      f.get();
    }
    pool.shutdown();
    int total = keys * perKey;
    try (KafkaReader reader = reader(topic)) {
      reader.readAtLeast(total, Duration.ofSeconds(120));
      Ordering ordering = Ordering.of(reader.readFor(Duration.ofSeconds(1)));
      assertThat(ordering.violations()).isEmpty();
      assertThat(ordering.distinct()).isEqualTo(total);
      assertThat(ordering.duplicates()).isZero();
    }
    await().atMost(Duration.ofSeconds(30)).until(() -> rows("1 = 1") == 0);
  }

  @Test
  void rowsPendingBeforeTheFirstStartAndRowsDeletedByTheirWriterArePublished() throws Exception {
    // Pending when CDC starts (e.g. left by the polling relay): published by the initial snapshot.
    tx.execute(c -> outbox.append(OutboxMessage.of(topic, "old", "BeforeCdc", "0")));
    startRelay();
    try (KafkaReader reader = reader(topic)) {
      assertThat(reader.readAtLeast(1, Duration.ofSeconds(60))).hasSize(1);
    }
    // Written and deleted in one transaction (CDC-only deployments keep the table empty). Only
    // once the slot exists (here: the snapshot was published): before that, a deleted row would
    // be in neither the snapshot nor the stream.
    tx.inTransaction(
        c -> {
          OutboxEvent e = outbox.append(OutboxMessage.of(topic, "gone", "DeletedAtOnce", "0"));
          try (Statement s = c.createStatement()) {
            s.execute("DELETE FROM outbox_event WHERE aggregateid = 'gone'");
          }
          return e;
        });
    try (KafkaReader reader = reader(topic)) {
      List<ConsumerRecord<byte[], byte[]>> records = reader.readAtLeast(2, Duration.ofSeconds(60));
      assertThat(records.stream().map(r -> text(r.key())).toList())
          .containsExactlyInAnyOrder("old", "gone");
    }
  }

  /**
   * The CDC lease is measured as polling's leases are: both instances time their lease heartbeats
   * (the active one's renewals, the standby's attempts to take the lease), the active one's
   * heartbeat age stays within the lease ttl, and the standby, with nothing to renew, reports no
   * age (NaN) rather than one that grows for ever.
   */
  @Test
  void theActiveRelayReportsItsLeaseHeartbeatAgeAndTheStandbyNone() {
    SimpleMeterRegistry activeMeters = new SimpleMeterRegistry();
    SimpleMeterRegistry standbyMeters = new SimpleMeterRegistry();
    OutboxRelay active = relay(c -> c, b -> b.meterRegistry(activeMeters));
    active.start();
    await().atMost(Duration.ofSeconds(60)).until(() -> active.status().active());
    OutboxRelay standby = relay(c -> c, b -> b.meterRegistry(standbyMeters));
    standby.start();
    await()
        .atMost(Duration.ofSeconds(30))
        .until(
            () ->
                leaseHeartbeats(standbyMeters, "succeeded") >= 3
                    && leaseHeartbeats(activeMeters, "succeeded") >= 3);

    assertThat(standby.status().active()).isFalse();
    assertThat(leaseHeartbeatAge(activeMeters))
        .as("the active instance's heartbeat age (ttl 2 s, heartbeats every 250 ms)")
        .isBetween(0.0, 2.0);
    assertThat(leaseHeartbeats(activeMeters, "failed")).isZero();
    assertThat(leaseHeartbeatAge(standbyMeters)).as("the standby's heartbeat age").isNaN();
  }

  private static long leaseHeartbeats(MeterRegistry registry, String outcome) {
    return registry
        .get("outbox.relay.lease.heartbeats")
        .tag("table", "outbox_event")
        .tag("outcome", outcome)
        .timer()
        .count();
  }

  private static double leaseHeartbeatAge(MeterRegistry registry) {
    return registry
        .get("outbox.relay.lease.heartbeat.age")
        .tag("table", "outbox_event")
        .gauge()
        .value();
  }

  @Test
  void aStandbyTakesOverWhenTheActiveOneStopsAndTheyNeverPublishTogether() throws Exception {
    OutboxRelay first = startRelay();
    OutboxRelay second = startRelay();
    await()
        .atMost(Duration.ofSeconds(60))
        .until(() -> first.status().active() || second.status().active());
    AtomicBoolean both = new AtomicBoolean();
    AtomicBoolean watching = new AtomicBoolean(true);
    Thread watcher =
        new Thread(
            () -> {
              while (watching.get()) {
                if (first.status().active() && second.status().active()) {
                  both.set(true);
                }
                Thread.onSpinWait();
              }
            });
    watcher.start();
    OutboxRelay active = first.status().active() ? first : second;
    OutboxRelay standby = active == first ? second : first;
    appendCounted(0, 200, 10);
    try (KafkaReader reader = reader(topic)) {
      reader.readAtLeast(200, Duration.ofSeconds(60));
    }
    long stopped = System.nanoTime();
    active.close();
    await().atMost(Duration.ofSeconds(30)).until(() -> standby.status().active());
    Duration takeover = Duration.ofNanos(System.nanoTime() - stopped);
    appendCounted(200, 400, 10);
    try (KafkaReader reader = reader(topic)) {
      reader.readAtLeast(400, Duration.ofSeconds(60));
      Ordering ordering = Ordering.of(reader.readFor(Duration.ofMillis(500)));
      assertThat(ordering.violations()).isEmpty();
      assertThat(ordering.distinct()).isEqualTo(400);
    }
    watching.set(false);
    watcher.join();
    assertThat(both).as("two engines active at once").isFalse();
    // Released on close: the standby takes over on its next lease check, not after the ttl.
    assertThat(takeover).isLessThan(Duration.ofSeconds(15));
  }

  @Test
  void aPoisonEventIsParkedAndTheStreamMovesOn() throws Exception {
    String missing = "missing" + System.nanoTime();
    OutboxRelay relay = relay(c -> c, b -> b.maxAttempts(3));
    relay.start();
    // 20 KB of random bytes: stored out of line (TOAST) on PostgreSQL (finding 5).
    byte[] payload = new byte[20_000];
    new java.util.Random(42).nextBytes(payload);
    tx.execute(c -> outbox.append(OutboxMessage.of(missing, "p", "Poison", payload)));
    tx.execute(c -> outbox.append(OutboxMessage.of(topic, "ok", "Fine", "0")));
    try (KafkaReader reader = reader(topic)) {
      assertThat(reader.readAtLeast(1, Duration.ofSeconds(60))).hasSize(1);
    }
    await().atMost(Duration.ofSeconds(30)).until(() -> relay.parkedEvents().count() == 1);
    assertThat(relay.parkedEvents().list(10).get(0).lastError()).isNotBlank();
    // Replaying after the topic exists publishes it, with every byte of the payload.
    kafka.createTopic(missing, 1);
    relay.parkedEvents().replayAll();
    try (KafkaReader reader = reader(missing)) {
      List<ConsumerRecord<byte[], byte[]>> replayed = reader.readAtLeast(1, Duration.ofSeconds(60));
      assertThat(replayed).hasSize(1);
      assertThat(replayed.get(0).value()).isEqualTo(payload);
    }
  }

  /**
   * Issue 19, finding 1: a broker failure (here no metadata for a topic that does not exist yet)
   * counts no attempt, but the retry is recorded on the row. That update must not be read as a new
   * event: before, every retry write was published again once the topic existed, on PostgreSQL with
   * Debezium's placeholder instead of the out-of-line (TOASTed) payload. A marker written after the
   * first record arrived comes after every retry write in the change log, so once it is read, every
   * copy would have been too.
   */
  @Test
  void retriesRecordedOnTheRowAreNotPublishedAgain() throws Exception {
    String late = "late" + System.nanoTime();
    OutboxRelay relay = relay(c -> c, b -> b.verifyTopics(false));
    relay.start();
    awaitStreaming();
    byte[] payload = new byte[20_000];
    new java.util.Random(7).nextBytes(payload);
    tx.execute(c -> outbox.append(OutboxMessage.of(late, "p", "Late", payload)));
    await()
        .atMost(Duration.ofSeconds(60))
        .until(() -> rows("aggregatetype = '" + late + "' AND last_error IS NOT NULL") == 1);
    kafka.createTopic(late, 1);
    try (KafkaReader reader = reader(late)) {
      reader.readAtLeast(1, Duration.ofSeconds(60));
      tx.execute(c -> outbox.append(OutboxMessage.of(late, "marker", "Marker", "0")));
      List<ConsumerRecord<byte[], byte[]>> records =
          reader.readUntil(
              r -> r.stream().anyMatch(m -> text(m.key()).equals("marker")),
              Duration.ofSeconds(60));
      List<ConsumerRecord<byte[], byte[]>> ofTheEvent =
          records.stream().filter(r -> text(r.key()).equals("p")).toList();
      assertThat(records).as("the marker").anyMatch(r -> text(r.key()).equals("marker"));
      assertThat(ofTheEvent).as("records of the one event").hasSize(1);
      assertThat(ofTheEvent.get(0).value()).isEqualTo(payload);
    }
    assertThat(relay.parkedEvents().count()).isZero();
  }

  /**
   * Finding 14: a failing event's attempts are recorded on its row, so an engine started after a
   * restart goes on counting. The first relay fails the event twice (its third try would be 30 s
   * later); the second, whose next retry would be an hour away, parks it at its first failure: the
   * third attempt. Counted from zero again, it would wait that hour.
   */
  @Test
  void attemptsCountedBeforeARestartCountTowardParking() throws Exception {
    String missing = "missing" + System.nanoTime();
    OutboxRelay first =
        relay(
            c -> c,
            b -> b.maxAttempts(3).retryBackoff(Duration.ofMillis(100), 300.0, Duration.ofHours(1)));
    first.start();
    tx.execute(c -> outbox.append(OutboxMessage.of(missing, "p", "Poison", "0")));
    await().atMost(Duration.ofSeconds(60)).until(() -> attemptsOnRows(missing).equals(List.of(2)));
    first.close();
    assertThat(first.parkedEvents().count()).isZero();
    OutboxRelay second =
        relay(
            c -> c,
            b -> b.maxAttempts(3).retryBackoff(Duration.ofHours(1), 2.0, Duration.ofHours(1)));
    second.start();
    await().atMost(Duration.ofSeconds(60)).until(() -> second.parkedEvents().count() == 1);
    assertThat(second.parkedEvents().list(10).get(0).attempts()).isEqualTo(3);
  }

  /** The attempts recorded on the rows of an aggregate type. */
  private List<Integer> attemptsOnRows(String aggregateType) throws SQLException {
    List<Integer> attempts = new ArrayList<>();
    try (Connection c = dataSource().getConnection();
        PreparedStatement s =
            c.prepareStatement("SELECT attempts FROM outbox_event WHERE aggregatetype = ?")) {
      s.setString(1, aggregateType);
      try (ResultSet rs = s.executeQuery()) {
        while (rs.next()) {
          attempts.add(rs.getInt(1));
        }
      }
    }
    return attempts;
  }

  @Test
  void switchingFromCdcToPollingPublishesWhatCdcLeftAndNothingTwice() throws Exception {
    OutboxRelay cdc = startRelay();
    appendCounted(0, 50, 5);
    try (KafkaReader reader = reader(topic)) {
      reader.readAtLeast(50, Duration.ofSeconds(60));
    }
    await().atMost(Duration.ofSeconds(30)).until(() -> rows("1 = 1") == 0);
    // Stop CDC with events still to publish: they stay PENDING in the table.
    cdc.pause();
    appendCounted(50, 100, 5);
    cdc.close();
    OutboxRelay polling =
        TestRelayBuilder.relay()
            .dataSource(dataSource())
            .bootstrapServers(kafka.bootstrapServers())
            .leases(Duration.ofSeconds(2), Duration.ofMillis(250))
            .pollInterval(Duration.ofMillis(5), Duration.ofMillis(100))
            .meterRegistry(new SimpleMeterRegistry())
            .build();
    relays.add(polling);
    polling.start();
    try (KafkaReader reader = reader(topic)) {
      reader.readAtLeast(100, Duration.ofSeconds(60));
      Ordering ordering = Ordering.of(reader.readFor(Duration.ofMillis(500)));
      assertThat(ordering.violations()).isEmpty();
      assertThat(ordering.distinct()).isEqualTo(100);
      assertThat(ordering.duplicates()).isZero();
    }
    await().atMost(Duration.ofSeconds(30)).until(() -> rows("1 = 1") == 0);
  }

  @Test
  void aPausedRelayPublishesNothingWhenItIsClosed() throws Exception {
    OutboxRelay cdc = startRelay();
    appendCounted(0, 10, 5);
    try (KafkaReader reader = reader(topic)) {
      reader.readAtLeast(10, Duration.ofSeconds(60));
    }
    cdc.pause();
    appendCounted(10, 30, 5);
    // Long enough for the engine to hand the new events to the paused relay, which holds them.
    Thread.sleep(2_000);
    cdc.close();
    try (KafkaReader reader = reader(topic)) {
      assertThat(reader.readFor(Duration.ofSeconds(2)))
          .as("records of a relay paused before the events were committed, after close()")
          .hasSize(10);
    }
    assertThat(rows("1 = 1")).isEqualTo(20);
  }

  @Test
  void lagIsTheSourceLagAndRisesWhilePaused() throws Exception {
    OutboxRelay relay = startRelay();
    awaitStreaming();
    relay.pause();
    tx.execute(c -> outbox.append(OutboxMessage.of(topic, "late", "Waiting", "0")));
    await()
        .atMost(Duration.ofSeconds(30))
        .until(
            () ->
                relay.status().lag() != null
                    && relay.status().lag().compareTo(Duration.ofMillis(1500)) >= 0);
    assertThat(relay.status().backlog()).isGreaterThanOrEqualTo(1);
    relay.resume();
    try (KafkaReader reader = reader(topic)) {
      assertThat(reader.readAtLeast(1, Duration.ofSeconds(30))).hasSize(1);
    }
    await()
        .atMost(Duration.ofSeconds(30))
        .until(
            () ->
                relay.status().lag() != null
                    && relay.status().lag().compareTo(Duration.ofMillis(500)) < 0);
    assertThat(relay.status().stalled()).as("a relay that publishes is not stalled").isNull();
  }

  /**
   * Finding 11: a backlog whose heap order differs from {@code seq} (rows updated after they were
   * written, as the polling relay's retries do) is published by the first start's snapshot in
   * {@code seq} order per key.
   */
  @Test
  void theFirstStartsSnapshotPublishesABacklogInSeqOrder() throws Exception {
    appendCounted(0, 40, 2);
    try (Connection c = dataSource().getConnection();
        Statement s = c.createStatement()) {
      // New row versions go to the end of the heap on PostgreSQL.
      s.execute(
          "UPDATE outbox_event SET last_error = 'retried' WHERE seq IN (SELECT seq FROM (SELECT"
              + " seq FROM outbox_event ORDER BY seq LIMIT 6) AS oldest)");
    }
    startRelay();
    try (KafkaReader reader = reader(topic)) {
      List<ConsumerRecord<byte[], byte[]>> records =
          reader.readUntil(r -> Ordering.of(r).distinct() >= 40, Duration.ofSeconds(60));
      Ordering ordering = Ordering.of(records);
      assertThat(ordering.violations()).isEmpty();
      assertThat(ordering.distinct()).isEqualTo(40);
    }
  }

  /**
   * Issue 12: events committed while the first start's snapshot runs are in the snapshot, the
   * change log after the snapshot's position, or both; never in neither. A writer commits one event
   * per transaction without pause from before the engine starts until it streams; every one of them
   * must be published, in order per key.
   */
  @Test
  void eventsCommittedWhileTheFirstStartsSnapshotRunsAreAllPublished() throws Exception {
    int keys = 20;
    appendCounted(0, 1000, keys);
    AtomicBoolean writing = new AtomicBoolean(true);
    AtomicInteger written = new AtomicInteger(1000);
    ExecutorService writer = Executors.newSingleThreadExecutor();
    Future<?> done =
        writer.submit(
            () -> {
              while (writing.get()) {
                int n = written.get();
                appendCounted(n, n + 1, keys);
                written.incrementAndGet();
              }
            });
    try {
      // Let the writer run before, during and after the snapshot: until it has been streaming.
      await().atMost(Duration.ofSeconds(5)).until(() -> written.get() >= 1100);
      OutboxRelay relay = startRelay();
      await().atMost(Duration.ofSeconds(60)).until(() -> relay.status().active());
      try (KafkaReader reader = reader(topic)) {
        reader.readUntil(r -> Ordering.of(r).distinct() >= 1000, Duration.ofSeconds(60));
      }
      int beforeStreaming = written.get();
      await().atMost(Duration.ofSeconds(30)).until(() -> written.get() >= beforeStreaming + 200);
    } finally {
      writing.set(false);
      done.get();
      writer.shutdown();
    }
    int total = written.get();
    try (KafkaReader reader = reader(topic)) {
      List<ConsumerRecord<byte[], byte[]>> records =
          reader.readUntil(r -> Ordering.of(r).distinct() >= total, Duration.ofSeconds(60));
      records = reader.readFor(Duration.ofMillis(500));
      Ordering ordering = Ordering.of(records);
      assertThat(ordering.violations()).as("events missing or out of order per key").isEmpty();
      assertThat(ordering.distinct()).isEqualTo(total);
      System.out.printf(
          "[cdc snapshot] %s: %d events written around the first start, all published (%d"
              + " duplicates)%n",
          dialect.name(), total, ordering.duplicates());
    }
  }

  /**
   * Review finding (issue 11): a start that fails after the meters were registered (here the Kafka
   * producer refuses its properties) must take them off the registry again. Micrometer hands a
   * gauge registered under the same name and tags back to the next relay on that registry, so a
   * failed relay's dead gauges would otherwise stand in for the live one's for good.
   */
  @Test
  void aFailedStartLeavesNoMetersAndTheNextRelayOnTheRegistryReportsItsOwn() {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    OutboxRelay failed =
        relay(
            c -> c,
            b ->
                b.meterRegistry(registry)
                    .producerProperty("partitioner.class", "no.such.Partitioner"));
    assertThatThrownBy(failed::start).hasMessageContaining("outbox.relay.kafka");
    assertThat(failed.status().state()).isEqualTo(RelayStatus.State.STOPPED);
    assertThat(registry.getMeters()).as("meters left by a failed start").isEmpty();

    OutboxRelay relay = relay(c -> c, b -> b.meterRegistry(registry));
    relay.start();
    await().atMost(Duration.ofSeconds(60)).until(() -> relay.status().active());
    await()
        .atMost(Duration.ofSeconds(10))
        .until(() -> registry.get("outbox.relay.partitions.owned").gauge().value() > 0);
    await()
        .atMost(Duration.ofSeconds(10))
        .until(() -> registry.get("outbox.backlog").gauge().value() >= 0);
    await()
        .atMost(Duration.ofSeconds(10))
        .until(
            () ->
                PollingRelayContractTests.measurements(registry, "backlog") >= 1
                    && PollingRelayContractTests.measurements(registry, "parked") >= 1);
    if (dialect.name().equals("postgresql")) {
      await()
          .atMost(Duration.ofSeconds(10))
          .until(() -> registry.get("outbox.cdc.slot.lag.bytes").gauge().value() >= 0);
    }
  }

  /**
   * Finding 4: a URL the engine cannot use (several hosts) fails at start-up naming the property,
   * instead of a relay that holds the lease with no engine running.
   */
  @Test
  void refusesToStartWithAUrlOfSeveralHosts() {
    String scheme = dialect.name().equals("postgresql") ? "postgresql" : "mariadb";
    TestDatabase db = database().database();
    OutboxRelay relay =
        TestRelayBuilder.relay()
            .dataSource(dataSource())
            .bootstrapServers(kafka.bootstrapServers())
            .cdc(
                CdcOptions.builder(
                        "jdbc:" + scheme + "://h1.invalid,h2.invalid/db",
                        db.username(),
                        db.password())
                    .name(engine)
                    .autoCreate(true)
                    .build())
            .meterRegistry(new SimpleMeterRegistry())
            .build();
    relays.add(relay);
    assertThatThrownBy(relay::start).hasMessageContaining("outbox.relay.cdc.url");
    assertThat(relay.status().ownedPartitions()).isEmpty();
  }

  /**
   * Finding 10: a change whose row cannot be read as an event (headers that are not JSON) is parked
   * and the stream goes on, instead of the engine failing and restarting in a loop.
   */
  @Test
  void anUndecodableChangeIsParkedAndTheStreamGoesOn() throws Exception {
    OutboxRelay relay = relay(c -> c.deletePublished(false), b -> b);
    relay.start();
    awaitStreaming();
    tx.execute(c -> insertRaw(c, UUID.randomUUID(), "broken", "{not json"));
    appendCounted(0, 20, 4);
    try (KafkaReader reader = reader(topic)) {
      List<ConsumerRecord<byte[], byte[]>> records =
          reader.readUntil(r -> r.size() >= 20, Duration.ofSeconds(60));
      assertThat(records.stream().filter(r -> !text(r.key()).equals("broken"))).hasSize(20);
    }
    await()
        .atMost(Duration.ofSeconds(30))
        .until(() -> rows("status = 'DEAD' AND aggregateid = 'broken'") == 1);
    assertThat(relay.status().state()).isEqualTo(RelayStatus.State.RUNNING);
  }

  /**
   * Issue 19, finding 10: an undecodable change whose row its writer deleted in the same
   * transaction (CDC-only deployments keep the table empty) is parked from the change itself: a
   * {@code DEAD} row with the change's columns and the error, which an operator sees, mends and
   * replays. Before, it was logged as skipped and counted as parked, with nothing to replay.
   */
  @Test
  void anUndecodableChangeWhoseRowIsGoneIsParkedFromTheChange() throws Exception {
    OutboxRelay relay = startRelay();
    awaitStreaming();
    UUID id = UUID.randomUUID();
    tx.inTransaction(
        c -> {
          insertRaw(c, id, "gone-broken", "{not json");
          try (Statement s = c.createStatement()) {
            s.execute("DELETE FROM outbox_event WHERE aggregateid = 'gone-broken'");
          }
          return null;
        });
    appendCounted(0, 4, 2);
    try (KafkaReader reader = reader(topic)) {
      assertThat(reader.readAtLeast(4, Duration.ofSeconds(60))).hasSize(4);
    }
    await().atMost(Duration.ofSeconds(30)).until(() -> relay.parkedEvents().count() == 1);
    ParkedEvent parked = relay.parkedEvents().list(10).get(0);
    assertThat(parked.id()).isEqualTo(id);
    assertThat(parked.aggregateId()).isEqualTo("gone-broken");
    assertThat(parked.lastError()).contains("Undecodable");
    // The operator mends the headers and replays it: it is published like any parked event.
    try (Connection c = dataSource().getConnection();
        Statement s = c.createStatement()) {
      s.execute("UPDATE outbox_event SET headers = '{}' WHERE aggregateid = 'gone-broken'");
    }
    assertThat(relay.parkedEvents().replay(List.of(id))).isEqualTo(1);
    try (KafkaReader reader = reader(topic)) {
      List<ConsumerRecord<byte[], byte[]>> records =
          reader.readUntil(
              r -> r.stream().anyMatch(m -> text(m.key()).equals("gone-broken")),
              Duration.ofSeconds(60));
      assertThat(records.stream().filter(r -> text(r.key()).equals("gone-broken"))).hasSize(1);
    }
    assertThat(relay.status().state()).isEqualTo(RelayStatus.State.RUNNING);
  }

  /**
   * Inserts an outbox row as the writer would, but with raw {@code headers}: a row the relay cannot
   * read as an event when they are not a JSON object.
   */
  void insertRaw(Connection c, UUID id, String key, String headers) throws SQLException {
    try (PreparedStatement s =
        c.prepareStatement(
            "INSERT INTO outbox_event (id, aggregatetype, aggregateid, type, payload, headers,"
                + " created_at, partition_no) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")) {
      dialect.setUuid(s, 1, id);
      s.setString(2, topic);
      s.setString(3, key);
      s.setString(4, "Broken");
      s.setBytes(5, "0".getBytes(StandardCharsets.UTF_8));
      s.setString(6, headers);
      dialect.setInstant(s, 7, Instant.now());
      s.setInt(8, 0);
      s.executeUpdate();
    }
  }
}
