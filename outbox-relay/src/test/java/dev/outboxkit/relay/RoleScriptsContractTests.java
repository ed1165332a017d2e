package dev.outboxkit.relay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.outboxkit.idempotency.Idempotency;
import dev.outboxkit.idempotency.IdempotencyDefaults;
import dev.outboxkit.idempotency.IdempotencyKey;
import dev.outboxkit.idempotency.IdempotencyOutcome;
import dev.outboxkit.idempotency.IdempotencyPurger;
import dev.outboxkit.idempotency.IdempotencySchema;
import dev.outboxkit.idempotency.Inbox;
import dev.outboxkit.outbox.Outbox;
import dev.outboxkit.outbox.OutboxEvent;
import dev.outboxkit.outbox.OutboxSchema;
import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.jdbc.JdbcTransactions;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.relay.cdc.CdcOptions;
import dev.outboxkit.relay.cdc.CdcSchema;
import dev.outboxkit.relay.internal.cdc.CdcPreflightProbe;
import dev.outboxkit.test.KafkaTestBroker;
import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.ShippedScripts;
import dev.outboxkit.test.TestDatabaseExtension;
import dev.outboxkit.test.TestServers;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.parallel.Isolated;

/**
 * The shipped least-privilege role scripts ({@code dev/outboxkit/roles/<db>/*.sql}) on a real
 * server: an administrator creates the schema and runs the scripts, each service logs in as its own
 * user holding one role, does its whole job, and is refused the rest. One subclass per database.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@ServerTest
// Isolated: the role scripts' server-wide statements go to MySQL's and MariaDB's binlog, and
// Debezium's MariaDB DDL parser stops on "SET DEFAULT ROLE ... FOR ..." (ParsingException), which
// stopped a CDC engine of another class that read the binlog at that moment (clean-clone CI run,
// 6 December). Running alone keeps every CDC engine of the suite away from these statements.
@Isolated
abstract class RoleScriptsContractTests {

  static final String PASSWORD = "Role-test-pw-1";

  /** The shipped roles, each held by its own login user. */
  static final List<String> ROLES = List.of("writer", "relay", "cdc", "cdc_relay");

  /**
   * The role whose user runs the CDC relay's own statements (its DataSource); Debezium logs in as
   * the user of {@code cdc}, the replication role.
   */
  static final String CDC_DML = "cdc_relay";

  static final KafkaTestBroker kafka = TestServers.kafka();

  private final List<HikariDataSource> pools = new ArrayList<>();
  OutboxDialect dialect;

  abstract TestDatabaseExtension database();

  /** The role scripts of this database, in the order an administrator runs them. */
  List<String> roleScripts() {
    String db = database().kind().key();
    return List.of(
        "dev/outboxkit/roles/" + db + "/outboxkit-roles-outbox.sql",
        "dev/outboxkit/roles/" + db + "/outboxkit-roles-idempotency.sql",
        "dev/outboxkit/roles/" + db + "/outboxkit-roles-relay.sql",
        "dev/outboxkit/roles/" + db + "/outboxkit-roles-cdc.sql");
  }

  @BeforeAll
  void createSchemaRolesAndUsers() throws SQLException {
    try (Connection c = database().dataSource().getConnection();
        Statement s = c.createStatement()) {
      dialect = RelayTables.create(database().dataSource());
      IdempotencySchema.create(
          c,
          dialect,
          OutboxTable.of(IdempotencyDefaults.KEY_TABLE),
          OutboxTable.of(IdempotencyDefaults.INBOX_TABLE));
      CdcSchema.create(c, dialect, OutboxTable.of(RelayDefaults.CDC_STATE_TABLE));
      s.execute("CREATE TABLE payment (id VARCHAR(64) PRIMARY KEY, amount BIGINT NOT NULL)");
      s.execute("INSERT INTO payment VALUES ('pay-1', 1250)");
      for (String script : roleScripts()) {
        for (String sql : ShippedScripts.statements(script)) {
          s.execute(sql);
        }
      }
      // Running them twice is harmless (an operator re-applies them after an upgrade).
      for (String script : roleScripts()) {
        for (String sql : ShippedScripts.statements(script)) {
          s.execute(sql);
        }
      }
      for (String role : ROLES) {
        createLoginUser(s, user(role), "outboxkit_" + role);
      }
    }
  }

  @AfterAll
  void dropUsers() throws SQLException {
    pools.forEach(HikariDataSource::close);
    try (Connection c = database().dataSource().getConnection();
        Statement s = c.createStatement()) {
      for (String role : ROLES) {
        dropLoginUser(s, user(role));
      }
    }
  }

  @BeforeEach
  void emptyTables() throws SQLException {
    try (Connection c = database().dataSource().getConnection();
        Statement s = c.createStatement()) {
      for (String table :
          List.of(
              "outbox_event",
              "outbox_relay_lease",
              "outbox_relay_member",
              "idempotency_key",
              "inbox_message")) {
        s.execute("DELETE FROM " + table);
      }
    }
  }

  /** The login user of a role in this test class's database (user names are server-wide). */
  String user(String role) {
    return "okt_" + role;
  }

  /**
   * What an operator does per service: a login user holding one role (on PostgreSQL the CDC user
   * also needs the REPLICATION attribute, which roles never pass on).
   */
  abstract void createLoginUser(Statement admin, String user, String role) throws SQLException;

  abstract void dropLoginUser(Statement admin, String user) throws SQLException;

  /** Proves the CDC user may read the change log, the server's way. */
  abstract void readsTheChangeLog(Connection cdc) throws SQLException;

  /** Proves a user without the replication role is refused the change log. */
  abstract void cannotReadTheChangeLog(Statement statement);

  /**
   * Creates the PostgreSQL publication of the outbox as its owner would; on MySQL and MariaDB there
   * is none to create. Returns its name.
   */
  String createPublicationAsAdministrator() throws SQLException {
    return RelayDefaults.CDC_PUBLICATION;
  }

  /** The database's URL without any user named in it: the role's user comes from the pool. */
  String roleUrl() {
    return database()
        .jdbcUrl()
        .replaceAll("([?&])(user|password)=[^&]*&?", "$1")
        .replaceAll("[?&]$", "");
  }

  /** A pool that logs in as the user of a role. */
  HikariDataSource as(String role) {
    HikariConfig config = new HikariConfig();
    // Embedded PostgreSQL's URL names its superuser; the role's user must come from setUsername.
    config.setJdbcUrl(roleUrl());
    config.setUsername(user(role));
    config.setPassword(PASSWORD);
    config.setMaximumPoolSize(6);
    config.setMinimumIdle(0);
    config.setPoolName("role-" + role);
    HikariDataSource pool = new HikariDataSource(config);
    pools.add(pool);
    return pool;
  }

  @Test
  void writerAppendsEventsAndUsesIdempotencyKeysAndTheInbox() throws SQLException {
    HikariDataSource writer = as("writer");
    try (Connection c = writer.getConnection()) {
      // The start-up schema checks of the starter, with the writer's privileges.
      OutboxSchema.verify(c, dialect, OutboxTable.DEFAULT);
      IdempotencySchema.verify(
          c, dialect, OutboxTable.of(IdempotencyDefaults.KEY_TABLE), IdempotencySchema.KEY_COLUMNS);
      IdempotencySchema.verify(
          c,
          dialect,
          OutboxTable.of(IdempotencyDefaults.INBOX_TABLE),
          IdempotencySchema.INBOX_COLUMNS);
    }
    JdbcTransactions tx = JdbcTransactions.of(writer);
    Outbox outbox = Outbox.builder().connectionProvider(tx).dialect(dialect).build();
    Idempotency idempotency = Idempotency.builder().connectionProvider(tx).dialect(dialect).build();
    Inbox inbox = Inbox.builder().connectionProvider(tx).dialect(dialect).build();

    IdempotencyOutcome<String> first =
        tx.inTransaction(
            c ->
                idempotency.execute(
                    IdempotencyKey.of("client-1", "k-1"),
                    "fp",
                    String.class,
                    () ->
                        outbox
                            .append("Payment", "pay-1", "PaymentAuthorized", "a")
                            .id()
                            .toString()));
    IdempotencyOutcome<String> second =
        tx.inTransaction(
            c ->
                idempotency.execute(
                    IdempotencyKey.of("client-1", "k-1"),
                    "fp",
                    String.class,
                    () ->
                        outbox
                            .append("Payment", "pay-1", "PaymentAuthorized", "b")
                            .id()
                            .toString()));
    assertThat(first).isInstanceOf(IdempotencyOutcome.Executed.class);
    assertThat(second).isInstanceOf(IdempotencyOutcome.Replayed.class);

    boolean ran = tx.inTransaction(c -> inbox.process("ledger", "msg-1", () -> {}));
    boolean again = tx.inTransaction(c -> inbox.process("ledger", "msg-1", () -> {}));
    assertThat(ran).isTrue();
    assertThat(again).isFalse();

    assertThat(adminCount("outbox_event")).isOne();
    assertThat(adminCount("idempotency_key")).isOne();
    assertThat(adminCount("inbox_message")).isOne();

    // The starter's purge runs on the application's pool: its locking read needs UPDATE on
    // PostgreSQL and DELETE or UPDATE on MySQL and MariaDB.
    IdempotencyPurger purger =
        new IdempotencyPurger(
            writer,
            dialect,
            OutboxTable.of(IdempotencyDefaults.KEY_TABLE),
            OutboxTable.of(IdempotencyDefaults.INBOX_TABLE),
            100,
            1,
            Clock.offset(Clock.systemUTC(), Duration.ofDays(30)),
            new SimpleMeterRegistry());
    assertThat(purger.purgeExpired()).isEqualTo(2);
    assertThat(adminCount("idempotency_key")).isZero();
    assertThat(adminCount("inbox_message")).isZero();
  }

  @Test
  void writerCannotReadOrDeleteOutboxRowsNorTouchRelayTablesOrBusinessTables() throws SQLException {
    HikariDataSource writer = as("writer");
    try (Connection c = writer.getConnection();
        Statement s = c.createStatement()) {
      assertRefused(s, "SELECT COUNT(*) FROM outbox_event");
      assertRefused(s, "DELETE FROM outbox_event");
      assertRefused(s, "UPDATE outbox_event SET status = 'DONE'");
      assertRefused(s, "SELECT COUNT(*) FROM outbox_relay_lease");
      assertRefused(s, "UPDATE outbox_relay_lease SET owner_id = 'me'");
      assertRefused(s, "SELECT COUNT(*) FROM outbox_relay_member");
      assertRefused(s, "SELECT COUNT(*) FROM outbox_cdc_state");
      assertRefused(s, "SELECT COUNT(*) FROM payment");
    }
  }

  @Test
  void relayRolePublishesWithTheRealPollingRelay() throws SQLException {
    String topic = "roles" + database().kind().key() + System.nanoTime() % 100_000;
    kafka.createTopic(topic, 2);
    JdbcTransactions writerTx = JdbcTransactions.of(as("writer"));
    Outbox outbox = Outbox.builder().connectionProvider(writerTx).dialect(dialect).build();
    List<OutboxEvent> events =
        writerTx.inTransaction(
            c ->
                List.of(
                    outbox.append(topic, "order-1", "OrderPlaced", "one"),
                    outbox.append(topic, "order-1", "OrderPaid", "two"),
                    outbox.append(topic, "order-2", "OrderPlaced", "three")));

    try (OutboxRelay relay =
            RelayTestSupport.fastRelay(as("relay"), kafka.bootstrapServers()).build();
        KafkaReader reader = new KafkaReader(kafka.bootstrapServers(), topic)) {
      relay.start();
      List<ConsumerRecord<byte[], byte[]>> records = reader.readAtLeast(3, Duration.ofSeconds(30));
      assertThat(RelayTestSupport.eventIds(records))
          .containsExactlyInAnyOrderElementsOf(
              events.stream().map(e -> e.id().toString()).toList());
      // Marked (deleted) after the broker acknowledged, with the relay's own privileges.
      await().atMost(Duration.ofSeconds(10)).until(() -> adminCount("outbox_event") == 0);
      assertThat(adminCount("outbox_relay_lease")).isPositive();
      assertThat(adminCount("outbox_relay_member")).isOne();
    }
  }

  /**
   * Issue 20: a relay whose role may not append to the audit trail (role scripts older than 0.7, or
   * a hand-made role) stops at start-up naming the table, the grant and the script, instead of
   * starting and failing the operator's first replay or purge. Re-running the shipped script mends
   * it.
   */
  @Test
  void relayWhoseRoleMayNotAppendToTheAuditTrailIsRefusedAtStartUpUntilTheScriptIsRerun()
      throws SQLException {
    String script = "dev/outboxkit/roles/" + database().kind().key() + "/outboxkit-roles-relay.sql";
    try {
      admin("REVOKE INSERT ON outbox_audit FROM outboxkit_relay");
      try (OutboxRelay relay =
          RelayTestSupport.fastRelay(as("relay"), kafka.bootstrapServers()).build()) {
        assertThatThrownBy(relay::start)
            .hasMessageContaining("outbox_audit")
            .hasMessageContaining("INSERT")
            .hasMessageContaining(script);
      }
    } finally {
      for (String sql : ShippedScripts.statements(script)) {
        admin(sql);
      }
    }
    try (OutboxRelay relay =
        RelayTestSupport.fastRelay(as("relay"), kafka.bootstrapServers()).build()) {
      relay.start();
      assertThat(relay.status().lastError()).isNull();
    }
  }

  private void admin(String sql) throws SQLException {
    try (Connection c = database().dataSource().getConnection();
        Statement s = c.createStatement()) {
      s.execute(sql);
    }
  }

  /**
   * The polling relay's parked-event work under its role: a poison event (its topic does not exist)
   * is parked, listed, replayed once the topic exists and published; another is purged.
   */
  @Test
  void relayRoleParksReplaysAndPurgesWithTheRealPollingRelay() throws SQLException {
    String topic = "rolespark" + database().kind().key() + System.nanoTime() % 100_000;
    String missing = topic + "late";
    kafka.createTopic(topic, 1);
    JdbcTransactions writerTx = JdbcTransactions.of(as("writer"));
    Outbox outbox = Outbox.builder().connectionProvider(writerTx).dialect(dialect).build();
    try (OutboxRelay relay =
            RelayTestSupport.fastRelay(as("relay"), kafka.bootstrapServers())
                .maxAttempts(1)
                .build();
        KafkaReader reader = new KafkaReader(kafka.bootstrapServers(), topic)) {
      relay.start();
      writerTx.execute(c -> outbox.append(missing, "poison-1", "Poison", "p1"));
      writerTx.execute(c -> outbox.append(topic, "fine", "Fine", "f"));
      assertThat(reader.readAtLeast(1, Duration.ofSeconds(30))).hasSize(1);
      awaitParkedAndPublishedRowsGone(relay, 1);

      kafka.createTopic(missing, 1);
      try (KafkaReader late = new KafkaReader(kafka.bootstrapServers(), missing)) {
        assertThat(relay.parkedEvents().replayAll()).isOne();
        assertThat(late.readAtLeast(1, Duration.ofSeconds(30))).hasSize(1);
      }
      await().atMost(Duration.ofSeconds(30)).until(() -> adminCount("outbox_event") == 0);

      writerTx.execute(c -> outbox.append(missing + "x", "poison-2", "Poison", "p2"));
      awaitParkedAndPublishedRowsGone(relay, 1);
      assertThat(relay.parkedEvents().purge(List.of(relay.parkedEvents().list(1).get(0).id())))
          .isOne();
      assertThat(adminCount("outbox_event")).isZero();
    }
  }

  /**
   * Issue 20, finding 1: the real CDC relay, Debezium reading the change log as the replication
   * user and the relay's own statements (lease, offsets, schema history, parking, replay, purge,
   * deleting published rows) running as the CDC relay's DML user.
   */
  @Test
  void cdcRelayRunsEndToEndUnderTheReplicationAndTheDmlRole() throws SQLException {
    String engine = "okt_roles_cdc_" + System.nanoTime() % 100_000;
    String topic = "rolescdc" + database().kind().key() + System.nanoTime() % 100_000;
    String missing = topic + "late";
    kafka.createTopic(topic, 1);
    String publication = createPublicationAsAdministrator();
    JdbcTransactions writerTx = JdbcTransactions.of(as("writer"));
    Outbox outbox = Outbox.builder().connectionProvider(writerTx).dialect(dialect).build();
    SimpleMeterRegistry meters = new SimpleMeterRegistry();
    try (OutboxRelay relay =
            RelayTestSupport.fastRelay(as(CDC_DML), kafka.bootstrapServers())
                .meterRegistry(meters)
                .maxAttempts(1)
                .cdc(
                    CdcOptions.builder(roleUrl(), user("cdc"), PASSWORD)
                        .name(engine)
                        .publication(publication)
                        .autoCreate(false)
                        .serverId(5_400 + System.nanoTime() % 1_000)
                        .heartbeatInterval(Duration.ofMillis(500))
                        .build())
                .build();
        KafkaReader reader = new KafkaReader(kafka.bootstrapServers(), topic)) {
      relay.start();
      writerTx.execute(c -> outbox.append(missing, "poison-1", "Poison", "p1"));
      writerTx.execute(c -> outbox.append(topic, "fine", "Fine", "f1"));
      writerTx.execute(c -> outbox.append(topic, "fine", "Fine", "f2"));
      assertThat(reader.readAtLeast(2, Duration.ofSeconds(90))).hasSize(2);
      // Parked on its row, published rows deleted: both with the DML user's privileges.
      awaitParkedAndPublishedRowsGone(relay, 1);

      kafka.createTopic(missing, 1);
      try (KafkaReader late = new KafkaReader(kafka.bootstrapServers(), missing)) {
        assertThat(relay.parkedEvents().replayAll()).isOne();
        assertThat(late.readAtLeast(1, Duration.ofSeconds(90))).hasSize(1);
      }
      await().atMost(Duration.ofSeconds(60)).until(() -> adminCount("outbox_event") == 0);

      writerTx.execute(c -> outbox.append(missing + "x", "poison-2", "Poison", "p2"));
      awaitParkedAndPublishedRowsGone(relay, 1);
      assertThat(relay.parkedEvents().purge(List.of(relay.parkedEvents().list(1).get(0).id())))
          .isOne();
      assertThat(adminCount("outbox_event")).isZero();

      // The lease and the offsets (and on MySQL/MariaDB the schema history) were written.
      assertThat(
              adminCount("outbox_cdc_state WHERE name = '" + engine + "' AND offsets IS NOT NULL"))
          .isOne();
      assertSchemaHistoryWritten(engine);
      assertThat(meters.get("outbox.relay.cleanup.failures").counter().count()).isZero();
    } finally {
      dropReplicationSlot(engine);
    }
  }

  /** The binlog connectors' schema history was stored under the engine's name. */
  void assertSchemaHistoryWritten(String engine) throws SQLException {
    assertThat(adminCount("outbox_cdc_state_history WHERE name = '" + engine + "'")).isPositive();
  }

  /** Drops the engine's replication slot (PostgreSQL); nothing to drop on MySQL/MariaDB. */
  void dropReplicationSlot(String engine) throws SQLException {}

  /** Waits until exactly {@code parked} rows are parked and no other row is left. */
  void awaitParkedAndPublishedRowsGone(OutboxRelay relay, int parked) {
    await()
        .atMost(Duration.ofSeconds(90))
        .untilAsserted(
            () -> {
              assertThat(relay.parkedEvents().count()).isEqualTo(parked);
              assertThat(adminCount("outbox_event")).as("rows left").isEqualTo(parked);
            });
  }

  @Test
  void relayCannotReadBusinessTablesNorIdempotencyKeysNorTheCdcState() throws SQLException {
    try (Connection c = as("relay").getConnection();
        Statement s = c.createStatement()) {
      assertRefused(s, "SELECT COUNT(*) FROM payment");
      assertRefused(s, "UPDATE payment SET amount = 0");
      assertRefused(s, "SELECT COUNT(*) FROM idempotency_key");
      assertRefused(s, "SELECT COUNT(*) FROM inbox_message");
      assertRefused(s, "SELECT COUNT(*) FROM outbox_cdc_state");
      // INSERT into outbox_event is granted since 0.8: a replay re-inserts the parked row with a
      // new
      // seq (relayRoleParksReplaysAndPurgesWithTheRealPollingRelay), as the CDC relay's always did.
    }
  }

  @Test
  void cdcRoleReadsTheOutboxAndTheChangeLogAndNothingElse() throws SQLException {
    try (Connection c = as("cdc").getConnection();
        Statement s = c.createStatement()) {
      try (ResultSet rs = s.executeQuery("SELECT COUNT(*) FROM outbox_event")) {
        assertThat(rs.next()).isTrue();
      }
      readsTheChangeLog(c);
      // The CDC relay's own start-up checks (replication grants, publication) pass for this user.
      CdcPreflightProbe.check(
          c, dialect, roleUrl(), user("cdc"), PASSWORD, createPublicationAsAdministrator());
      assertRefused(s, "SELECT COUNT(*) FROM payment");
      assertRefused(s, "SELECT COUNT(*) FROM idempotency_key");
      assertRefused(s, "SELECT COUNT(*) FROM outbox_relay_lease");
      assertRefused(s, "DELETE FROM outbox_event");
      assertRefused(s, "UPDATE outbox_event SET status = 'DONE'");
      // Its lease and offsets are written by the CDC relay's DML user, not by the replication user.
      assertRefused(s, "SELECT COUNT(*) FROM outbox_cdc_state");
      assertRefused(s, "UPDATE outbox_cdc_state SET owner_id = 'me'");
    }
  }

  /**
   * The CDC relay's DML user may change outbox rows and its state, but may not read the change log,
   * touch business tables, idempotency keys, the inbox or the polling relay's tables.
   */
  @Test
  void cdcRelayRoleChangesTheOutboxAndItsStateAndNothingElse() throws SQLException {
    try (Connection c = as(CDC_DML).getConnection();
        Statement s = c.createStatement()) {
      try (ResultSet rs = s.executeQuery("SELECT COUNT(*) FROM outbox_cdc_state")) {
        assertThat(rs.next()).isTrue();
      }
      cannotReadTheChangeLog(s);
      assertRefused(s, "SELECT COUNT(*) FROM payment");
      assertRefused(s, "SELECT COUNT(*) FROM idempotency_key");
      assertRefused(s, "SELECT COUNT(*) FROM inbox_message");
      assertRefused(s, "SELECT COUNT(*) FROM outbox_relay_lease");
      assertRefused(s, "DELETE FROM outbox_cdc_state");
    }
  }

  static void assertRefused(Statement statement, String sql) {
    assertThatThrownBy(() -> statement.execute(sql))
        .as(sql)
        .isInstanceOf(SQLException.class)
        .satisfies(
            e -> assertThat(isPermissionDenied((SQLException) e)).as(e.getMessage()).isTrue());
  }

  /**
   * PostgreSQL 42501; MySQL/MariaDB 1142 (table) and 1143 (column) access denied, 1227 (a global
   * privilege such as REPLICATION SLAVE missing).
   */
  static boolean isPermissionDenied(SQLException e) {
    String message = String.valueOf(e.getMessage()).toLowerCase(Locale.ROOT);
    return "42501".equals(e.getSQLState())
        || e.getErrorCode() == 1142
        || e.getErrorCode() == 1143
        || e.getErrorCode() == 1227
        || message.contains("permission denied")
        || message.contains("command denied");
  }

  long adminCount(String table) throws SQLException {
    try (Connection c = database().dataSource().getConnection();
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT COUNT(*) FROM " + table)) {
      rs.next();
      return rs.getLong(1);
    }
  }
}
