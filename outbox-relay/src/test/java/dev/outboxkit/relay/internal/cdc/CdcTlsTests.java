package dev.outboxkit.relay.internal.cdc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.relay.RelayDefaults;
import dev.outboxkit.relay.cdc.CdcOptions;
import dev.outboxkit.relay.internal.RelaySettings;
import dev.outboxkit.relay.spi.TopicRouter;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.micrometer.observation.ObservationRegistry;
import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;
import javax.sql.DataSource;
import org.apache.kafka.common.config.types.Password;
import org.junit.jupiter.api.Test;

/**
 * The JDBC URL's TLS parameters reach Debezium's connector properties, a parameter the connector
 * cannot honour is refused by name, and the Kafka offsets store gets the relay's Kafka security.
 */
class CdcTlsTests {

  private static final String PG = "io.debezium.connector.postgresql.PostgresConnector";
  private static final String MYSQL = "io.debezium.connector.mysql.MySqlConnector";
  private static final String MARIADB = "io.debezium.connector.mariadb.MariaDbConnector";

  @Test
  void postgresVerifyFullAndRootCertBecomeDebeziumProperties() {
    Properties p =
        engineConfig(
            "jdbc:postgresql://h:5432/db?sslmode=verify-full&sslrootcert=/x/ca.pem"
                + "&sslcert=/x/client.pem&sslkey=/x/client.pk8&sslpassword=s3cret&user=u",
            OutboxDialect.postgresql(),
            Map.<String, Object>of("bootstrap.servers", "k:9092"),
            null);
    assertThat(p)
        .containsEntry("database.hostname", "h")
        .containsEntry("database.sslmode", "verify-full")
        .containsEntry("database.sslrootcert", "/x/ca.pem")
        .containsEntry("database.sslcert", "/x/client.pem")
        .containsEntry("database.sslkey", "/x/client.pk8")
        .containsEntry("database.sslpassword", "s3cret")
        .doesNotContainKey("database.user.ssl");
  }

  @Test
  void postgresWithoutTlsParametersKeepsTheConnectorDefaults() {
    assertThat(CdcTls.properties("jdbc:postgresql://h:5432/db?user=u", PG)).isEmpty();
  }

  @Test
  void postgresSslTrueMeansVerifyFullAsInPgjdbc() {
    assertThat(CdcTls.properties("jdbc:postgresql://h/db?ssl=true", PG))
        .containsExactly(Map.entry("database.sslmode", "verify-full"));
    assertThat(CdcTls.properties("jdbc:postgresql://h/db?ssl=true&sslmode=require", PG))
        .containsExactly(Map.entry("database.sslmode", "require"));
  }

  @Test
  void anUnknownPostgresTlsModeOrParameterIsRefusedByName() {
    assertThatThrownBy(() -> CdcTls.properties("jdbc:postgresql://h/db?sslmode=verify_full", PG))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("outbox.relay.cdc.url parameter sslmode=verify_full")
        .hasMessageContaining("verify-full");
    assertThatThrownBy(() -> CdcTls.properties("jdbc:postgresql://h/db?sslrootcrt=/x", PG))
        .hasMessageContaining("outbox.relay.cdc.url parameter sslrootcrt=/x");
  }

  @Test
  void mysqlVerifyIdentityAndTrustStoreBecomeDebeziumProperties() {
    Properties p =
        engineConfig(
            "jdbc:mysql://h:3306/db?sslMode=VERIFY_IDENTITY&trustCertificateKeyStoreUrl=file:/x/trust.p12"
                + "&trustCertificateKeyStorePassword=tpw&clientCertificateKeyStoreUrl=file:///x/key.p12"
                + "&clientCertificateKeyStorePassword=kpw&trustCertificateKeyStoreType=PKCS12",
            OutboxDialect.mysql(),
            Map.<String, Object>of("bootstrap.servers", "k:9092"),
            null);
    assertThat(p)
        .containsEntry("connector.class", MYSQL)
        .containsEntry("database.ssl.mode", "verify_identity")
        .containsEntry("database.ssl.truststore", "/x/trust.p12")
        .containsEntry("database.ssl.truststore.password", "tpw")
        .containsEntry("database.ssl.keystore", "/x/key.p12")
        .containsEntry("database.ssl.keystore.password", "kpw");
  }

  @Test
  void mysqlModesAreRenderedForTheConnectorThatReadsTheBinlog() {
    assertThat(CdcTls.properties("jdbc:mysql://h/db?sslMode=REQUIRED", MYSQL))
        .containsEntry("database.ssl.mode", "required");
    assertThat(CdcTls.properties("jdbc:mysql://h/db?sslMode=VERIFY_CA", MYSQL))
        .containsEntry("database.ssl.mode", "verify_ca");
    assertThat(CdcTls.properties("jdbc:mysql://h/db?useSSL=false", MYSQL))
        .containsEntry("database.ssl.mode", "disabled");
    // A jdbc:mysql URL on a server detected as MariaDB: the MariaDB connector's names.
    assertThat(CdcTls.properties("jdbc:mysql://h/db?sslMode=VERIFY_IDENTITY", MARIADB))
        .containsEntry("database.ssl.mode", "verify-full");
    assertThatThrownBy(() -> CdcTls.properties("jdbc:mysql://h/db?sslMode=PREFERRED", MARIADB))
        .hasMessageContaining("outbox.relay.cdc.url parameter sslMode=PREFERRED");
  }

