package dev.outboxkit.relay;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxkit.outbox.Outbox;
import dev.outboxkit.outbox.OutboxMessage;
import dev.outboxkit.outbox.OutboxSchema;
import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.relay.cdc.CdcOptions;
import dev.outboxkit.test.TestDatabaseExtension;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.parallel.ResourceLock;

@ResourceLock(CdcTestLocks.BINLOG_CLIENTS)
class MariaDbCdcRelayIntegrationTests extends CdcRelayContractTests {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.mariadb();

  @Override
  TestDatabaseExtension database() {
    return db;
  }

  /**
   * Finding 6: an outbox table in another database than the URL's ({@code billing.outbox_event}) is
   * captured there; before, the include lists named the URL's database and nothing was read.
   */
  @Test
  void capturesAnOutboxTableInAnotherDatabaseThanTheUrls() throws Exception {
    OutboxTable billing = OutboxTable.of("billing.outbox_event");
    try (Connection c = dataSource().getConnection();
        Statement s = c.createStatement()) {
      s.execute("CREATE DATABASE IF NOT EXISTS billing");
      OutboxSchema.create(c, dialect, billing);
      AuditSchema.create(c, dialect, AuditSchema.table(billing));
      s.execute("DELETE FROM billing.outbox_event");
    }
    Outbox writer = Outbox.builder().connectionProvider(tx).dialect(dialect).table(billing).build();
    relay(c -> c, b -> b.table(billing)).start();
    tx.execute(c -> writer.append(OutboxMessage.of(topic, "billed", "Billed", "0")));
    try (KafkaReader reader = reader(topic)) {
      assertThat(reader.readAtLeast(1, Duration.ofSeconds(60))).hasSize(1);
    }
  }

  /**
   * Issue 20: two engines with different names and no {@code cdc.server-id} read one server at the
   * same time, each its own outbox table (two services sharing a server). Before, both connected as
   * replica 184054 and the server dropped one whenever the other connected ("A slave with the same
   * server_uuid/server_id is already connected").
   */
  @Test
  void twoEnginesWithDifferentNamesReadOneServerAtTheSameTime() throws Exception {
    OutboxTable other = OutboxTable.of("engine_b.outbox_event");
    try (Connection c = dataSource().getConnection();
        Statement s = c.createStatement()) {
      s.execute("CREATE DATABASE IF NOT EXISTS engine_b");
      OutboxSchema.create(c, dialect, other);
      AuditSchema.create(c, dialect, AuditSchema.table(other));
      s.execute("DELETE FROM engine_b.outbox_event");
    }
    Outbox otherWriter =
        Outbox.builder().connectionProvider(tx).dialect(dialect).table(other).build();
    OutboxRelay first = relay(c -> c, b -> b);
    OutboxRelay second = relay(c -> c.name(engine + "_b"), b -> b.table(other));
    first.start();
    second.start();
    tx.execute(c -> outbox.append(OutboxMessage.of(topic, "first", "First", "0")));
    tx.execute(c -> otherWriter.append(OutboxMessage.of(topic, "second", "Second", "0")));
    try (KafkaReader reader = reader(topic)) {
      assertThat(reader.readAtLeast(2, Duration.ofSeconds(60)))
          .extracting(r -> new String(r.key(), StandardCharsets.UTF_8))
          .containsExactlyInAnyOrder("first", "second");
    }
    tx.execute(c -> outbox.append(OutboxMessage.of(topic, "first", "First", "1")));
    tx.execute(c -> otherWriter.append(OutboxMessage.of(topic, "second", "Second", "1")));
    try (KafkaReader reader = reader(topic)) {
      assertThat(reader.readAtLeast(4, Duration.ofSeconds(60))).hasSize(4);
    }
    assertThat(first.status().lastError()).isNull();
    assertThat(second.status().lastError()).isNull();
  }

