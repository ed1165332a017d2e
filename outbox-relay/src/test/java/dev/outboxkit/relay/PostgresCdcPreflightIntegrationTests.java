package dev.outboxkit.relay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.outboxkit.outbox.Outbox;
import dev.outboxkit.outbox.OutboxMessage;
import dev.outboxkit.outbox.OutboxSchema;
import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.jdbc.JdbcTransactions;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.relay.cdc.CdcOptions;
import dev.outboxkit.relay.cdc.CdcSchema;
import dev.outboxkit.test.KafkaTestBroker;
import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.TestDatabaseExtension;
import dev.outboxkit.test.TestServers;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.parallel.Isolated;

/**
 * PostgreSQL specifics of the CDC relay: it refuses to start, naming the fix, without logical WAL
 * or without the REPLICATION attribute; and its heartbeat keeps the slot's retained WAL bounded
 * while only other tables change.
 */
@ServerTest
// Alone: it creates and drops roles, which are server-wide on the shared PostgreSQL , and it
// asserts the WAL its slot retains,
// which every other class's writes on that server would grow.
@Isolated
class PostgresCdcPreflightIntegrationTests {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.postgres();

  static final KafkaTestBroker kafka = TestServers.kafka();

  private static TestRelayBuilder relay(DataSource dataSource, CdcOptions options) {
    return TestRelayBuilder.relay()
        .dataSource(dataSource)
        .bootstrapServers(kafka.bootstrapServers())
        .cdc(options)
        .leases(Duration.ofSeconds(2), Duration.ofMillis(250))
        .metricsInterval(Duration.ofMillis(200))
        .meterRegistry(new SimpleMeterRegistry());
  }

  @Test
  void refusesToStartWithoutLogicalWalNamingTheSetting() throws Exception {
    try (EmbeddedPostgres replicaLevel =
        EmbeddedPostgres.builder().setServerConfig("wal_level", "replica").start()) {
      DataSource ds = replicaLevel.getPostgresDatabase();
      try (Connection c = ds.getConnection()) {
        OutboxSchema.create(c, OutboxDialect.postgresql(), OutboxTable.DEFAULT);
      }
      OutboxRelay relay =
          relay(
                  ds,
                  CdcOptions.builder(
                          replicaLevel.getJdbcUrl("postgres", "postgres"), "postgres", "postgres")
                      .autoCreate(true)
                      .build())
              .build();
      assertThatThrownBy(relay::start)
          .hasMessageContaining("wal_level is 'replica'")
          .hasMessageContaining("ALTER SYSTEM SET wal_level = logical");
    }
  }

