package dev.outboxkit.relay.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.outboxkit.outbox.Outbox;
import dev.outboxkit.outbox.OutboxEvent;
import dev.outboxkit.outbox.OutboxHeaders;
import dev.outboxkit.outbox.jdbc.JdbcTransactions;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.test.KafkaTestBroker;
import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.ShippedScripts;
import dev.outboxkit.test.TestDatabase;
import dev.outboxkit.test.TestServers;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.extension.TestWatcher;
import org.springframework.core.io.Resource;
import org.springframework.core.io.support.PathMatchingResourcePatternResolver;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The packaged relay jar in CDC mode, as a new user runs it: {@code java -jar
 * outbox-relay-app-*.jar} in a JVM of its own, configured only by the environment variables that
 * docs/relay.md, docs/cdc.md and the Helm chart name, on a PostgreSQL database migrated with the
 * shipped Flyway scripts and the publication created by hand (the statement the start-up check
 * names). Health UP, an event appended after the start in Kafka with its key and payload bytes, the
 * parked-events endpoint answering the operator (empty, then listing a record larger than {@code
 * max.request.size}), and SIGTERM ending the process within the shutdown timeout with the CDC lease
 * released. Issue 11, finding 7: this jar once failed at start-up in CDC mode ({@code Start the
 * relay first}, from the {@code outboxparked} endpoint bean).
 *
 * <p>Runs in failsafe's {@code integration-test} phase, after {@code package} made the jar (its
 * path comes in {@code outboxkit.relay-app.jar}). The relay's output is in {@code
 * target/relay-jar-cdc-it.log}; its tail is printed when a test fails.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@ServerTest
class RelayJarCdcIT {

  static final String ENGINE = "relay_jar_cdc";
  static final String INSTANCE_ID = "relay-jar-cdc-it";
  static final String TOPIC = "payments.Payment";
  static final Duration SHUTDOWN_TIMEOUT = Duration.ofSeconds(10);
  static final int MAX_REQUEST_SIZE = 10_000;
  static final String OPERATOR_NAME = "relay-admin";
  static final String OPERATOR_PASSWORD = "it-s3cret-from-a-secret";
  static final JsonMapper JSON = RelayJar.JSON;

  private final TestDatabase db = TestServers.postgres().createDatabase("relay_jar_cdc");
  private final KafkaTestBroker kafka = TestServers.kafka();
  private final Path log = Path.of("target", "relay-jar-cdc-it.log").toAbsolutePath();
  private @Nullable RelayJar relay;
  private Outbox outbox;
  private JdbcTransactions tx;

  @RegisterExtension
  final TestWatcher printsTheRelaysLogOnFailure =
      new TestWatcher() {
        @Override
        public void testFailed(ExtensionContext context, @Nullable Throwable cause) {
          if (relay != null) {
            System.err.println(relay.tail(80));
          }
        }
      };

  @BeforeAll
  void migrateTheDatabaseAndStartTheJar() throws Exception {
    migrateWithTheShippedFlywayScripts();
    try (Connection c = db.openConnection();
        Statement s = c.createStatement()) {
      // What the CDC start-up check tells a user without auto-create to run.
      s.execute(
          "CREATE PUBLICATION outboxkit_pub FOR TABLE public.outbox_event WITH (publish = 'insert')");
    }
    kafka.createTopic(TOPIC, 2);
    tx = JdbcTransactions.of(db.dataSource());
    outbox = Outbox.builder().connectionProvider(tx).dialect(OutboxDialect.postgresql()).build();
    RelayJar jar = RelayJar.start(log, environment());
    relay = jar;
    try {
      jar.awaitHealthUp(Duration.ofSeconds(60));
      await("the CDC lease held by " + INSTANCE_ID)
          .atMost(Duration.ofSeconds(30))
          .pollInterval(Duration.ofMillis(100))
          .failFast("the relay process exited", () -> !jar.process().isAlive())
          // The owner is the instance id (OUTBOX_RELAY_INSTANCE_ID) plus a suffix per process.
          .until(() -> String.valueOf(leaseOwner()).startsWith(INSTANCE_ID));
    } catch (RuntimeException | AssertionError e) {
      throw new AssertionError("The relay jar did not start in CDC mode; " + jar.tail(80), e);
    }
  }