  /**
   * Chaos run (MariaDB CDC, seed 1934, main 464cc26): the server dropped the binlog connection
   * ({@code KILL}, as a failover, a proxy restart or an operator does) and the engine read nothing
   * for over 60 s while its relay kept the lease, so no standby took over. A killed binlog dump
   * ends the stream without an error: Debezium's binlog client fails nothing and only its
   * keep-alive thread reconnects, after {@code connect.keep.alive.interval.ms} (one minute by
   * default) without an event. An event written after the kill must be published within seconds.
   */
  @Test
  void anEventWrittenAfterTheBinlogConnectionWasKilledIsPublishedWithinSeconds() throws Exception {
    OutboxRelay relay = startRelay();
    awaitStreaming();
    List<Long> dumps = new java.util.ArrayList<>();
    try (Connection c = dataSource().getConnection();
        Statement s = c.createStatement()) {
      // Only this class's engines read the binlog now (CdcTestLocks.BINLOG_CLIENTS).
      try (java.sql.ResultSet rs =
          s.executeQuery(
              "SELECT id FROM information_schema.processlist WHERE command LIKE 'Binlog Dump%'")) {
        while (rs.next()) {
          dumps.add(rs.getLong(1));
        }
      }
      assertThat(dumps).as("the engine's binlog dump on the server").isNotEmpty();
      for (long id : dumps) {
        s.execute("KILL " + id);
      }
    }
    tx.execute(c -> outbox.append(OutboxMessage.of(topic, "after-kill", "AfterKill", "0")));
    try (KafkaReader reader = reader(topic)) {
      assertThat(reader.readAtLeast(1, Duration.ofSeconds(30)))
          .as("published within 30 s of the binlog connection's kill")
          .hasSize(1);
    }
    assertThat(relay.status().lastError()).isNull();
  }

  /** Issue 20: MariaDB's form, {@code SET DEFAULT ROLE ... FOR ...} (see docs/roles.md). */
  @Test
  void anEventAfterADefaultRoleWasSetIsPublished() throws Exception {
    anEventAfterADefaultRoleWasSetOnTheServerIsPublished("SET DEFAULT ROLE %1$s FOR %2$s");
  }

  /**
   * Issue 19 (finding 7), seen in a clean-clone CI run: an engine that fails at the same binlog
   * position at every start (there: the DDL parser on {@code SET DEFAULT ROLE}, 66 failures in two
   * minutes) publishes nothing. The relay gives its lease up after each failure and takes it again
   * (no standby here); its stall reason said only "no engine runs here", and the engine's error
   * only "An exception occurred in the change event producer". Made here with the unparseable
   * statement and a user's own {@code ddl.filter} (which replaces the relay's): the relay must be
   * stalled (health DOWN) within a bounded time, the reason naming the repeated failure and its
   * cause, and {@code outbox.cdc.engine.failures} counting the runs.
   */
  @Test
  void anEngineThatFailsAtTheSamePositionAtEveryStartIsStalledAndSaysWhy() throws Exception {
    io.micrometer.core.instrument.simple.SimpleMeterRegistry registry =
        new io.micrometer.core.instrument.simple.SimpleMeterRegistry();
    OutboxRelay relay =
        relay(
            c ->
                c.debeziumProperty(
                    "internal.schema.history.internal.ddl.filter", "FLUSH RELAY LOGS.*"),
            b -> b.stallTimeout(Duration.ofSeconds(5)).meterRegistry(registry));
    relay.start();
    awaitStreaming();
    String suffix = String.valueOf(System.nanoTime() % 100_000);
    String role = "'okt_role_" + suffix + "'";
    String account = "'okt_user_" + suffix + "'@'%'";
    try (Connection c = dataSource().getConnection();
        Statement s = c.createStatement()) {
      s.execute("CREATE ROLE " + role);
      s.execute("CREATE USER " + account + " IDENTIFIED BY 'Role-test-pw-1'");
      s.execute("GRANT " + role + " TO " + account);
      s.execute("SET DEFAULT ROLE " + role + " FOR " + account);
    }
    try {
      tx.execute(c -> outbox.append(OutboxMessage.of(topic, "stuck", "Stuck", "0")));
      org.awaitility.Awaitility.await()
          .atMost(Duration.ofSeconds(90))
          .pollInterval(Duration.ofMillis(200))
          .untilAsserted(
              () -> {
                RelayStatus status = relay.status();
                assertThat(status.stalled())
                    .as("stalled (status %s)", status)
                    .isNotNull()
                    .contains("times in a row without progress (at the same position)")
                    .contains("ParsingException: DDL statement couldn't be parsed");
              });
      assertThat(registry.get("outbox.cdc.engine.failures").counter().count())
          .isGreaterThanOrEqualTo(2);
      assertThat(relay.status().stalled()).doesNotContain("Role-test-pw-1");
    } finally {
      relay.close();
      try (Connection c = dataSource().getConnection();
          Statement s = c.createStatement()) {
        s.execute("DROP USER IF EXISTS " + account);
        s.execute("DROP ROLE IF EXISTS " + role);
      }
    }
  }

