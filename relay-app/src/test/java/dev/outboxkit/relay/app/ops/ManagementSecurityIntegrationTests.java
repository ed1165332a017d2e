package dev.outboxkit.relay.app.ops;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.outboxkit.outbox.Outbox;
import dev.outboxkit.outbox.OutboxEvent;
import dev.outboxkit.test.KafkaTestBroker;
import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.TestDatabase;
import dev.outboxkit.test.TestServers;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * The management port secured the way the Helm chart and the kustomize base configure it: one
 * operator user from {@code SPRING_SECURITY_USER_NAME / _PASSWORD / _ROLES} (a Kubernetes Secret)
 * and the role named by {@code OUTBOX_RELAY_MANAGEMENT_OPERATOR_ROLE}, here not the default. Replay
 * of all parked events and purge, refused, leave every parked row exactly as it was; the operator's
 * work; a user whose role is the default one but not the configured one is refused.
 */
@ServerTest
class ManagementSecurityIntegrationTests {

  static final TestDatabase db = TestServers.postgres().createDatabase("ops_management_security");
  static final KafkaTestBroker kafka = TestServers.kafka();
  static final String ROLE = "PAYMENTS_RELAY_ADMIN";
  static final String PATH = "/actuator/outboxparked";
  static final String REPLAY_ALL = "{\"ids\":\"all\"}";

  @BeforeAll
  static void topic() {
    kafka.createTopic("Payment", 2);
  }

  @AfterAll
  static void dropDatabase() {
    db.close();
  }

  private static ConfigurableApplicationContext start(String userRoles) {
    // As environment variables in the chart; --properties here, the same property names.
    return RelayApps.start(
        db,
        kafka,
        "spring.security.user.name=relay-admin",
        "spring.security.user.password=s3cret-from-a-secret",
        "spring.security.user.roles=" + userRoles,
        "outbox.relay.management.operator-role=" + ROLE);
  }

  private static String basic(String user, String password) {
    return "Basic "
        + Base64.getEncoder()
            .encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
  }

  static final String ADMIN = basic("relay-admin", "s3cret-from-a-secret");

