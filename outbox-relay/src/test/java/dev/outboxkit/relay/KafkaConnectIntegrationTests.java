package dev.outboxkit.relay;

import static dev.outboxkit.relay.RelayTestSupport.appendSamples;
import static dev.outboxkit.relay.RelayTestSupport.assertSameRecords;
import static dev.outboxkit.relay.RelayTestSupport.headers;
import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxkit.outbox.Outbox;
import dev.outboxkit.outbox.OutboxEvent;
import dev.outboxkit.outbox.jdbc.JdbcTransactions;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.relay.spi.TopicRouter;
import dev.outboxkit.test.KafkaTestBroker;
import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.TestDatabaseExtension;
import dev.outboxkit.test.TestServers;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.utils.Exit;
import org.apache.kafka.connect.cli.ConnectStandalone;
import org.apache.kafka.connect.runtime.Connect;
import org.apache.kafka.connect.runtime.Herder;
import org.apache.kafka.connect.runtime.rest.entities.ConnectorInfo;
import org.apache.kafka.connect.runtime.standalone.StandaloneHerder;
import org.apache.kafka.connect.util.FutureCallback;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.parallel.Isolated;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The Kafka Connect path: the shipped {@code deploy/kafka-connect/outbox-connector-postgres.json}
 * and {@code outbox-connector-mysql.json} (Debezium's connector + OutboxKit's {@code
 * OutboxRecordRouter}) in a real standalone Connect worker in this JVM produce the very records the
 * polling relay sends for the same rows.
 */
@ServerTest
// Alone: it replaces Kafka's Exit procedure, which is JVM-wide (a Connect worker may call it from
// any thread, and another class's Kafka code would meet the replaced one), and the worker's
// replication slot has a fixed name.
@Isolated
class KafkaConnectIntegrationTests {

  @RegisterExtension static final TestDatabaseExtension postgres = TestDatabaseExtension.postgres();

  @RegisterExtension static final TestDatabaseExtension mysql = TestDatabaseExtension.mysql();

  static final KafkaTestBroker kafka = TestServers.kafka();

  /** Where the shipped files expect the worker's secrets. */
  private static final String SHIPPED_SECRETS_DIR = "/etc/kafka-connect/secrets";

  private Connect<StandaloneHerder> connect;
  private OutboxRelay polling;

  @AfterEach
  void stop() throws Exception {
    if (connect != null) {
      connect.stop();
    }
    if (polling != null) {
      polling.close();
    }
    Exit.resetExitProcedure();
    Exit.resetHaltProcedure();
    try (Connection c = postgres.dataSource().getConnection();
        Statement s = c.createStatement()) {
      s.execute(
          "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots"
              + " WHERE slot_name = 'connect_test' AND NOT active");
    }
  }

  @Test
  void theShippedConnectorConfigurationSendsTheRelaysRecords() throws Exception {
    sendsTheRelaysRecords(postgres, "outbox-connector-postgres.json");
  }

  @Test
  void theShippedMySqlConnectorConfigurationSendsTheRelaysRecords() throws Exception {
    sendsTheRelaysRecords(mysql, "outbox-connector-mysql.json");
  }

  private void sendsTheRelaysRecords(TestDatabaseExtension db, String file) throws Exception {
    OutboxDialect dialect = RelayTables.create(db.dataSource());
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement()) {
      s.execute("DELETE FROM outbox_event");
    }
    String topic = "connect" + System.nanoTime() % 100_000;
    kafka.createTopic("connect-" + topic, 4);
    kafka.createTopic("poll-" + topic, 4);
    JdbcTransactions tx = JdbcTransactions.of(db.dataSource());
    Outbox outbox = Outbox.builder().connectionProvider(tx).dialect(dialect).build();
    List<OutboxEvent> committed = appendSamples(tx, outbox, topic);