  /**
   * Issue 12: a {@code jdbc:mysql:} URL (MySQL Connector/J) that reaches MariaDB gets the MariaDB
   * connector (the MySQL connector fails on MariaDB's binlog status statement).
   */
  @Test
  void aMySqlUrlThatReachesMariaDbIsReadWithTheMariaDbConnector() {
    publishesThroughTheUrl(db.database().jdbcUrl().replace("jdbc:mariadb:", "jdbc:mysql:"));
  }

  /**
   * Issue 21: the operator CLI's {@code check} in CDC mode runs {@link RelayInspection#check(
   * CdcOptions)}; tested on PostgreSQL and MySQL 8 before, here on MariaDB. The server as the tests
   * run it passes; a CDC user without the replication grants is refused with every missing grant
   * and the statement that fixes it. Only a user of its own is created: the server's global
   * settings, shared with the other CDC tests, stay as they are.
   */
  @Test
  void theOperatorsCdcCheckPassesOnMariaDbAndNamesTheMissingGrants() throws Exception {
    var database = db.database();
    RelayInspection inspection =
        RelayInspection.of(dataSource(), dialect, OutboxTable.DEFAULT, 16, Clock.systemUTC());
    List<RelayInspection.Check> ready =
        inspection.check(
            CdcOptions.builder(database.jdbcUrl(), database.username(), database.password())
                .build());
    assertThat(ready)
        .filteredOn(c -> c.name().equals("CDC server and Debezium connector"))
        .singleElement()
        .satisfies(c -> assertThat(c.detail()).contains("MariaDbConnector"));
    assertThat(ready)
        .filteredOn(c -> c.name().startsWith("change log settings and grants"))
        .singleElement()
        .satisfies(c -> assertThat(c.ok()).as(c.detail()).isTrue());

    try (Connection c = dataSource().getConnection();
        Statement s = c.createStatement()) {
      // It may read the outbox's database, but not the binlog.
      BinlogUsers.createReadingUser(
          s, database.jdbcUrl(), "cdc_check_partial", "pw", "REPLICATION CLIENT ON *.*");
    }
    try {
      List<RelayInspection.Check> refused =
          inspection.check(
              CdcOptions.builder(database.jdbcUrl(), "cdc_check_partial", "pw").build());
      assertThat(refused)
          .filteredOn(c -> c.name().startsWith("change log settings and grants"))
          .singleElement()
          .satisfies(
              c -> {
                assertThat(c.ok()).isFalse();
                assertThat(c.detail())
                    .contains("lacks REPLICATION SLAVE, RELOAD ON *.*")
                    .contains("GRANT REPLICATION SLAVE, REPLICATION CLIENT, RELOAD ON *.*");
              });
    } finally {
      try (Connection c = dataSource().getConnection();
          Statement s = c.createStatement()) {
        s.execute("DROP USER IF EXISTS 'cdc_check_partial'@'%'");
      }
    }
  }

  @Test
  void aKeepAliveReconnectMidTransactionLosesAndRepeatsNothing() throws Exception {
    aKeepAliveReconnectWhileTheQueueIsFullLosesAndRepeatsNothing();
  }

  @Test
  void aPoisonEventRetriedLongerThanTheBinlogKeepAliveRepeatsNothing() throws Exception {
    aPoisonEventRetriedLongerThanTheKeepAliveRepeatsNothing();
  }

  @Test
  void anEventAfterAnOnlineSchemaChangeOfTheOutboxTableIsPublished() throws Exception {
    anEventAfterAnOnlineSchemaChangeOnTheServerIsPublished();
  }
}