  private static HttpResponse<String> call(
      ConfigurableApplicationContext app,
      String method,
      String path,
      @Nullable String auth,
      @Nullable String json)
      throws Exception {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(
                URI.create("http://localhost:" + RelayApps.managementPort(app) + path))
            .method(
                method,
                json == null
                    ? HttpRequest.BodyPublishers.noBody()
                    : HttpRequest.BodyPublishers.ofString(json));
    if (json != null) {
      request.header("Content-Type", "application/json");
    }
    if (auth != null) {
      request.header("Authorization", auth);
    }
    return HttpClient.newHttpClient().send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  /** Appends events, waits until they are published, then puts them back as parked (DEAD). */
  private static List<OutboxEvent> parkTwo(ConfigurableApplicationContext app, String prefix) {
    Outbox outbox = app.getBean(Outbox.class);
    JdbcTemplate jdbc = app.getBean(JdbcTemplate.class);
    TransactionTemplate tx = new TransactionTemplate(app.getBean(PlatformTransactionManager.class));
    List<OutboxEvent> events = new ArrayList<>();
    for (int i = 0; i < 2; i++) {
      String key = prefix + i;
      events.add(tx.execute(s -> outbox.append("Payment", key, "PaymentRefunded", "{}")));
    }
    await()
        .atMost(Duration.ofSeconds(60))
        .until(() -> jdbc.queryForObject("SELECT count(*) FROM outbox_event", Integer.class) == 0);
    for (OutboxEvent event : events) {
      jdbc.update(
          "INSERT INTO outbox_event (id, aggregatetype, aggregateid, type, payload, created_at,"
              + " partition_no, status, attempts, last_error) VALUES (?, 'Payment', ?,"
              + " 'PaymentRefunded', ?, now(), ?, 'DEAD', 10, 'test')",
          event.id(),
          event.aggregateId(),
          "{}".getBytes(StandardCharsets.UTF_8),
          event.partition());
    }
    return events;
  }

  private static List<Map<String, Object>> rows(ConfigurableApplicationContext app) {
    return app.getBean(JdbcTemplate.class)
        .queryForList(
            "SELECT id, status, attempts, last_error, next_attempt_at FROM outbox_event ORDER BY"
                + " id");
  }

  @Test
  void theOperatorFromTheSecretWithTheConfiguredRoleReplaysAndPurgesAndNobodyElseDoes()
      throws Exception {
    try (ConfigurableApplicationContext app = start(ROLE)) {
      List<OutboxEvent> parked = parkTwo(app, "s-");
      List<Map<String, Object>> before = rows(app);
      assertThat(before).hasSize(2).allMatch(r -> "DEAD".equals(r.get("status")));
      String purgePath = PATH + "/" + parked.get(1).id();

      assertThat(call(app, "GET", PATH, null, null).statusCode()).isEqualTo(401);
      assertThat(call(app, "POST", PATH, null, REPLAY_ALL).statusCode()).isEqualTo(401);
      assertThat(call(app, "DELETE", purgePath, null, null).statusCode()).isEqualTo(401);
      String wrongPassword = basic("relay-admin", "guess");
      assertThat(call(app, "POST", PATH, wrongPassword, REPLAY_ALL).statusCode()).isEqualTo(401);
      assertThat(call(app, "DELETE", purgePath, wrongPassword, null).statusCode()).isEqualTo(401);
      assertThat(rows(app)).as("nothing changed by refused calls").isEqualTo(before);

      // Health details: the configured role only.
      HttpResponse<String> anonymous = call(app, "GET", "/actuator/health", null, null);
      assertThat(anonymous.statusCode()).isEqualTo(200);
      assertThat(anonymous.body()).contains("\"status\":\"UP\"").doesNotContain("outboxRelay");
      assertThat(call(app, "GET", "/actuator/health", ADMIN, null).body())
          .contains("\"outboxRelay\"");

      HttpResponse<String> purge = call(app, "DELETE", purgePath, ADMIN, null);
      assertThat(purge.statusCode()).isEqualTo(200);
      assertThat(purge.body()).contains("\"purged\":1");
      HttpResponse<String> replay = call(app, "POST", PATH, ADMIN, REPLAY_ALL);
      assertThat(replay.statusCode()).isEqualTo(200);
      assertThat(replay.body()).contains("\"replayed\":1");
      // Replayed: published again and gone from the table.
      await().atMost(Duration.ofSeconds(60)).until(() -> rows(app).isEmpty());
    }
  }

  @Test
  void theDefaultRoleIsRefusedWhenAnotherRoleIsConfigured() throws Exception {
    try (ConfigurableApplicationContext app = start("OUTBOX_OPERATOR")) {
      List<OutboxEvent> parked = parkTwo(app, "d-");
      List<Map<String, Object>> before = rows(app);
      assertThat(before).hasSize(2);

      assertThat(call(app, "GET", PATH, ADMIN, null).statusCode()).isEqualTo(200);
      assertThat(call(app, "POST", PATH, ADMIN, REPLAY_ALL).statusCode()).isEqualTo(403);
      assertThat(call(app, "DELETE", PATH + "/" + parked.get(0).id(), ADMIN, null).statusCode())
          .isEqualTo(403);
      assertThat(rows(app)).as("nothing changed by refused calls").isEqualTo(before);
      assertThat(call(app, "GET", "/actuator/health", ADMIN, null).body())
          .contains("\"status\":\"UP\"")
          .doesNotContain("outboxRelay");
      // Clean up for the other test: the rows are this test's own.
      app.getBean(JdbcTemplate.class).update("DELETE FROM outbox_event");
    }
  }
}
