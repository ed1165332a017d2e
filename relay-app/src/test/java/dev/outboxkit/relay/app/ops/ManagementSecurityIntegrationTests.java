package dev.outboxkit.relay.app.ops;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.outboxkit.outbox.Outbox;
import dev.outboxkit.outbox.OutboxEvent;
import dev.outboxkit.relay.FailureFingerprint;
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
import java.util.UUID;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

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

  /**
   * Issue 21: the failure groups, filters, dry runs and bulk replay and purge of {@code
   * /actuator/outboxparked} over real HTTP and the shipped management security: status codes, the
   * JSON each answers, the audit rows each writes, and that nothing changes for a caller who is not
   * authenticated.
   */
  @Test
  void theOperatorListsGroupsDryRunsAndReplaysAndPurgesAGroupOverHttp() throws Exception {
    String acl = "org.apache.kafka.common.errors.TopicAuthorizationException: Not authorized to";
    String tooLarge = "org.apache.kafka.common.errors.RecordTooLargeException: The message is";
    try (ConfigurableApplicationContext app = start(ROLE)) {
      JdbcTemplate jdbc = app.getBean(JdbcTemplate.class);
      long auditBefore =
          jdbc.queryForObject("SELECT COALESCE(MAX(id), 0) FROM outbox_audit", Long.class);
      List<UUID> aclIds =
          List.of(
              parkedRow(jdbc, "g-1", acl + " access topics: [Payment-1]"),
              parkedRow(jdbc, "g-2", acl + " access topics: [Payment-22]"));
      UUID large = parkedRow(jdbc, "g-3", tooLarge + " 2000123 bytes when serialized");
      String aclGroup = FailureFingerprint.of(acl + " access topics: [Payment-1]").id();
      assertThat(FailureFingerprint.of(acl + " access topics: [Payment-22]").id())
          .isEqualTo(aclGroup);

      // Groups: one line per cause, readable by the operator, not by an anonymous caller.
      assertThat(call(app, "GET", PATH + "?groups=true", null, null).statusCode()).isEqualTo(401);
      HttpResponse<String> groups = call(app, "GET", PATH + "?groups=true", ADMIN, null);
      assertThat(groups.statusCode()).isEqualTo(200);
      JsonNode listed = JSON.readTree(groups.body());
      assertThat(listed.get("count").asLong()).isEqualTo(3);
      assertThat(listed.get("groups")).hasSize(2);
      JsonNode aclListed = null;
      for (JsonNode group : listed.get("groups")) {
        if (group.get("fingerprint").get("id").asString().equals(aclGroup)) {
          aclListed = group;
        }
      }
      assertThat(aclListed).as("group %s in %s", aclGroup, groups.body()).isNotNull();
      assertThat(aclListed.get("count").asLong()).isEqualTo(2);
      assertThat(aclListed.get("fingerprint").get("exceptionClass").asString())
          .isEqualTo("TopicAuthorizationException");
      assertThat(aclListed.get("exampleIds").valueStream().map(JsonNode::asString))
          .containsExactlyInAnyOrderElementsOf(aclIds.stream().map(UUID::toString).toList());
      assertThat(aclListed.get("aggregateTypes").get(0).asString()).isEqualTo("Payment");
      assertThat(aclListed.has("firstSeen") && aclListed.has("lastSeen")).isTrue();

      // The events of one group.
      HttpResponse<String> ofGroup = call(app, "GET", PATH + "?group=" + aclGroup, ADMIN, null);
      assertThat(ofGroup.statusCode()).isEqualTo(200);
      assertThat(JSON.readTree(ofGroup.body()).get("events")).hasSize(2);

      List<Map<String, Object>> before = rows(app);
      String replayGroup = "{\"group\":\"" + aclGroup + "\",\"batchSize\":1}";
      assertThat(call(app, "POST", PATH, null, replayGroup).statusCode()).isEqualTo(401);
      assertThat(call(app, "DELETE", PATH + "?group=" + aclGroup, null, null).statusCode())
          .isEqualTo(401);
      HttpResponse<String> noFilter = call(app, "POST", PATH, ADMIN, "{\"batchSize\":10}");
      assertThat(noFilter.statusCode()).isEqualTo(400);
      assertThat(JSON.readTree(noFilter.body()).get("error").asString()).contains("a group");

      // Dry runs: what would happen, nothing changed.
      HttpResponse<String> dryReplay =
          call(app, "POST", PATH, ADMIN, "{\"group\":\"" + aclGroup + "\",\"dryRun\":true}");
      assertThat(dryReplay.statusCode()).isEqualTo(200);
      JsonNode dry = JSON.readTree(dryReplay.body());
      assertThat(dry.get("dryRun").asBoolean()).isTrue();
      assertThat(dry.get("matched").asLong()).isEqualTo(2);
      assertThat(dry.get("filter").asString()).contains(aclGroup);
      HttpResponse<String> dryPurge =
          call(app, "DELETE", PATH + "?errorLike=RecordTooLarge&dryRun=true", ADMIN, null);
      assertThat(dryPurge.statusCode()).isEqualTo(200);
      assertThat(JSON.readTree(dryPurge.body()).get("matched").asLong()).isEqualTo(1);
      assertThat(rows(app)).as("nothing changed by refused calls and dry runs").isEqualTo(before);

      // The group replayed in batches of one, the other cause purged by a filter.
      HttpResponse<String> replay = call(app, "POST", PATH, ADMIN, replayGroup);
      assertThat(replay.statusCode()).isEqualTo(200);
      JsonNode replayed = JSON.readTree(replay.body());
      assertThat(replayed.get("replayed").asLong()).isEqualTo(2);
      assertThat(replayed.get("matched").asLong()).isEqualTo(2);
      assertThat(replayed.get("batches").asLong()).isEqualTo(2);
      HttpResponse<String> purge =
          call(app, "DELETE", PATH + "?errorLike=RecordTooLarge", ADMIN, null);
      assertThat(purge.statusCode()).isEqualTo(200);
      assertThat(JSON.readTree(purge.body()).get("purged").asLong()).isEqualTo(1);
      assertThat(
              jdbc.queryForObject(
                  "SELECT count(*) FROM outbox_event WHERE id = ?", Long.class, large))
          .isZero();
      // Replayed: published and gone from the table.
      await().atMost(Duration.ofSeconds(60)).until(() -> rows(app).isEmpty());

      List<String> audit =
          jdbc.queryForList(
              "SELECT operation || ' ' || outcome || ' ' || principal || ' ' || item_count"
                  + " FROM outbox_audit WHERE id > ? ORDER BY id",
              String.class,
              auditBefore);
      assertThat(audit)
          .as(
              "audit trail of the calls above (the security filter answers 401 before the endpoint)")
          .contains(
              "REPLAY REFUSED relay-admin 0", "REPLAY OK relay-admin 1", "PURGE OK relay-admin 1")
          .filteredOn(line -> line.equals("REPLAY OK relay-admin 1"))
          .as("one record per batch of one")
          .hasSize(2);
      assertThat(audit).anyMatch(line -> line.startsWith("LIST OK relay-admin"));
    }
  }

  private static final JsonMapper JSON = JsonMapper.builder().build();

  /** A parked (DEAD) row of the Payment aggregate, written directly: it is never sent first. */
  private static UUID parkedRow(JdbcTemplate jdbc, String key, String error) {
    UUID id = UUID.randomUUID();
    jdbc.update(
        "INSERT INTO outbox_event (id, aggregatetype, aggregateid, type, payload, created_at,"
            + " partition_no, status, attempts, last_error) VALUES (?, 'Payment', ?,"
            + " 'PaymentRefunded', ?, now(), 0, 'DEAD', 10, ?)",
        id,
        key,
        "{}".getBytes(StandardCharsets.UTF_8),
        error);
    return id;
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
