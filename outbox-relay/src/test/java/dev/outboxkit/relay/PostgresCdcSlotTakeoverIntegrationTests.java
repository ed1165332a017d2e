package dev.outboxkit.relay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.outboxkit.outbox.Outbox;
import dev.outboxkit.outbox.OutboxEvent;
import dev.outboxkit.outbox.OutboxMessage;
import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.jdbc.JdbcTransactions;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.relay.cdc.CdcOptions;
import dev.outboxkit.relay.cdc.CdcSchema;
import dev.outboxkit.test.KafkaTestBroker;
import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.TestDatabase;
import dev.outboxkit.test.TestDatabaseExtension;
import dev.outboxkit.test.TestServers;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.parallel.Isolated;
import org.postgresql.PGConnection;
import org.postgresql.PGProperty;
import org.postgresql.replication.PGReplicationStream;

/**
 * Issue 19, item 4: a CDC takeover from a paused (SIGSTOP) active relay took 9.7 s at the median
 * and 17 s at most with a 3 s lease. The frozen process still holds the replication slot through
 * its walsender session, which the server keeps until {@code wal_sender_timeout} (60 s by default):
 * the new holder's engine is refused ("replication slot ... is active for PID ...") and Debezium
 * retries only every {@code slot.retry.delay.ms} (10 s by default). Here the frozen holder is a
 * replication stream the test opens on the slot and never reads from; the lease is free, so the
 * time measured is the new engine's start and slot acquisition. It must stay within the lease TTL
 * plus 3 s.
 */
@ServerTest
@Isolated
class PostgresCdcSlotTakeoverIntegrationTests {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.postgres();

  static final KafkaTestBroker kafka = TestServers.kafka();

  private static final Duration TTL = Duration.ofSeconds(2);

  private final List<OutboxRelay> relays = new CopyOnWriteArrayList<>();
  private final String engine = "outboxkit_slot_" + System.nanoTime() % 100_000;

  @AfterEach
  void closeRelays() throws SQLException {
    relays.forEach(OutboxRelay::close);
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement()) {
      s.execute(
          "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = '"
              + engine
              + "' AND active_pid IS NOT NULL");
      await().atMost(Duration.ofSeconds(10)).until(() -> !slotActive());
      s.execute(
          "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE"
              + " slot_name = '"
              + engine
              + "'");
    }
  }

  @Test
  void aNewHolderTakesTheSlotFromAFrozenHoldersSessionWithinTheLeaseTtlPlusThreeSeconds()
      throws Exception {
    OutboxDialect dialect = RelayTables.create(db.dataSource());
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement()) {
      CdcSchema.create(c, dialect, OutboxTable.of("outbox_cdc_state"));
      s.execute("DELETE FROM outbox_event");
    }
    String topic = "slot" + System.nanoTime() % 100_000;
    kafka.createTopic(topic, 1);
    JdbcTransactions tx = JdbcTransactions.of(db.dataSource());
    Outbox outbox = Outbox.builder().connectionProvider(tx).dialect(dialect).build();

    // A first relay makes the slot and the publication, publishes once, and leaves.
    OutboxRelay first = relay();
    first.start();
    try (KafkaReader reader = new KafkaReader(kafka.bootstrapServers(), topic)) {
      tx.inTransaction(c -> outbox.append(OutboxMessage.of(topic, "k", "First", "{}")));
      assertThat(reader.readAtLeast(1, Duration.ofSeconds(60))).hasSize(1);
    }
    first.close();
    await().atMost(Duration.ofSeconds(20)).until(() -> !slotActive());

    // The frozen holder: a session streaming from the slot that never reads or answers.
    Connection frozen = replicationConnection();
    try {
      PGReplicationStream stream =
          frozen
              .unwrap(PGConnection.class)
              .getReplicationAPI()
              .replicationStream()
              .logical()
              .withSlotName(engine)
              .withSlotOption("proto_version", 1)
              .withSlotOption("publication_names", "pub_" + engine)
              .start();
      assertThat(stream.isClosed()).isFalse();
      assertThat(slotActive()).as("the slot held by the frozen session").isTrue();
      OutboxEvent event =
          tx.inTransaction(c -> outbox.append(OutboxMessage.of(topic, "k", "Second", "{}")));
      try (KafkaReader reader = new KafkaReader(kafka.bootstrapServers(), topic)) {
        long started = System.nanoTime();
        OutboxRelay successor = relay();
        successor.start();
        List<String> ids =
            List.copyOf(
                RelayTestSupport.eventIds(
                    reader.readUntil(r -> r.size() >= 2, Duration.ofSeconds(60))));
        Duration took = Duration.ofNanos(System.nanoTime() - started);
        System.out.printf("[slot-takeover] the successor published after %d ms%n", took.toMillis());
        assertThat(ids).contains(event.id().toString());
        assertThat(took)
            .as("start to first record with the slot held by a frozen session")
            .isLessThanOrEqualTo(TTL.plusSeconds(3));
      }
    } finally {
      try {
        frozen.close(); // ended by the successor's takeover, if it took the slot
      } catch (SQLException e) {
        System.out.printf("[slot-takeover] the frozen session was ended: %s%n", e);
      }
    }
  }

  private OutboxRelay relay() {
    TestDatabase database = db.database();
    OutboxRelay relay =
        TestRelayBuilder.relay()
            .dataSource(db.dataSource())
            .bootstrapServers(kafka.bootstrapServers())
            .cdc(
                CdcOptions.builder(database.jdbcUrl(), database.username(), database.password())
                    .name(engine)
                    .publication("pub_" + engine)
                    .autoCreate(true)
                    .heartbeatInterval(Duration.ofMillis(500))
                    .build())
            .leases(TTL, Duration.ofMillis(250))
            .metricsInterval(Duration.ofMillis(100))
            .retryBackoff(Duration.ofMillis(100), 2.0, Duration.ofSeconds(1))
            .meterRegistry(new SimpleMeterRegistry())
            .shutdownTimeout(Duration.ofSeconds(10))
            .build();
    relays.add(relay);
    return relay;
  }

  private Connection replicationConnection() throws SQLException {
    TestDatabase database = db.database();
    Properties props = new Properties();
    PGProperty.USER.set(props, database.username());
    PGProperty.PASSWORD.set(props, database.password());
    PGProperty.ASSUME_MIN_SERVER_VERSION.set(props, "10");
    PGProperty.REPLICATION.set(props, "database");
    PGProperty.PREFER_QUERY_MODE.set(props, "simple");
    return DriverManager.getConnection(database.jdbcUrl(), props);
  }

  private boolean slotActive() throws SQLException {
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement();
        ResultSet rs =
            s.executeQuery(
                "SELECT active FROM pg_replication_slots WHERE slot_name = '" + engine + "'")) {
      return rs.next() && rs.getBoolean(1);
    }
  }
}
