package dev.outboxkit.relay.app;

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
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.TestConfiguration;
import org.springframework.boot.test.web.server.LocalManagementPort;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.context.annotation.Bean;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.security.core.userdetails.User;
import org.springframework.security.provisioning.InMemoryUserDetailsManager;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * The standalone relay against real PostgreSQL and Kafka, checked over HTTP like an operator (and
 * like an attacker on the network): management on its own port, probes and Prometheus open, health
 * details and writes on parked events for the operator role only.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@ServerTest
class OutboxRelayApplicationIntegrationTests {

  static final TestDatabase db = TestServers.postgres().createDatabase("relay_app");
  static final KafkaTestBroker kafka = TestServers.kafka();
  static final String OPERATOR = basic("operator", "op-secret");
  static final String VIEWER = basic("viewer", "view-secret");

  @DynamicPropertySource
  static void servers(DynamicPropertyRegistry registry) {
    kafka.createTopic("Payment", 2);
    registry.add("spring.datasource.url", () -> db.jdbcUrl());
    registry.add("spring.datasource.username", () -> db.username());
    registry.add("spring.datasource.password", () -> db.password());
    registry.add("outbox.relay.kafka.bootstrap-servers", kafka::bootstrapServers);
    registry.add("outbox.store.auto-create", () -> "true");
    registry.add("outbox.relay.auto-create", () -> "true");
    registry.add("outbox.relay.polling.metrics-interval", () -> "100ms");
    // The embedded servers stop in their own shutdown hooks, maybe before the context closes:
    // do not let the relay's last lease release wait 30 s for a connection.
    registry.add("spring.datasource.hikari.connection-timeout", () -> "2000");
    registry.add("outbox.relay.shutdown-timeout", () -> "5s");
  }

  /** An operator and a user with another role. */
  @TestConfiguration
  static class Users {
    @Bean
    InMemoryUserDetailsManager users() {
      return new InMemoryUserDetailsManager(
          User.withUsername("operator")
              .password("{noop}op-secret")
              .roles("OUTBOX_OPERATOR")
              .build(),
          User.withUsername("viewer").password("{noop}view-secret").roles("VIEWER").build());
    }
  }

  @AfterAll
  static void dropDatabase() {
    db.close();
  }

  @LocalServerPort int port;
  @LocalManagementPort int managementPort;
  @Autowired Outbox outbox;
  @Autowired PlatformTransactionManager transactions;
  @Autowired JdbcTemplate jdbc;

  private static String basic(String user, String password) {
    return "Basic "
        + Base64.getEncoder()
            .encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
  }

