package dev.outboxkit.relay.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.outboxkit.outbox.Outbox;
import dev.outboxkit.outbox.OutboxEvent;
import dev.outboxkit.test.KafkaTestBroker;
import dev.outboxkit.test.TestDatabase;
import dev.outboxkit.test.TestServers;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;

/** The standalone relay against real PostgreSQL and Kafka, checked over HTTP like an operator. */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
class OutboxRelayApplicationIntegrationTests {

  static final TestDatabase db = TestServers.postgres().createDatabase("relay_app");
  static final KafkaTestBroker kafka = TestServers.kafka();

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

  @AfterAll
  static void dropDatabase() {
    db.close();
  }

  @LocalServerPort int port;
  @Autowired Outbox outbox;
  @Autowired PlatformTransactionManager transactions;
  @Autowired JdbcTemplate jdbc;

  private HttpResponse<String> get(String path) throws Exception {
    return HttpClient.newHttpClient()
        .send(
            HttpRequest.newBuilder(URI.create("http://localhost:" + port + path)).build(),
            HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void servesHealthReadinessAndPrometheusMetricsWhilePublishing() throws Exception {
    new TransactionTemplate(transactions)
        .executeWithoutResult(s -> outbox.append("Payment", "p-1", "PaymentAuthorized", "{}"));
    await()
        .atMost(Duration.ofSeconds(60))
        .until(() -> get("/actuator/prometheus").body().contains("outbox_events_published_total"));
    String metrics = get("/actuator/prometheus").body();
    assertThat(metrics)
        .contains("outbox_backlog")
        .contains("outbox_lag_seconds")
        .contains("outbox_delivery_latency_seconds")
        .contains("outbox_relay_partitions_owned");
    assertThat(metrics).containsPattern("outbox_events_published_total\\{[^}]*\\} [1-9]");

    HttpResponse<String> health = get("/actuator/health");
    assertThat(health.statusCode()).isEqualTo(200);
    assertThat(health.body()).contains("\"outboxRelay\"").contains("\"ownedPartitions\":16");
    assertThat(get("/actuator/health/readiness").statusCode()).isEqualTo(200);
    assertThat(get("/actuator/health/liveness").statusCode()).isEqualTo(200);
  }

  @Test
  void listsAndReplaysParkedEventsOverHttp() throws Exception {
    OutboxEvent event =
        new TransactionTemplate(transactions)
            .execute(s -> outbox.append("Payment", "p-2", "PaymentRefunded", "{}"));
    await()
        .atMost(Duration.ofSeconds(60))
        .until(() -> jdbc.queryForObject("SELECT count(*) FROM outbox_event", Integer.class) == 0);
    // Put a copy back as parked, as the relay does after its last attempt.
    jdbc.update(
        "INSERT INTO outbox_event (id, aggregatetype, aggregateid, type, payload, created_at,"
            + " partition_no, status, attempts, last_error) VALUES (?, 'Payment', 'p-2',"
            + " 'PaymentRefunded', ?, now(), ?, 'DEAD', 10, 'test')",
        event.id(),
        "{}".getBytes(java.nio.charset.StandardCharsets.UTF_8),
        event.partition());
    String listed = get("/actuator/outboxparked").body();
    assertThat(listed).contains("\"count\":1").contains(event.id().toString());
    HttpResponse<String> replay =
        HttpClient.newHttpClient()
            .send(
                HttpRequest.newBuilder(
                        URI.create("http://localhost:" + port + "/actuator/outboxparked"))
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString("{\"ids\":\"" + event.id() + "\"}"))
                    .build(),
                HttpResponse.BodyHandlers.ofString());
    assertThat(replay.statusCode()).isEqualTo(200);
    assertThat(replay.body()).contains("\"replayed\":1");
    await()
        .atMost(Duration.ofSeconds(60))
        .until(() -> jdbc.queryForObject("SELECT count(*) FROM outbox_event", Integer.class) == 0);
  }
}