  /** Every PostgreSQL script of OutboxKit on the class path, in Flyway's version order. */
  private void migrateWithTheShippedFlywayScripts() throws Exception {
    String folder = "dev/outboxkit/schema/postgresql/";
    Resource[] found =
        new PathMatchingResourcePatternResolver().getResources("classpath*:" + folder + "V*.sql");
    List<String> scripts =
        Arrays.stream(found)
            .map(Resource::getFilename)
            .distinct()
            .sorted(Comparator.comparing(RelayJarCdcIT::version, RelayJarCdcIT::compareVersions))
            .toList();
    // The outbox (V0_1), the relay's tables (V0_3, V0_5) and the CDC state table (V0_4, V0_6).
    assertThat(scripts).anyMatch(s -> s.startsWith("V0_1__")).anyMatch(s -> s.startsWith("V0_4__"));
    try (Connection c = db.openConnection();
        Statement s = c.createStatement()) {
      for (String script : scripts) {
        for (String statement : ShippedScripts.statements(folder + script)) {
          s.execute(statement);
        }
      }
    }
  }

  private static int[] version(String script) {
    String v = script.substring(1, script.indexOf("__"));
    return Arrays.stream(v.split("[._]")).mapToInt(Integer::parseInt).toArray();
  }

  private static int compareVersions(int[] a, int[] b) {
    return Arrays.compare(a, b);
  }

  /**
   * The relay's whole configuration, with the names of docs/relay.md, docs/cdc.md and
   * deploy/helm/outbox-relay/templates/deployment.yaml.
   */
  private Map<String, String> environment() {
    Map<String, String> env = new LinkedHashMap<>();
    env.put("PORT", "0");
    env.put("MANAGEMENT_PORT", "0");
    env.put("SPRING_DATASOURCE_URL", db.jdbcUrl());
    env.put("SPRING_DATASOURCE_USERNAME", db.username());
    env.put("SPRING_DATASOURCE_PASSWORD", db.password());
    env.put("OUTBOX_RELAY_KAFKA_BOOTSTRAP_SERVERS", kafka.bootstrapServers());
    env.put("OUTBOX_RELAY_TOPICS_PREFIX", "payments.");
    env.put("OUTBOX_RELAY_MODE", "cdc");
    env.put("OUTBOX_STORE_PARTITIONS", "16");
    env.put("OUTBOX_STORE_TABLE_NAME", "outbox_event");
    env.put("OUTBOX_RELAY_CDC_NAME", ENGINE);
    env.put("OUTBOX_RELAY_INSTANCE_ID", INSTANCE_ID);
    env.put("OUTBOX_RELAY_MANAGEMENT_OPERATOR_ROLE", "OUTBOX_OPERATOR");
    env.put("SPRING_SECURITY_USER_NAME", OPERATOR_NAME);
    env.put("SPRING_SECURITY_USER_PASSWORD", OPERATOR_PASSWORD);
    env.put("SPRING_SECURITY_USER_ROLES", "OUTBOX_OPERATOR");
    // Not the chart's defaults, to keep the test short: a record above 10 kB is refused by the
    // producer (so parked at once), and the stop waits at most 10 s for the batch in flight.
    env.put("OUTBOX_RELAY_KAFKA_PROPERTIES_MAX_REQUEST_SIZE", String.valueOf(MAX_REQUEST_SIZE));
    env.put("OUTBOX_RELAY_SHUTDOWN_TIMEOUT", SHUTDOWN_TIMEOUT.toSeconds() + "s");
    return env;
  }

  @AfterAll
  void stopTheRelayAndDropTheDatabase() throws Exception {
    try {
      if (relay != null) {
        relay.close();
      }
    } finally {
      try (Connection c = db.openConnection();
          Statement s = c.createStatement()) {
        // A killed relay's walsender may linger a moment: end it, then drop its slot.
        s.execute(
            "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots"
                + " WHERE slot_name = '"
                + ENGINE
                + "' AND active_pid IS NOT NULL");
        await().atMost(Duration.ofSeconds(10)).until(() -> !slotActive(c).orElse(false));
        s.execute(
            "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots"
                + " WHERE slot_name = '"
                + ENGINE
                + "'");
      } finally {
        db.close();
      }
    }
  }

  @Test
  @Order(1)
  void healthIsUpAndTheOperatorSeesTheCdcRelayUp() throws Exception {
    HttpResponse<String> anonymous = relay().get("/actuator/health", null);
    assertThat(anonymous.statusCode()).isEqualTo(200);
    assertThat(JSON.readTree(anonymous.body()).path("status").asString()).isEqualTo("UP");
    assertThat(anonymous.body()).doesNotContain("outboxRelay");

    HttpResponse<String> readiness = relay().get("/actuator/health/readiness", null);
    assertThat(readiness.statusCode()).isEqualTo(200);
    assertThat(JSON.readTree(readiness.body()).path("status").asString()).isEqualTo("UP");

    JsonNode details = JSON.readTree(relay().get("/actuator/health", operator()).body());
    System.out.println("[relay-jar-cdc] health for the operator: " + details);
    assertThat(details.path("components").path("outboxRelay").path("status").asString())
        .as("outboxRelay health for the operator: %s", details)
        .isEqualTo("UP");
  }

