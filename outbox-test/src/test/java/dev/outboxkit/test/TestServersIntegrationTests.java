package dev.outboxkit.test;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;

@ServerTest
class TestServersIntegrationTests {

  @Test
  void postgresRunsWithLogicalDecodingAndIsolatesDatabases() throws SQLException {
    try (TestDatabase first = TestServers.postgres().createDatabase("iso_first");
        TestDatabase second = TestServers.postgres().createDatabase("iso_second")) {
      assertThat(first.kind()).isEqualTo(DatabaseKind.POSTGRESQL);
      assertThat(queryString(first, "SHOW wal_level")).isEqualTo("logical");
      execute(first, "CREATE TABLE only_here (id INT)");
      assertThat(tableCount(second, "only_here")).isZero();
      assertThat(tableCount(first, "only_here")).isOne();
    }
  }

  @Test
  void droppedDatabasesAreGone() throws SQLException {
    TestDatabase database = TestServers.postgres().createDatabase("dropped_db");
    database.dataSource(); // open the pool, so dropping has to close it first
    database.close();
    try (TestDatabase other = TestServers.postgres().createDatabase("dropped_db_check")) {
      assertThat(
              queryString(other, "SELECT count(*) FROM pg_database WHERE datname = 'dropped_db'"))
          .isEqualTo("0");
    }
  }

  @Test
  void mariadbRunsAsAProcessWithRowBinlog() throws SQLException {
    try (TestDatabase database = TestServers.mariadb().createDatabase("maria_check")) {
      assertThat(queryString(database, "SELECT VERSION()")).containsIgnoringCase("mariadb");
      assertThat(queryString(database, "SELECT @@binlog_format")).isEqualTo("ROW");
      assertThat(queryString(database, "SELECT @@log_bin")).isEqualTo("1");
      execute(database, "CREATE TABLE t (id INT PRIMARY KEY)");
      execute(database, "INSERT INTO t VALUES (1)");
      assertThat(queryString(database, "SELECT count(*) FROM t")).isEqualTo("1");
    }
  }

  @Test
  void h2DatabasesLiveUntilDropped() throws SQLException {
    try (TestDatabase database = TestServers.h2().createDatabase("h2_check")) {
      execute(database, "CREATE TABLE t (id INT)");
      assertThat(tableCount(database, "T")).isOne();
    }
  }

  @Test
  void kafkaBrokerDeliversARecord() {
    KafkaTestBroker kafka = TestServers.kafka();
    String topic = "servers-check-" + UUID.randomUUID();
    kafka.createTopic(topic, 3);
    kafka.createTopic(topic, 3); // a second call is harmless
    assertThat(kafka.topics()).contains(topic);

    try (KafkaProducer<String, String> producer =
        new KafkaProducer<>(
            Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG,
                kafka.bootstrapServers(),
                ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG,
                true,
                ProducerConfig.ACKS_CONFIG,
                "all"),
            new StringSerializer(),
            new StringSerializer())) {
      producer.send(new ProducerRecord<>(topic, "key-1", "hello")).get();
    } catch (Exception e) {
      throw new AssertionError("send failed", e);
    }