  private HttpResponse<String> call(
      int port, String method, String path, @Nullable String auth, @Nullable String json)
      throws Exception {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(URI.create("http://localhost:" + port + path))
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

  private HttpResponse<String> get(String path, @Nullable String auth) throws Exception {
    return call(managementPort, "GET", path, auth, null);
  }

  private String status(OutboxEvent event) {
    return jdbc.queryForObject(
        "SELECT coalesce(max(status), 'GONE') FROM outbox_event WHERE id = ?",
        String.class,
        event.id());
  }

  private List<Map<String, Object>> parkedRows() {
    return jdbc.queryForList(
        "SELECT id, status, attempts, last_error, next_attempt_at FROM outbox_event"
            + " WHERE status = 'DEAD' ORDER BY id");
  }

  @Test
  void servesProbesAndPrometheusOpenlyAndHealthDetailsToTheOperatorOnly() throws Exception {
    new TransactionTemplate(transactions)
        .executeWithoutResult(s -> outbox.append("Payment", "p-1", "PaymentAuthorized", "{}"));
    await()
        .atMost(Duration.ofSeconds(60))
        .until(
            () ->
                get("/actuator/prometheus", null).body().contains("outbox_events_published_total"));
    String metrics = get("/actuator/prometheus", null).body();
    assertThat(metrics)
        .contains("outbox_backlog")
        .contains("outbox_lag_seconds")
        .contains("outbox_delivery_latency_seconds")
        .contains("outbox_relay_partitions_owned");
    assertThat(metrics).containsPattern("outbox_events_published_total\\{[^}]*\\} [1-9]");

    HttpResponse<String> anonymous = get("/actuator/health", null);
    assertThat(anonymous.statusCode()).isEqualTo(200);
    assertThat(anonymous.body())
        .contains("\"status\":\"UP\"")
        .doesNotContain("outboxRelay", "instanceId");
    assertThat(get("/actuator/health", VIEWER).body()).doesNotContain("instanceId");
    HttpResponse<String> operator = get("/actuator/health", OPERATOR);
    assertThat(operator.body()).contains("\"outboxRelay\"").contains("\"ownedPartitions\":16");
    assertThat(get("/actuator/health/readiness", null).statusCode()).isEqualTo(200);
    assertThat(get("/actuator/health/liveness", null).statusCode()).isEqualTo(200);

    // Nothing of the management surface on the application port.
    assertThat(call(port, "GET", "/actuator/health", null, null).statusCode()).isNotEqualTo(200);
    assertThat(call(port, "GET", "/actuator/outboxparked", OPERATOR, null).statusCode())
        .isNotEqualTo(200);
  }

  @Test
  void replaysAndPurgesParkedEventsOnlyForTheOperatorRole() throws Exception {
    TransactionTemplate tx = new TransactionTemplate(transactions);
    OutboxEvent replayMe =
        tx.execute(s -> outbox.append("Payment", "p-2", "PaymentRefunded", "{}"));
    OutboxEvent purgeMe = tx.execute(s -> outbox.append("Payment", "p-3", "PaymentRefunded", "{}"));
    await()
        .atMost(Duration.ofSeconds(60))
        .until(() -> jdbc.queryForObject("SELECT count(*) FROM outbox_event", Integer.class) == 0);
    // Put copies back as parked, as the relay does after its last attempt.
    for (OutboxEvent event : new OutboxEvent[] {replayMe, purgeMe}) {
      jdbc.update(
          "INSERT INTO outbox_event (id, aggregatetype, aggregateid, type, payload, created_at,"
              + " partition_no, status, attempts, last_error) VALUES (?, 'Payment', ?,"
              + " 'PaymentRefunded', ?, now(), ?, 'DEAD', 10, 'test')",
          event.id(),
          event.aggregateId(),
          "{}".getBytes(StandardCharsets.UTF_8),
          event.partition());
    }
    String replayBody = "{\"ids\":\"" + replayMe.id() + "\"}";
    String replayAll = "{\"ids\":\"all\"}";
    String path = "/actuator/outboxparked";
    List<Map<String, Object>> parkedRows = parkedRows();
    assertThat(parkedRows).hasSize(2);

    assertThat(get(path, null).statusCode()).isEqualTo(401);
    assertThat(get(path, VIEWER).body()).contains("\"count\":2").contains(replayMe.id().toString());

    assertThat(call(managementPort, "POST", path, null, replayBody).statusCode()).isEqualTo(401);
    assertThat(call(managementPort, "POST", path, VIEWER, replayBody).statusCode()).isEqualTo(403);
    assertThat(call(managementPort, "POST", path, null, replayAll).statusCode()).isEqualTo(401);
    assertThat(call(managementPort, "POST", path, VIEWER, replayAll).statusCode()).isEqualTo(403);
    assertThat(call(managementPort, "POST", path, basic("viewer", "wrong"), replayAll).statusCode())
        .isEqualTo(401);
    assertThat(
            call(managementPort, "POST", path, basic("operator", "wrong"), replayBody).statusCode())
        .isEqualTo(401);
    assertThat(call(managementPort, "DELETE", path + "/" + purgeMe.id(), null, null).statusCode())
        .isEqualTo(401);
    assertThat(call(managementPort, "DELETE", path + "/" + purgeMe.id(), VIEWER, null).statusCode())
        .isEqualTo(403);
    // On the application port the same requests reach nothing.
    assertThat(call(port, "POST", path, OPERATOR, replayBody).statusCode()).isNotEqualTo(200);
    // Refused means nothing changed: same rows, same status, attempts, error and next attempt.
    assertThat(parkedRows()).isEqualTo(parkedRows);
    assertThat(status(replayMe)).isEqualTo("DEAD");
    assertThat(status(purgeMe)).isEqualTo("DEAD");

    HttpResponse<String> replay = call(managementPort, "POST", path, OPERATOR, replayBody);
    assertThat(replay.statusCode()).isEqualTo(200);
    assertThat(replay.body()).contains("\"replayed\":1");
    await().atMost(Duration.ofSeconds(60)).until(() -> status(replayMe).equals("GONE"));

    HttpResponse<String> purge =
        call(managementPort, "DELETE", path + "/" + purgeMe.id(), OPERATOR, null);
    assertThat(purge.statusCode()).isEqualTo(200);
    assertThat(purge.body()).contains("\"purged\":1");
    assertThat(status(purgeMe)).isEqualTo("GONE");
  }

  /**
   * pgjdbc appends the server's DETAIL to its messages, and for a refused row that is "Failing row
   * contains (...)", every column: through the relay's own pool (logServerErrorDetail=false) a
   * database error says which constraint, not what the row held (review13 finding 3).
   */
  @Test
  void databaseErrorsThroughTheRelaysPoolCarryNoRowContents() {
    String secret = "card-4111111111111111";
    jdbc.execute(
        "CREATE TABLE IF NOT EXISTS review13_refused (v text CHECK (v NOT LIKE 'card-%'))");
    Throwable refused;
    try {
      refused =
          org.assertj.core.api.Assertions.catchThrowable(
              () -> jdbc.update("INSERT INTO review13_refused VALUES (?)", secret));
    } finally {
      jdbc.execute("DROP TABLE review13_refused");
    }
    assertThat(refused).isNotNull();
    for (Throwable t = refused; t != null; t = t.getCause()) {
      assertThat(String.valueOf(t)).as("the error and its causes").doesNotContain(secret);
    }
    assertThat(String.valueOf(refused)).contains("review13_refused_v_check");
  }
}