  @Test
  void refusesToStartWithoutTheReplicationAttributeNamingTheGrant() throws Exception {
    RelayTables.create(db.dataSource());
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement()) {
      s.execute("DROP ROLE IF EXISTS outbox_writer_only");
      s.execute("CREATE ROLE outbox_writer_only LOGIN PASSWORD 'pw'");
    }
    OutboxRelay relay =
        relay(
                db.dataSource(),
                CdcOptions.builder(db.database().jdbcUrl(), "outbox_writer_only", "pw")
                    .autoCreate(true)
                    .build())
            .build();
    assertThatThrownBy(relay::start)
        .hasMessageContaining("lacks the REPLICATION attribute")
        .hasMessageContaining("is no member of rds_replication")
        .hasMessageContaining("ALTER ROLE outbox_writer_only WITH REPLICATION")
        .hasMessageContaining("GRANT rds_replication TO outbox_writer_only");
  }

  /**
   * Issue 12: on RDS/Aurora a CDC user gets replication through membership in {@code
   * rds_replication} (role attributes are not inherited, so the attribute check alone refused it).
   * A role of that name stands in for RDS's here; plain PostgreSQL would not let this user stream,
   * so the test is about the check's decision only.
   */
  @Test
  void acceptsMembershipInRdsReplicationInsteadOfTheAttribute() throws Exception {
    RelayTables.create(db.dataSource());
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement()) {
      s.execute("DROP ROLE IF EXISTS outbox_rds_cdc");
      s.execute("DROP ROLE IF EXISTS rds_replication");
      s.execute("CREATE ROLE rds_replication NOLOGIN");
      s.execute("CREATE ROLE outbox_rds_cdc LOGIN PASSWORD 'pw'");
      s.execute("DROP PUBLICATION IF EXISTS rds_pub");
      s.execute("CREATE PUBLICATION rds_pub FOR TABLE public.outbox_event");
      try {
        assertThatThrownBy(() -> probe(c, "outbox_rds_cdc"))
            .hasMessageContaining("is no member of rds_replication")
            .hasMessageContaining("GRANT rds_replication TO outbox_rds_cdc");
        // Membership through another role counts too, as RDS grants it.
        s.execute("CREATE ROLE outbox_cdc_group NOLOGIN IN ROLE rds_replication");
        s.execute("GRANT outbox_cdc_group TO outbox_rds_cdc");
        probe(c, "outbox_rds_cdc");
      } finally {
        s.execute("DROP PUBLICATION IF EXISTS rds_pub");
        s.execute("DROP ROLE IF EXISTS outbox_rds_cdc");
        s.execute("DROP ROLE IF EXISTS outbox_cdc_group");
        s.execute("DROP ROLE IF EXISTS rds_replication");
      }
    }
  }

  /**
   * The relay publishes inserts only; its own deletes (one per published row) and updates would
   * double what the server decodes and streams and what the engine parses.
   */
  @Test
  void anAutoCreatedPublicationPublishesInsertsOnly() throws Exception {
    RelayTables.create(db.dataSource());
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement()) {
      s.execute("DROP PUBLICATION IF EXISTS inserts_pub");
      try {
        dev.outboxkit.relay.internal.cdc.CdcPreflightProbe.checkCreatingPublication(
            c,
            OutboxDialect.postgresql(),
            db.database().jdbcUrl(),
            db.database().username(),
            db.database().password(),
            "inserts_pub");
        try (ResultSet rs =
            s.executeQuery(
                "SELECT pubinsert, pubupdate, pubdelete, pubtruncate FROM pg_publication"
                    + " WHERE pubname = 'inserts_pub'")) {
          assertThat(rs.next()).as("publication created").isTrue();
          assertThat(rs.getBoolean(1)).as("publishes inserts").isTrue();
          assertThat(rs.getBoolean(2)).as("publishes updates").isFalse();
          assertThat(rs.getBoolean(3)).as("publishes deletes").isFalse();
          assertThat(rs.getBoolean(4)).as("publishes truncates").isFalse();
        }
      } finally {
        s.execute("DROP PUBLICATION IF EXISTS inserts_pub");
      }
    }
  }

  private static void probe(Connection c, String user) throws Exception {
    dev.outboxkit.relay.internal.cdc.CdcPreflightProbe.check(
        c, OutboxDialect.postgresql(), db.database().jdbcUrl(), user, "pw", "rds_pub");
  }

  @Test
  void theHeartbeatKeepsRetainedWalBoundedWhileOnlyOtherTablesChange() throws Exception {
    OutboxDialect dialect = RelayTables.create(db.dataSource());
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement()) {
      CdcSchema.create(c, dialect, OutboxTable.of("outbox_cdc_state"));
      s.execute("CREATE TABLE IF NOT EXISTS busy_table (id BIGSERIAL PRIMARY KEY, data TEXT)");
    }
    String topic = "idle" + System.nanoTime() % 100_000;
    kafka.createTopic(topic, 1);
    OutboxRelay relay =
        relay(
                db.dataSource(),
                CdcOptions.builder(
                        db.database().jdbcUrl(), db.database().username(), db.database().password())
                    .name("walcheck")
                    .autoCreate(true)
                    .heartbeatInterval(Duration.ofMillis(500))
                    .build())
            .build();
    relay.start();
    try {
      JdbcTransactions tx = JdbcTransactions.of(db.dataSource());
      Outbox outbox = Outbox.builder().connectionProvider(tx).dialect(dialect).build();
      tx.execute(c -> outbox.append(OutboxMessage.of(topic, "k", "Once", "0")));
      try (KafkaReader reader = new KafkaReader(kafka.bootstrapServers(), topic)) {
        assertThat(reader.readAtLeast(1, Duration.ofSeconds(60))).hasSize(1);
      }
      // About 24 MB of WAL (1.2 MB a round) for a table outside the publication, the outbox idle
      // meanwhile. A caught-up slot retains about 1 kB, so twice the 8 MB bound tells the two
      // apart; more WAL only made this isolated test longer.
      long written = 0;
      long start = walPosition();
      try (Connection c = db.dataSource().getConnection();
          Statement s = c.createStatement()) {
        for (int i = 0; i < 20; i++) {
          s.execute(
              "INSERT INTO busy_table (data) SELECT repeat(md5(g::text), 32) FROM"
                  + " generate_series(1, 1000) g");
          s.execute("DELETE FROM busy_table");
        }
      }
      written = walPosition() - start;
      assertThat(written).as("WAL written for the busy table").isGreaterThan(16L << 20);
      // Without the heartbeat the slot would hold all of it; with it, the slot catches up.
      await().atMost(Duration.ofSeconds(30)).until(() -> retainedWal("walcheck") < (8L << 20));
      System.out.printf(
          "[cdc wal] busy table wrote %d MB of WAL; the idle outbox's slot retains %d kB%n",
          written >> 20, retainedWal("walcheck") >> 10);
    } finally {
      relay.close();
      try (Connection c = db.dataSource().getConnection();
          Statement s = c.createStatement()) {
        s.execute(
            "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots"
                + " WHERE slot_name = 'walcheck' AND NOT active");
      }
    }
  }

  private long walPosition() throws Exception {
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')")) {
      rs.next();
      return rs.getLong(1);
    }
  }

  private long retainedWal(String slot) throws Exception {
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement();
        ResultSet rs =
            s.executeQuery(
                "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn) FROM"
                    + " pg_replication_slots WHERE slot_name = '"
                    + slot
                    + "'")) {
      return rs.next() ? rs.getLong(1) : Long.MAX_VALUE;
    }
  }
}