  @Test
  @Order(2)
  void anEventAppendedAfterTheStartReachesKafkaWithItsKeyAndPayloadBytes() throws Exception {
    String payload =
        "{\"paymentId\":\"p-1\",\"amount\":\"12.50\",\"currency\":\"EUR\",\"note\":\"é€\"}";
    OutboxEvent event =
        tx.inTransaction(c -> outbox.append("Payment", "p-1", "PaymentAuthorized", payload));

    List<ConsumerRecord<byte[], byte[]>> read = readUntil(r -> hasEventId(r, event));
    ConsumerRecord<byte[], byte[]> record = read.get(read.size() - 1);
    assertThat(record.topic()).isEqualTo(TOPIC);
    assertThat(record.key()).isEqualTo("p-1".getBytes(StandardCharsets.UTF_8));
    assertThat(record.value()).isEqualTo(payload.getBytes(StandardCharsets.UTF_8));
    assertThat(header(record, OutboxHeaders.EVENT_TYPE)).isEqualTo("PaymentAuthorized");
    // Published and then deleted from the table (outbox.relay.cdc.delete-published, default on).
    await()
        .atMost(Duration.ofSeconds(15))
        .until(() -> count("SELECT count(*) FROM outbox_event") == 0);
  }

  @Test
  @Order(3)
  void theParkedEventsEndpointAnswersTheOperatorWithAnEmptyList() throws Exception {
    assertThat(relay().get("/actuator/outboxparked", null).statusCode()).isEqualTo(401);
    HttpResponse<String> parked = relay().get("/actuator/outboxparked", operator());
    assertThat(parked.statusCode()).isEqualTo(200);
    JsonNode body = JSON.readTree(parked.body());
    assertThat(body.path("count").asLong(-1)).as(parked.body()).isZero();
    assertThat(body.path("events").isArray()).as(parked.body()).isTrue();
    assertThat(body.path("events").size()).as(parked.body()).isZero();
  }

  @Test
  @Order(4)
  void aRecordLargerThanMaxRequestSizeIsParkedListedAndDoesNotHoldBackItsKey() throws Exception {
    byte[] big = new byte[2 * MAX_REQUEST_SIZE];
    Arrays.fill(big, (byte) 'x');
    OutboxEvent tooLarge =
        tx.inTransaction(c -> outbox.append("Payment", "p-2", "PaymentCaptured", big));
    OutboxEvent next =
        tx.inTransaction(c -> outbox.append("Payment", "p-2", "PaymentRefunded", "{}"));

    // The next event of the key goes out only once the large one is parked (held back until then).
    List<ConsumerRecord<byte[], byte[]>> records = readUntil(r -> hasEventId(r, next));
    assertThat(records).noneMatch(r -> hasEventId(r, tooLarge));
    // Marking the row DEAD may trail the next event's acknowledgement by a moment.
    await("the large event's row DEAD")
        .atMost(Duration.ofSeconds(15))
        .until(
            () ->
                count(
                        "SELECT count(*) FROM outbox_event WHERE status = 'DEAD' AND id = '"
                            + tooLarge.id()
                            + "'")
                    == 1);

    HttpResponse<String> parked = relay().get("/actuator/outboxparked", operator());
    assertThat(parked.statusCode()).isEqualTo(200);
    JsonNode body = JSON.readTree(parked.body());
    System.out.println("[relay-jar-cdc] GET /actuator/outboxparked: " + parked.body());
    assertThat(body.path("count").asLong(-1)).as(parked.body()).isEqualTo(1);
    JsonNode listed = body.path("events").path(0);
    assertThat(listed.path("id").asString()).as(parked.body()).isEqualTo(tooLarge.id().toString());
    assertThat(listed.path("aggregateType").asString()).isEqualTo("Payment");
    assertThat(listed.path("aggregateId").asString()).isEqualTo("p-2");
    assertThat(listed.path("eventType").asString()).isEqualTo("PaymentCaptured");
    assertThat(listed.path("lastError").asString()).as(parked.body()).isNotBlank();
  }