    try (KafkaConsumer<String, String> consumer =
        new KafkaConsumer<>(
            Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers(),
                ConsumerConfig.GROUP_ID_CONFIG, "servers-check",
                ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest"),
            new StringDeserializer(),
            new StringDeserializer())) {
      consumer.subscribe(List.of(topic));
      long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      ConsumerRecords<String, String> records = ConsumerRecords.empty();
      while (records.isEmpty() && System.nanoTime() < deadline) {
        records = consumer.poll(Duration.ofMillis(200));
      }
      assertThat(records.count()).isOne();
      assertThat(records.iterator().next().key()).isEqualTo("key-1");
      assertThat(records.iterator().next().value()).isEqualTo("hello");
    }
  }

  @Test
  void externalServerSettingsCreateDatabasesOnThatServer() throws SQLException {
    // Point the "external" settings at the embedded server, as a user would at RDS or Aurora.
    try (TestDatabase probe = TestServers.postgres().createDatabase("external_probe")) {
      String adminUrl = JdbcUrls.withDatabase(probe.jdbcUrl(), "postgres");
      System.setProperty("outboxkit.test.postgresql.url", adminUrl);
      System.setProperty("outboxkit.test.postgresql.username", probe.username());
      try {
        DatabaseServer external = ExternalServer.database(DatabaseKind.POSTGRESQL);
        assertThat(external).isNotNull();
        assertThat(external.description()).startsWith("external postgresql at " + adminUrl);
        try (TestDatabase database = external.createDatabase("external_db")) {
          assertThat(database.jdbcUrl()).contains("/external_db");
          assertThat(queryString(database, "SELECT current_database()")).isEqualTo("external_db");
        }
      } finally {
        System.clearProperty("outboxkit.test.postgresql.url");
        System.clearProperty("outboxkit.test.postgresql.username");
      }
    }
    assertThat(ExternalServer.database(DatabaseKind.POSTGRESQL)).isNull();
  }

  @Test
  void mysqlRunsAsAProcessWithRowBinlogAndSkipLocked() throws SQLException {
    try (TestDatabase database = TestServers.mysql().createDatabase("mysql_check")) {
      assertThat(database.kind()).isEqualTo(DatabaseKind.MYSQL);
      assertThat(queryString(database, "SELECT VERSION()")).startsWith("8.0.");
      assertThat(queryString(database, "SELECT @@log_bin")).isEqualTo("1");
      assertThat(queryString(database, "SELECT @@binlog_format")).isEqualTo("ROW");
      assertThat(queryString(database, "SELECT @@default_authentication_plugin"))
          .isEqualTo("caching_sha2_password");
      execute(database, "CREATE TABLE t (id INT PRIMARY KEY)");
      execute(database, "INSERT INTO t VALUES (1), (2)");
      try (Connection first = database.openConnection();
          Connection second = database.openConnection()) {
        first.setAutoCommit(false);
        second.setAutoCommit(false);
        try (Statement a = first.createStatement();
            Statement b = second.createStatement()) {
          a.executeQuery("SELECT id FROM t WHERE id = 1 FOR UPDATE").close();
          try (ResultSet rs =
              b.executeQuery("SELECT id FROM t ORDER BY id FOR UPDATE SKIP LOCKED")) {
            assertThat(rs.next()).isTrue();
            assertThat(rs.getInt(1)).isEqualTo(2);
            assertThat(rs.next()).isFalse();
          }
        }
        first.rollback();
        second.rollback();
      }
    }
  }

  @Test
  void mysqlIsSkippedWithTheMissingPackageNamed() {
    // What the extension reports when mysqld cannot load its libraries and no Docker engine exists.
    String reason =
        MySqlLauncher.unavailableMessage(
            "mysqld needs "
                + SharedLibraries.describe(List.of("libaio.so.1"))
                + "; install with: apt-get install libaio1");
    assertThat(reason).contains("libaio1").contains("OUTBOXKIT_TEST_MYSQL_URL").contains("Docker");
  }

  private static String queryString(TestDatabase database, String sql) throws SQLException {
    try (Connection connection = database.openConnection();
        Statement statement = connection.createStatement();
        ResultSet rs = statement.executeQuery(sql)) {
      rs.next();
      return rs.getString(1);
    }
  }

  private static void execute(TestDatabase database, String sql) throws SQLException {
    try (Connection connection = database.openConnection();
        Statement statement = connection.createStatement()) {
      statement.execute(sql);
    }
  }

  private static int tableCount(TestDatabase database, String table) throws SQLException {
    try (Connection connection = database.openConnection();
        ResultSet rs = connection.getMetaData().getTables(null, null, table, null)) {
      int count = 0;
      while (rs.next()) {
        count++;
      }
      return count;
    }
  }
}
