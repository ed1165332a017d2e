package dev.outboxkit.relay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.outboxkit.outbox.Outbox;
import dev.outboxkit.outbox.OutboxMessage;
import dev.outboxkit.outbox.jdbc.JdbcTransactions;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.relay.cdc.CdcOptions;
import dev.outboxkit.test.KafkaTestBroker;
import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.TestServers;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The CDC engine reads the WAL over TLS as the JDBC URL says: against a PostgreSQL that accepts
 * only TLS ({@code hostssl} in pg_hba.conf) with a certificate made here for {@code localhost},
 * {@code sslmode=verify-full} with the right CA publishes over an encrypted replication connection;
 * a wrong CA, or no TLS, stops {@code start()} naming {@code outbox.relay.cdc.url}.
 */
@ServerTest
// Not @Isolated: the TLS server, its pg_hba.conf and its role are this class's own; it shares only
// the Kafka broker, whose topics it names itself.
class PostgresCdcTlsIntegrationTests {

  static final KafkaTestBroker kafka = TestServers.kafka();

  static final String CDC_USER = "outbox_cdc_tls";

  static Path certs;
  static EmbeddedPostgres postgres;
  static DataSource dataSource;
  static OutboxDialect dialect;

  @BeforeAll
  static void startTlsOnlyPostgres() throws Exception {
    assumeTrue(
        onPath("openssl"),
        "The Debian package openssl is needed to make the test's certificates (apt-get install"
            + " -y openssl)");
    certs = Files.createTempDirectory("outboxkit-pg-tls");
    openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=outboxkit-test-ca",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem");
    openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=outboxkit-wrong-ca",
        "-keyout",
        "wrong-ca.key",
        "-out",
        "wrong-ca.pem");
    openssl(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=localhost",
        "-keyout",
        "server.key",
        "-out",
        "server.csr");
    Files.writeString(
        certs.resolve("server.ext"), "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\n");
    openssl(
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "server.ext",
        "-out",
        "server.crt");
    // The CDC user logs in with a client certificate only: the engine's connections succeed
    // only if the URL's sslcert/sslkey reach Debezium (pgjdbc wants the key as PKCS-8 DER).
    openssl(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=" + CDC_USER,
        "-keyout",
        "client.key",
        "-out",
        "client.csr");
    openssl(
        "x509",
        "-req",
        "-in",
        "client.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-out",
        "client.crt");
    openssl(
        "pkcs8",
        "-topk8",
        "-inform",
        "PEM",
        "-outform",
        "DER",
        "-nocrypt",
        "-in",
        "client.key",
        "-out",
        "client.pk8");
    postgres =
        EmbeddedPostgres.builder()
            .setPGStartupWait(Duration.ofSeconds(60))
            .setServerConfig("wal_level", "logical")
            .setServerConfig("max_replication_slots", "4")
            .setServerConfig("max_wal_senders", "4")
            .setServerConfig("wal_writer_delay", "10ms")
            .setServerConfig("fsync", "off")
            .setServerConfig("ssl", "on")
            .setServerConfig("ssl_cert_file", "server.crt")
            .setServerConfig("ssl_key_file", "server.key")
            .setServerConfig("ssl_ca_file", "ca.pem")
            .setDataDirectoryCustomizer(PostgresCdcTlsIntegrationTests::tlsOnly)
            .start();
    dataSource = postgres.getPostgresDatabase();
    dialect = RelayTables.create(dataSource);
    try (Connection c = dataSource.getConnection();
        Statement st = c.createStatement()) {
      // Superuser for pg_logical_emit_message (the engine's heartbeat) in this test only.
      st.execute("CREATE ROLE " + CDC_USER + " LOGIN SUPERUSER REPLICATION");
    }
  }

  /** The server's key and certificate in its data directory, and TCP logins over TLS only. */
  private static void tlsOnly(File dataDirectory) {
    try {
      Path data = dataDirectory.toPath();
      Files.copy(certs.resolve("server.crt"), data.resolve("server.crt"));
      Files.copy(certs.resolve("ca.pem"), data.resolve("ca.pem"));
      Path key = Files.copy(certs.resolve("server.key"), data.resolve("server.key"));
      Files.setPosixFilePermissions(key, PosixFilePermissions.fromString("rw-------"));
      Files.writeString(
          data.resolve("pg_hba.conf"),
          String.join(
              "\n",
              "local all all trust",
              "hostssl all " + CDC_USER + " 127.0.0.1/32 cert",
              "hostssl all " + CDC_USER + " ::1/128 cert",
              "hostssl all all 127.0.0.1/32 trust",
              "hostssl all all ::1/128 trust",
              "hostssl replication all 127.0.0.1/32 trust",
              "hostssl replication all ::1/128 trust",
              "hostnossl all all all reject",
              "hostnossl replication all all reject",
              ""));
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  @AfterAll
  static void stop() throws IOException {
    if (postgres != null) {
      postgres.close();
    }
  }

  @Test
  void verifyFullWithTheRightCaPublishesOverAnEncryptedReplicationConnection() throws Exception {
    String topic = "tls" + System.nanoTime() % 100_000;
    kafka.createTopic(topic, 1);
    OutboxRelay relay = relay(url("verify-full", "ca.pem"), "tls_ok");
    relay.start();
    try {
      append(topic, "Paid");
      try (KafkaReader reader = new KafkaReader(kafka.bootstrapServers(), topic)) {
        assertThat(reader.readAtLeast(1, Duration.ofSeconds(60))).hasSize(1);
      }
      try (Connection c = dataSource.getConnection();
          Statement s = c.createStatement();
          ResultSet rs =
              s.executeQuery(
                  "SELECT s.ssl, s.version, s.client_dn, r.usename FROM pg_stat_replication r"
                      + " JOIN pg_stat_ssl s ON s.pid = r.pid")) {
        assertThat(rs.next()).as("the engine's replication connection").isTrue();
        assertThat(rs.getBoolean(1)).as("replication over TLS").isTrue();
        assertThat(rs.getString(3)).as("client certificate").isEqualTo("/CN=" + CDC_USER);
        assertThat(rs.getString(4)).isEqualTo(CDC_USER);
        System.out.printf(
            "[cdc tls] replication connection over %s, client certificate %s%n",
            rs.getString(2), rs.getString(3));
      }
    } finally {
      relay.close();
      dropSlot("tls_ok");
    }
  }

  @Test
  void aWrongCaStopsTheStartNamingTheSettingAndPublishesNothing() throws Exception {
    String topic = "tlsbad" + System.nanoTime() % 100_000;
    kafka.createTopic(topic, 1);
    append(topic, "MustNotLeave");
    OutboxRelay relay = relay(url("verify-full", "wrong-ca.pem"), "tls_bad");
    try {
      assertThatThrownBy(relay::start)
          .hasMessageContaining("outbox.relay.cdc.url")
          .hasMessageContaining("sslrootcert")
          .hasMessageContaining("sslmode=verify-full");
      try (KafkaReader reader = new KafkaReader(kafka.bootstrapServers(), topic)) {
        assertThat(reader.readFor(Duration.ofSeconds(3))).isEmpty();
      }
      assertThat(slotExists("tls_bad")).as("no replication slot was made").isFalse();
    } finally {
      relay.close();
      dropSlot("tls_bad");
    }
  }

  @Test
  void aUrlWithoutTlsIsRefusedByTheServerAndStopsTheStart() throws Exception {
    OutboxRelay relay =
        relay(
            "jdbc:postgresql://localhost:" + postgres.getPort() + "/postgres?sslmode=disable",
            "tls_none");
    try {
      assertThatThrownBy(relay::start)
          .hasMessageContaining("outbox.relay.cdc.url")
          .hasMessageContaining("sslmode=disable")
          .hasMessageContaining("no encryption");
    } finally {
      relay.close();
      dropSlot("tls_none");
    }
  }

  private static String url(String mode, String rootCert) {
    return "jdbc:postgresql://localhost:"
        + postgres.getPort()
        + "/postgres?sslmode="
        + mode
        + "&sslrootcert="
        + certs.resolve(rootCert)
        + "&sslcert="
        + certs.resolve("client.crt")
        + "&sslkey="
        + certs.resolve("client.pk8");
  }

  private static OutboxRelay relay(String cdcUrl, String name) {
    return TestRelayBuilder.relay()
        .dataSource(dataSource)
        .bootstrapServers(kafka.bootstrapServers())
        .cdc(CdcOptions.builder(cdcUrl, CDC_USER, "").name(name).autoCreate(true).build())
        .leases(Duration.ofSeconds(2), Duration.ofMillis(250))
        .metricsInterval(Duration.ofMillis(200))
        .meterRegistry(new SimpleMeterRegistry())
        .build();
  }

  private static void append(String topic, String type) throws Exception {
    JdbcTransactions tx = JdbcTransactions.of(dataSource);
    Outbox outbox = Outbox.builder().connectionProvider(tx).dialect(dialect).build();
    tx.execute(c -> outbox.append(OutboxMessage.of(topic, "k", type, "{}")));
  }

  private static boolean slotExists(String name) throws Exception {
    try (Connection c = dataSource.getConnection();
        Statement s = c.createStatement();
        ResultSet rs =
            s.executeQuery(
                "SELECT count(*) FROM pg_replication_slots WHERE slot_name = '" + name + "'")) {
      rs.next();
      return rs.getInt(1) > 0;
    }
  }

  private static void dropSlot(String name) throws Exception {
    try (Connection c = dataSource.getConnection();
        Statement s = c.createStatement()) {
      s.execute(
          "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots"
              + " WHERE slot_name = '"
              + name
              + "' AND NOT active");
    }
  }

  private static boolean onPath(String command) {
    for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
      if (Files.isExecutable(Path.of(dir, command))) {
        return true;
      }
    }
    return false;
  }

  private static void openssl(String... args) throws Exception {
    List<String> command = new java.util.ArrayList<>(List.of("openssl"));
    command.addAll(List.of(args));
    Process p =
        new ProcessBuilder(command).directory(certs.toFile()).redirectErrorStream(true).start();
    String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new IllegalStateException("openssl " + String.join(" ", args) + " failed: " + output);
    }
  }
}