    Exit.setExitProcedure(
        (code, message) -> {
          throw new IllegalStateException("Connect tried to exit " + code + ": " + message);
        });
    Exit.setHaltProcedure(
        (code, message) -> {
          throw new IllegalStateException("Connect tried to halt " + code + ": " + message);
        });
    Path work = Files.createTempDirectory("connect");
    Map<String, String> worker = new HashMap<>();
    worker.put("bootstrap.servers", kafka.bootstrapServers());
    worker.put("key.converter", "org.apache.kafka.connect.storage.StringConverter");
    worker.put("value.converter", "org.apache.kafka.connect.converters.ByteArrayConverter");
    worker.put("offset.storage.file.filename", work.resolve("offsets").toString());
    worker.put("offset.flush.interval.ms", "1000");
    worker.put("listeners", "http://127.0.0.1:0");
    worker.put("plugin.discovery", "only_scan");
    // The shipped worker settings for secrets, the secrets folder moved to a temporary one.
    Path secrets = Files.createDirectories(work.resolve("secrets"));
    Files.writeString(
        secrets.resolve("outboxkit-db.properties"), "password=" + db.database().password() + "\n");
    java.util.Properties providers = new java.util.Properties();
    try (var in =
        Files.newBufferedReader(
            Path.of("../deploy/kafka-connect/worker-config-providers.properties"))) {
      providers.load(in);
    }
    providers.forEach(
        (k, v) ->
            worker.put((String) k, ((String) v).replace(SHIPPED_SECRETS_DIR, secrets.toString())));
    connect = new ConnectStandalone().startConnect(worker);

    URI url = URI.create(db.database().jdbcUrl().substring("jdbc:".length()));
    Map<String, String> substitutions =
        Map.of(
            "${DB_HOST}",
            url.getHost(),
            "${DB_PORT}",
            String.valueOf(url.getPort()),
            "${DB_NAME}",
            url.getPath().substring(1),
            "${DB_USER}",
            db.database().username(),
            SHIPPED_SECRETS_DIR,
            secrets.toString(),
            "${SLOT_NAME}",
            "connect_test",
            "${TOPIC_PREFIX}",
            "connect-",
            "${KAFKA_BOOTSTRAP_SERVERS}",
            kafka.bootstrapServers());
    JsonNode shipped =
        JsonMapper.builder().build().readTree(Path.of("../deploy/kafka-connect/" + file).toFile());
    Map<String, String> config = new LinkedHashMap<>();
    shipped
        .get("config")
        .properties()
        .forEach(
            e -> {
              String value = e.getValue().asString();
              for (Map.Entry<String, String> s : substitutions.entrySet()) {
                value = value.replace(s.getKey(), s.getValue());
              }
              config.put(e.getKey(), value);
            });
    // The REST API (PUT /connectors/{name}/config) adds the name itself; the herder wants it here.
    config.put("name", shipped.get("name").asString());
    FutureCallback<Herder.Created<ConnectorInfo>> created = new FutureCallback<>();
    connect.herder().putConnectorConfig(shipped.get("name").asString(), config, false, created);
    created.get(60, TimeUnit.SECONDS);
    // What Connect stores (config topic) and shows (REST API) is the reference, not the password.
    FutureCallback<Map<String, String>> stored = new FutureCallback<>();
    connect.herder().connectorConfig(shipped.get("name").asString(), stored);
    assertThat(stored.get(30, TimeUnit.SECONDS))
        .containsEntry(
            "database.password",
            "${file:" + secrets.resolve("outboxkit-db.properties") + ":password}");

    List<ConsumerRecord<byte[], byte[]>> viaConnect;
    try (KafkaReader reader = new KafkaReader(kafka.bootstrapServers(), "connect-" + topic)) {
      reader.readAtLeast(3, Duration.ofSeconds(90));
      viaConnect = reader.readFor(Duration.ofMillis(500));
    }
    polling =
        TestRelayBuilder.relay()
            .dataSource(db.dataSource())
            .bootstrapServers(kafka.bootstrapServers())
            .topicRouter(TopicRouter.prefixed("poll-"))
            .leases(Duration.ofSeconds(2), Duration.ofMillis(250))
            .pollInterval(Duration.ofMillis(5), Duration.ofMillis(100))
            .meterRegistry(new SimpleMeterRegistry())
            .build();
    polling.start();
    List<ConsumerRecord<byte[], byte[]>> viaPolling;
    try (KafkaReader reader = new KafkaReader(kafka.bootstrapServers(), "poll-" + topic)) {
      viaPolling = reader.readAtLeast(3, Duration.ofSeconds(30));
    }

    Map<String, ConsumerRecord<byte[], byte[]>> polled =
        assertSameRecords(viaConnect, viaPolling, 3);
    assertThat(headers(polled.get(committed.get(0).id().toString())))
        .containsEntry("outbox-tenant", "tenant-a")
        .containsEntry("x-source", "checkout ü");
  }
}
