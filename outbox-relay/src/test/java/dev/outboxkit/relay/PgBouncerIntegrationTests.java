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
import dev.outboxkit.idempotency.IdempotencySchema;
import dev.outboxkit.idempotency.Inbox;
import dev.outboxkit.outbox.Outbox;
import dev.outboxkit.outbox.OutboxEvent;
import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.jdbc.JdbcTransactions;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.relay.internal.SessionLock;
import dev.outboxkit.test.KafkaTestBroker;
import dev.outboxkit.test.PgBouncerServer;
import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.TestDatabaseExtension;
import dev.outboxkit.test.TestServers;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.parallel.Isolated;

/**
 * The write path, idempotency keys, the inbox and the polling relay through PgBouncer 1.18 in
 * transaction pooling mode, with {@code prepareThreshold=0}; and why that setting is needed.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@ServerTest
@Isolated
class PgBouncerIntegrationTests {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.postgres();

  static final KafkaTestBroker kafka = TestServers.kafka();

  private final List<HikariDataSource> pools = new ArrayList<>();
  private PgBouncerServer bouncer;
  private OutboxDialect dialect;

  @BeforeAll
  void createSchema() throws SQLException {
    bouncer = PgBouncerServer.get();
    dialect = RelayTables.create(db.dataSource());
    try (Connection c = db.dataSource().getConnection()) {
      IdempotencySchema.create(
          c,
          dialect,
          OutboxTable.of(IdempotencyDefaults.KEY_TABLE),
          OutboxTable.of(IdempotencyDefaults.INBOX_TABLE));
    }
  }

  @AfterAll
  void closePools() {
    pools.forEach(HikariDataSource::close);
  }

  /** A small pool through PgBouncer: its connections share fewer server connections. */
  HikariDataSource throughBouncer(String url, int size) {
    HikariConfig config = new HikariConfig();
    config.setJdbcUrl(url);
    config.setUsername(db.database().username());
    config.setPassword(db.database().password());
    config.setMaximumPoolSize(size);
    config.setMinimumIdle(0);
    config.setPoolName("pgbouncer-" + pools.size());
    HikariDataSource pool = new HikariDataSource(config);
    pools.add(pool);
    return pool;
  }

  @Test
  void reachesTheTestDatabaseThroughPgBouncer() throws SQLException {
    try (Connection c = throughBouncer(bouncer.jdbcUrl(db.database()), 1).getConnection();
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT current_database()")) {
      rs.next();
      assertThat(rs.getString(1)).isEqualTo(db.database().name());
    }
  }

  @Test
  void appendsUsesIdempotencyKeysAndTheInboxThroughPgBouncer() throws Exception {
    JdbcTransactions tx = JdbcTransactions.of(throughBouncer(bouncer.jdbcUrl(db.database()), 4));
    Outbox outbox = Outbox.builder().connectionProvider(tx).dialect(dialect).build();
    Idempotency idempotency = Idempotency.builder().connectionProvider(tx).dialect(dialect).build();
    Inbox inbox = Inbox.builder().connectionProvider(tx).dialect(dialect).build();
    // Enough repetitions that pgjdbc would have switched to named prepared statements (threshold
    // 5).
    for (int i = 0; i < 20; i++) {
      String key = "k-" + i;
      IdempotencyOutcome<String> first =
          tx.inTransaction(
              c ->
                  idempotency.execute(
                      IdempotencyKey.of("client", key),
                      "fp",
                      String.class,
                      () ->
                          outbox
                              .append("PgbPayment", key, "PaymentAuthorized", "x")
                              .id()
                              .toString()));
      IdempotencyOutcome<String> replay =
          tx.inTransaction(
              c ->
                  idempotency.execute(
                      IdempotencyKey.of("client", key), "fp", String.class, () -> "never"));
      assertThat(first).isInstanceOf(IdempotencyOutcome.Executed.class);
      assertThat(replay).isInstanceOf(IdempotencyOutcome.Replayed.class);
      assertThat(replay.toString())
          .contains(((IdempotencyOutcome.Executed<String>) first).result());
      String id = "msg-" + i;
      boolean ran = tx.inTransaction(c -> inbox.process("ledger", id, () -> {}));
      boolean again = tx.inTransaction(c -> inbox.process("ledger", id, () -> {}));
      assertThat(ran).isTrue();
      assertThat(again).isFalse();
    }
    assertThat(count("SELECT count(*) FROM outbox_event WHERE aggregatetype = 'PgbPayment'"))
        .isEqualTo(20);
    assertThat(count("SELECT count(*) FROM idempotency_key WHERE scope = 'client'")).isEqualTo(20);
    assertThat(count("SELECT count(*) FROM inbox_message WHERE consumer = 'ledger'")).isEqualTo(20);
  }

  @Test
  void pollingRelayReadsAndMarksThroughPgBouncer() throws SQLException {
    String topic = "pgbouncer" + System.nanoTime() % 100_000;
    kafka.createTopic(topic, 2);
    HikariDataSource pool = throughBouncer(bouncer.jdbcUrl(db.database()), 6);
    JdbcTransactions tx = JdbcTransactions.of(pool);
    Outbox outbox = Outbox.builder().connectionProvider(tx).dialect(dialect).build();
    List<OutboxEvent> events =
        tx.inTransaction(
            c ->
                IntStream.range(0, 50)
                    .mapToObj(i -> outbox.append(topic, "order-" + (i % 5), "Counted", "n" + i))
                    .toList());
    try (OutboxRelay relay = RelayTestSupport.fastRelay(pool, kafka.bootstrapServers()).build();
        KafkaReader reader = new KafkaReader(kafka.bootstrapServers(), topic)) {
      relay.start();
      List<ConsumerRecord<byte[], byte[]>> records = reader.readAtLeast(50, Duration.ofSeconds(60));
      assertThat(RelayTestSupport.eventIds(records))
          .containsExactlyInAnyOrderElementsOf(
              events.stream().map(e -> e.id().toString()).toList());
      // Per-key order survives the pooler.
      for (int k = 0; k < 5; k++) {
        String key = "order-" + k;
        List<String> seen =
            records.stream()
                .filter(r -> RelayTestSupport.text(r.key()).equals(key))
                .map(r -> RelayTestSupport.text(r.value()))
                .distinct()
                .toList();
        List<String> expected =
            events.stream()
                .filter(e -> e.aggregateId().equals(key))
                .map(e -> RelayTestSupport.text(e.payload()))
                .toList();
        assertThat(seen).containsExactlyElementsOf(expected);
      }
      await()
          .atMost(Duration.ofSeconds(20))
          .until(
              () ->
                  count("SELECT count(*) FROM outbox_event WHERE aggregatetype = '" + topic + "'")
                      == 0);
    }
  }

  /**
   * The reason for {@code prepareThreshold=0}: with pgjdbc's default, the fifth run of a statement
   * on one client connection names a server-side prepared statement, and the next transaction may
   * run on a server connection that never saw it. Two client connections alternate so that their
   * transactions trade the two server connections.
   */
  @Test
  void defaultPrepareThresholdBreaksUnderTransactionPooling() throws SQLException {
    try (HikariDataSource small =
        throughBouncer(bouncer.jdbcUrlKeepingPreparedStatements(db.database()), 8)) {
      List<Connection> connections = new ArrayList<>();
      try {
        for (int i = 0; i < 8; i++) {
          connections.add(small.getConnection());
        }
        assertThatThrownBy(
                () -> {
                  for (int round = 0; round < 20; round++) {
                    for (Connection c : connections) {
                      try (PreparedStatement s =
                          c.prepareStatement("SELECT count(*) FROM outbox_event WHERE seq > ?")) {
                        s.setLong(1, round);
                        try (ResultSet rs = s.executeQuery()) {
                          rs.next();
                        }
                      }
                    }
                  }
                })
            .isInstanceOf(SQLException.class)
            .hasMessageMatching(
                "(?s).*prepared statement \"S_\\d+\" (does not exist|already exists).*");
      } finally {
        for (Connection c : connections) {
          c.close();
        }
      }
    }
  }

  /**
   * Behind a transaction pooler a session lock does not stay with the connection that took it. The
   * test pins the server session holding the lock in an open transaction of its own, so the lock's
   * next check runs on another session: the relay sees that and turns session locks off for good
   * (takeover of its partitions then waits for the TTL).
   */
  @Test
  void aSessionLockThroughPgBouncerIsSeenNotToStayAndIsTurnedOff() throws SQLException {
    HikariDataSource pool = throughBouncer(bouncer.jdbcUrl(db.database()), 2);
    String owner = "pgb-" + System.nanoTime();
    try (SessionLock lock = SessionLock.of(pool, dialect, owner)) {
      assertThat(lock.ensureHeld()).isTrue();
      int holder = lockHolder(SessionLock.lockName(owner));
      List<Connection> pinned = new ArrayList<>();
      try {
        // PgBouncer hands an idle server session to each new transaction: open transactions until
        // one runs on the lock's session, and keep them all open.
        HikariDataSource pinners = throughBouncer(bouncer.jdbcUrl(db.database()), 30);
        boolean pinnedHolder = false;
        while (!pinnedHolder && pinned.size() < 30) {
          Connection c = pinners.getConnection();
          pinned.add(c);
          c.setAutoCommit(false);
          try (Statement s = c.createStatement();
              ResultSet rs = s.executeQuery("SELECT pg_backend_pid()")) {
            rs.next();
            pinnedHolder = rs.getInt(1) == holder;
          }
        }
        assertThat(pinnedHolder).as("the lock's server session pinned by the test").isTrue();
        assertThat(lock.pooled()).isFalse();
        assertThat(lock.ensureHeld()).isFalse();
        assertThat(lock.pooled()).isTrue();
        assertThat(lock.isGone(owner)).as("nothing judged behind a pooler").isFalse();
      } finally {
        for (Connection c : pinned) {
          c.rollback();
          c.close();
        }
      }
      assertThat(lock.ensureHeld()).as("off for good, even when the session comes back").isFalse();
    }
  }

  /** The back end holding the advisory lock {@code name}, seen on a direct connection. */
  private int lockHolder(String name) throws SQLException {
    try (Connection c = db.dataSource().getConnection();
        PreparedStatement s =
            c.prepareStatement(
                "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1"
                    + " AND ((classid::int8 << 32) | objid::int8) = hashtextextended(?, 0)")) {
      s.setString(1, name);
      try (ResultSet rs = s.executeQuery()) {
        assertThat(rs.next()).as("a session holds lock %s", name).isTrue();
        return rs.getInt(1);
      }
    }
  }

  private long count(String sql) throws SQLException {
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery(sql)) {
      rs.next();
      return rs.getLong(1);
    }
  }
}