  @Test
  @Order(5)
  void sigtermEndsTheProcessWithinTheShutdownTimeoutAndReleasesTheCdcLease() throws Exception {
    Process process = relay().process();
    assertThat(process.isAlive()).isTrue();
    long start = System.nanoTime();
    process.destroy(); // SIGTERM, as Kubernetes stops a pod
    boolean exited = process.waitFor(SHUTDOWN_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
    long tookMs = (System.nanoTime() - start) / 1_000_000;
    System.out.printf("[relay-jar-cdc] exited=%s after SIGTERM in %d ms%n", exited, tookMs);
    assertThat(exited)
        .as("exited within outbox.relay.shutdown-timeout (%s) of SIGTERM", SHUTDOWN_TIMEOUT)
        .isTrue();
    System.out.printf("[relay-jar-cdc] exit status %d%n", process.exitValue());
    assertThat(process.exitValue()).as("exit status").isIn(0, 143);
    try (Connection c = db.openConnection();
        PreparedStatement s =
            c.prepareStatement(
                "SELECT owner_id, expires_at FROM outbox_cdc_state WHERE name = ?")) {
      s.setString(1, ENGINE);
      try (ResultSet rs = s.executeQuery()) {
        assertThat(rs.next()).as("the engine's row in outbox_cdc_state").isTrue();
        assertThat(rs.getString("owner_id")).as("owner_id after the stop").isNull();
        assertThat(rs.getTimestamp("expires_at")).as("expires_at after the stop").isNull();
      }
      assertThat(slotActive(c)).as("the replication slot after the stop").contains(false);
    }
    assertThat(relay().output()).as("the relay's log").doesNotContain(OPERATOR_PASSWORD);
  }

  private @Nullable String leaseOwner() throws SQLException {
    try (Connection c = db.openConnection();
        PreparedStatement s =
            c.prepareStatement(
                "SELECT owner_id FROM outbox_cdc_state WHERE name = ? AND expires_at > now()")) {
      s.setString(1, ENGINE);
      try (ResultSet rs = s.executeQuery()) {
        return rs.next() ? rs.getString(1) : null;
      }
    }
  }

  private static Optional<Boolean> slotActive(Connection c) throws SQLException {
    try (PreparedStatement s =
        c.prepareStatement("SELECT active FROM pg_replication_slots WHERE slot_name = ?")) {
      s.setString(1, ENGINE);
      try (ResultSet rs = s.executeQuery()) {
        return rs.next() ? Optional.of(rs.getBoolean(1)) : Optional.empty();
      }
    }
  }

  private long count(String sql) throws SQLException {
    try (Connection c = db.openConnection();
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery(sql)) {
      rs.next();
      return rs.getLong(1);
    }
  }

  /** Reads the topic from its beginning until a record matches; all records read, in order. */
  private List<ConsumerRecord<byte[], byte[]>> readUntil(
      Predicate<ConsumerRecord<byte[], byte[]>> last) {
    Properties p = new Properties();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
    p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(p)) {
      List<TopicPartition> partitions =
          consumer.partitionsFor(TOPIC, Duration.ofSeconds(10)).stream()
              .map(info -> new TopicPartition(TOPIC, info.partition()))
              .toList();
      consumer.assign(partitions);
      consumer.seekToBeginning(partitions);
      List<ConsumerRecord<byte[], byte[]>> read = new ArrayList<>();
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (System.nanoTime() < deadline) {
        for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
          read.add(r);
          if (last.test(r)) {
            return read;
          }
        }
        assertThat(relay().process().isAlive()).as("relay process alive").isTrue();
      }
      throw new AssertionError(
          "No matching record in "
              + TOPIC
              + " within 30 s; read "
              + read.stream()
                  .map(r -> header(r, OutboxHeaders.EVENT_ID))
                  .collect(Collectors.joining(", ")));
    }
  }

  private static boolean hasEventId(ConsumerRecord<byte[], byte[]> r, OutboxEvent event) {
    return event.id().toString().equals(header(r, OutboxHeaders.EVENT_ID));
  }

  private static @Nullable String header(ConsumerRecord<byte[], byte[]> r, String name) {
    Header h = r.headers().lastHeader(name);
    return h == null ? null : new String(h.value(), StandardCharsets.UTF_8);
  }

  private RelayJar relay() {
    assertThat(relay).as("the relay jar, started in @BeforeAll").isNotNull();
    return relay;
  }

  private static String operator() {
    return "Basic "
        + Base64.getEncoder()
            .encodeToString(
                (OPERATOR_NAME + ":" + OPERATOR_PASSWORD).getBytes(StandardCharsets.UTF_8));
  }
}