  @Test
  void mariaDbUrlNamesBecomeDebeziumProperties() {
    assertThat(
            CdcTls.properties(
                "jdbc:mariadb://h:3306/db?sslMode=verify-full&trustStore=/x/t.jks"
                    + "&trustStorePassword=tpw&keyStore=file:/x/k.jks&keyStorePassword=kpw",
                MARIADB))
        .containsEntry("database.ssl.mode", "verify-full")
        .containsEntry("database.ssl.truststore", "/x/t.jks")
        .containsEntry("database.ssl.truststore.password", "tpw")
        .containsEntry("database.ssl.keystore", "/x/k.jks")
        .containsEntry("database.ssl.keystore.password", "kpw");
  }

  @Test
  void aBinlogTlsParameterTheReaderCannotHonourIsRefusedByName() {
    assertThatThrownBy(
            () -> CdcTls.properties("jdbc:mariadb://h/db?serverSslCert=/x/ca.pem", MARIADB))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("outbox.relay.cdc.url parameter serverSslCert=/x/ca.pem")
        .hasMessageContaining("trustStore");
    assertThatThrownBy(() -> CdcTls.properties("jdbc:mysql://h/db?useSSL=true", MYSQL))
        .hasMessageContaining("parameter useSSL=true");
    assertThatThrownBy(
            () ->
                CdcTls.properties(
                    "jdbc:mysql://h/db?trustCertificateKeyStoreUrl=https://x/t.p12", MYSQL))
        .hasMessageContaining("trustCertificateKeyStoreUrl=https://x/t.p12")
        .hasMessageContaining("file");
  }

  @Test
  void aRefusedSecretParameterIsNotShown() {
    assertThatThrownBy(() -> CdcTls.properties("jdbc:mysql://h/db?sslTrustPassword=hunter2", MYSQL))
        .hasMessageContaining("sslTrustPassword=****")
        .hasMessageNotContaining("hunter2");
  }

  @Test
  void theTlsPasswordsStayOutOfTheOptionsToString() {
    CdcOptions options =
        CdcOptions.builder(
                "jdbc:mysql://h/db?sslMode=VERIFY_IDENTITY&trustCertificateKeyStorePassword=tpw1"
                    + "&password=pw2",
                "u",
                "pw3")
            .build();
    assertThat(options.toString()).doesNotContain("tpw1", "pw2", "pw3");
  }

  @Test
  void theKafkaOffsetsStoreGetsTheRelaysKafkaSecurity() {
    Map<String, Object> producer = new LinkedHashMap<>();
    producer.put("bootstrap.servers", "k:9093");
    producer.put("security.protocol", "SASL_SSL");
    producer.put("ssl.truststore.location", "/x/kafka-trust.p12");
    producer.put("ssl.truststore.password", new Password("ktpw"));
    producer.put("ssl.enabled.protocols", java.util.List.of("TLSv1.3", "TLSv1.2"));
    producer.put("sasl.mechanism", "SCRAM-SHA-512");
    producer.put("sasl.jaas.config", "org.apache.kafka.common.security.scram.ScramLoginModule x;");
    producer.put("sasl.login.callback.handler.class", String.class);
    producer.put("compression.type", "zstd");
    Properties p =
        engineConfig(
            "jdbc:postgresql://h:5432/db", OutboxDialect.postgresql(), producer, "cdc-offsets");
    assertThat(p)
        .containsEntry("offset.storage", "org.apache.kafka.connect.storage.KafkaOffsetBackingStore")
        .containsEntry("offset.storage.topic", "cdc-offsets")
        .containsEntry("bootstrap.servers", "k:9093")
        .containsEntry("security.protocol", "SASL_SSL")
        .containsEntry("ssl.truststore.location", "/x/kafka-trust.p12")
        .containsEntry("ssl.truststore.password", "ktpw")
        .containsEntry("ssl.enabled.protocols", "TLSv1.3,TLSv1.2")
        .containsEntry("sasl.mechanism", "SCRAM-SHA-512")
        .containsEntry(
            "sasl.jaas.config", "org.apache.kafka.common.security.scram.ScramLoginModule x;")
        .containsEntry("sasl.login.callback.handler.class", "java.lang.String")
        .doesNotContainKey("compression.type");
  }

  @Test
  void offsetsInTheDatabaseTakeNoKafkaSecurity() {
    Properties p =
        engineConfig(
            "jdbc:postgresql://h:5432/db",
            OutboxDialect.postgresql(),
            Map.<String, Object>of("bootstrap.servers", "k:9093", "security.protocol", "SSL"),
            null);
    assertThat(p).doesNotContainKey("security.protocol");
  }

  private static Properties engineConfig(
      String url, OutboxDialect dialect, Map<String, Object> producer, String offsetsTopic) {
    CdcOptions options = CdcOptions.builder(url, "u", "pw").offsetsInKafka(offsetsTopic).build();
    return CdcEngineConfig.of(settings(dialect, producer), options, dialect, "binding");
  }

  private static RelaySettings settings(OutboxDialect dialect, Map<String, Object> producer) {
    Duration second = Duration.ofSeconds(1);
    return new RelaySettings(
        (DataSource) null,
        dialect,
        OutboxTable.DEFAULT,
        OutboxTable.of("outbox_lease"),
        OutboxTable.of("outbox_member"),
        1,
        producer,
        TopicRouter.prefixed(""),
        null,
        false,
        100,
        RelayDefaults.BATCH_BYTES,
        1,
        Duration.ofMillis(10),
        second,
        second,
        second,
        second,
        3,
        second,
        2.0,
        second,
        second,
        CircuitBreakerConfig.ofDefaults(),
        null,
        second,
        false,
        false,
        (DataSource) null,
        new SimpleMeterRegistry(),
        Clock.systemUTC(),
        "test",
        null,
        Duration.ofMinutes(5),
        ObservationRegistry.NOOP,
        null);
  }
}
