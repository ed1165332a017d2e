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
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.parallel.Isolated;

/**
 * Issue 19, remaining part of finding 3: not only the publishing threads, every long-lived thread
 * of a relay may die of an {@link Error}. A lease thread that dies would end the heartbeats
 * silently: the status says RUNNING (health UP) while the leases lapse, nobody is told, and in CDC
 * mode the engine goes on streaming without renewals. The relay must fail over cleanly instead:
 * status FAILED naming the error, its leases released, and another instance publishes.
 *
 * <p>The error is injected where a real one would come from: the lease thread's next use of the
 * (real) database, as a {@link LinkageError} (a class missing at run time).
 */
@ServerTest
@Isolated
class LeaseThreadDeathIntegrationTests {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.postgres();

  static final KafkaTestBroker kafka = TestServers.kafka();

  private final List<OutboxRelay> relays = new CopyOnWriteArrayList<>();
  private String engine;

  @AfterEach
  void closeRelays() throws SQLException {
    relays.forEach(OutboxRelay::close);
    if (engine != null) {
      try (Connection c = db.dataSource().getConnection();
          Statement s = c.createStatement()) {
        s.execute(
            "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE"
                + " slot_name = '"
                + engine
                + "' AND NOT active");
      }
    }
  }

  @Test
  void aPollingLeaseThreadKilledByAnErrorFailsTheRelayOver() throws Exception {
    OutboxDialect dialect = RelayTables.create(db.dataSource());
    RelayTestSupport.clearRelayTables(db.dataSource());
    String topic = "leasedeath" + System.nanoTime() % 100_000;
    kafka.createTopic(topic, 1);
    AtomicBoolean armed = new AtomicBoolean();
    DataSource failing = failingOn(db.dataSource(), "outboxkit-relay-leases-", armed);
    OutboxRelay doomed =
        relay(RelayTestSupport.fastRelay(failing, kafka.bootstrapServers()).instanceId("doomed"));
    doomed.start();
    await()
        .atMost(Duration.ofSeconds(20))
        .until(() -> doomed.status().ownedPartitions().size() == 16);

    armed.set(true);

    await()
        .atMost(Duration.ofSeconds(20))
        .untilAsserted(
            () -> assertThat(doomed.status().state()).isEqualTo(RelayStatus.State.FAILED));
    assertThat(doomed.status().lastError()).contains("LinkageError").contains("leases");
    await()
        .atMost(Duration.ofSeconds(20))
        .until(() -> RelayTestSupport.leasesOwnedBy(db.dataSource(), "doomed") == 0);

    OutboxEvent event = appendOne(dialect, topic);
    OutboxRelay survivor =
        relay(
            RelayTestSupport.fastRelay(db.dataSource(), kafka.bootstrapServers())
                .instanceId("survivor"));
    survivor.start();
    try (KafkaReader reader = new KafkaReader(kafka.bootstrapServers(), topic)) {
      assertThat(RelayTestSupport.eventIds(reader.readAtLeast(1, Duration.ofSeconds(30))))
          .containsExactly(event.id().toString());
    }
    assertThat(doomed.status().state()).isEqualTo(RelayStatus.State.FAILED);
  }

  @Test
  void aCdcLeaseThreadKilledByAnErrorStopsTheEngineAndReleasesTheLease() throws Exception {
    OutboxDialect dialect = RelayTables.create(db.dataSource());
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement()) {
      CdcSchema.create(c, dialect, OutboxTable.of("outbox_cdc_state"));
      s.execute("DELETE FROM outbox_event");
    }
    String topic = "cdcleasedeath" + System.nanoTime() % 100_000;
    kafka.createTopic(topic, 1);
    engine = "outboxkit_ld_" + System.nanoTime() % 100_000;
    AtomicBoolean armed = new AtomicBoolean();
    OutboxRelay doomed = cdcRelay(failingOn(db.dataSource(), "outboxkit-cdc-lease-", armed));
    doomed.start();
    await().atMost(Duration.ofSeconds(60)).until(() -> cdcHolder() != null);

    armed.set(true);

    await()
        .atMost(Duration.ofSeconds(30))
        .untilAsserted(
            () -> assertThat(doomed.status().state()).isEqualTo(RelayStatus.State.FAILED));
    assertThat(doomed.status().lastError()).contains("LinkageError");
    // FAILED is set first; the engine is stopped and the lease released on a thread of their own.
    await()
        .atMost(Duration.ofSeconds(20))
        .untilAsserted(
            () -> {
              assertThat(doomed.status().ownedPartitions()).isEmpty();
              assertThat(cdcHolder()).as("the lease row's owner once the relay failed").isNull();
            });

    OutboxEvent event = appendOne(dialect, topic);
    OutboxRelay survivor = cdcRelay(db.dataSource());
    survivor.start();
    try (KafkaReader reader = new KafkaReader(kafka.bootstrapServers(), topic)) {
      assertThat(RelayTestSupport.eventIds(reader.readAtLeast(1, Duration.ofSeconds(60))))
          .contains(event.id().toString());
    }
  }

  private OutboxRelay cdcRelay(DataSource dataSource) {
    TestDatabase database = db.database();
    return relay(
        TestRelayBuilder.relay()
            .dataSource(dataSource)
            .sessionDataSource(db.dataSource())
            .bootstrapServers(kafka.bootstrapServers())
            .cdc(
                CdcOptions.builder(database.jdbcUrl(), database.username(), database.password())
                    .name(engine)
                    .autoCreate(true)
                    .heartbeatInterval(Duration.ofMillis(500))
                    .build())
            .leases(Duration.ofSeconds(2), Duration.ofMillis(250))
            .metricsInterval(Duration.ofMillis(100))
            .meterRegistry(new SimpleMeterRegistry())
            .shutdownTimeout(Duration.ofSeconds(10)));
  }

  private String cdcHolder() throws SQLException {
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement();
        ResultSet rs =
            s.executeQuery("SELECT owner_id FROM outbox_cdc_state WHERE name = '" + engine + "'")) {
      return rs.next() ? rs.getString(1) : null;
    }
  }

  private static OutboxEvent appendOne(OutboxDialect dialect, String topic) {
    JdbcTransactions tx = JdbcTransactions.of(db.dataSource());
    Outbox outbox = Outbox.builder().connectionProvider(tx).dialect(dialect).build();
    return tx.inTransaction(c -> outbox.append(OutboxMessage.of(topic, "k", "Happened", "{}")));
  }

  /**
   * The real data source, but once {@code armed} every connection asked for on a thread whose name
   * starts with {@code threadPrefix} fails with a {@link LinkageError}.
   */
  private static DataSource failingOn(DataSource real, String threadPrefix, AtomicBoolean armed) {
    return (DataSource)
        Proxy.newProxyInstance(
            LeaseThreadDeathIntegrationTests.class.getClassLoader(),
            new Class<?>[] {DataSource.class},
            (proxy, method, args) -> {
              if (armed.get()
                  && method.getName().equals("getConnection")
                  && Thread.currentThread().getName().startsWith(threadPrefix)) {
                throw new LinkageError("injected by the test: a class missing at run time");
              }
              try {
                return method.invoke(real, args);
              } catch (InvocationTargetException e) {
                throw e.getCause();
              }
            });
  }

  private OutboxRelay relay(TestRelayBuilder builder) {
    OutboxRelay relay = builder.build();
    relays.add(relay);
    return relay;
  }
}
