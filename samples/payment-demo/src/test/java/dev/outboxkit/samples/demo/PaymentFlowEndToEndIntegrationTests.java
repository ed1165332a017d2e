package dev.outboxkit.samples.demo;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxkit.test.ServerTest;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.jdbc.core.JdbcTemplate;

/**
 * The payment flow end to end on real PostgreSQL and Kafka: both services in this JVM, the relay in
 * a JVM of its own that the load generator kills with SIGKILL half-way and replaces.
 */
@ServerTest
class PaymentFlowEndToEndIntegrationTests {

  private static DemoStack stack;
  private final HttpClient http = HttpClient.newHttpClient();

  @BeforeAll
  static void start() {
    // A group of its own: the other end-to-end test's ledger reads the same topic on this broker.
    stack =
        DemoStack.start(
            DemoStack.Settings.fromEnvironment(false, true).withLedgerGroupId("ledger-flow-test"));
  }

  @AfterAll
  static void stop() {
    if (stack != null) {
      stack.close();
    }
  }

  @Test
  void everyAcceptedPaymentIsBookedOnceDespiteClientRetriesARelayKillAndRedeliveries()
      throws Exception {
    LoadGenerator.Options options =
        LoadGenerator.Options.parse(
            "--payments=600",
            "--rate=150",
            "--duplicates=0.25",
            "--captures=0.8",
            "--refunds=0.25",
            "--restart-relay",
            "--redeliver=100",
            "--timeout=120");

    LoadGenerator.Report report = LoadGenerator.run(options, stack);
    LoadGenerator.print(report);

    assertThat(report.violations()).isEmpty();
    assertThat(report.figure("paymentsAccepted")).isEqualTo(600);
    assertThat(report.figure("missingFromLedger")).isZero();
    assertThat(report.figure("bookedTwice")).isZero();
    assertThat(report.figure("balanced")).isOne();
    assertThat(report.figure("outboxLeft")).isZero();
    // Every client retry got the first answer back: no second payment, no second event.
    assertThat(report.figure("clientRetriesReplayed")).isPositive();
    // Every step of every payment is in the ledger once, and Kafka holds at least every event
    // (more when the killed relay had a batch acknowledged but not yet marked, plus the re-sent).
    // (the other test of this class may have booked a payment of its own)
    assertThat(report.figure("ledgerEntries"))
        .isGreaterThanOrEqualTo(report.figure("eventsExpected"));
    assertThat(report.figure("recordsOnTopic"))
        .isGreaterThanOrEqualTo(report.figure("eventsExpected") + 100);
    assertThat(report.figure("inboxDuplicatesSkipped")).isGreaterThanOrEqualTo(100);
    assertThat(report.relayEvents())
        .anyMatch(e -> e.startsWith("relay-1") && e.contains("SIGKILL"))
        .anyMatch(e -> e.startsWith("relay-2") && e.contains("took over"));
  }

  /**
   * The ledger's consumers are members of this stack's group on the broker, not of the sample's
   * default {@code ledger}: the listener's id used to be its group whatever {@code
   * spring.kafka.consumer.group-id} said, so both end-to-end tests' ledgers shared one group.
   */
  @Test
  void theLedgerConsumesInTheStacksOwnGroup() throws Exception {
    try (Admin admin =
        Admin.create(
            Map.<String, Object>of(
                AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, stack.settings().kafka()))) {
      ConsumerGroupDescription group =
          admin
              .describeConsumerGroups(List.of("ledger-flow-test"))
              .describedGroups()
              .get("ledger-flow-test")
              .get(30, TimeUnit.SECONDS);
      assertThat(group.members()).as("members of ledger-flow-test").hasSize(3);
    }
  }

  @Test
  void badInputAndInvalidTransitionsGetProblemsAndWriteNothing() throws Exception {
    JdbcTemplate payments = new JdbcTemplate(stack.payments().getBean(DataSource.class));
    long eventsBefore = count(payments, "outbox_event") + count(payments, "payment");

    HttpResponse<String> noKey = post("/payments", null, authorize(1250));
    assertThat(noKey.statusCode()).isEqualTo(400);
    assertThat(noKey.headers().firstValue("Content-Type")).hasValue("application/problem+json");

    HttpResponse<String> badAmount = post("/payments", "bad-amount-1", authorize(-5));
    assertThat(badAmount.statusCode()).isEqualTo(400);
    assertThat(badAmount.body())
        .contains("amountMinor")
        .contains("urn:outboxkit:sample:invalid-payment");

    HttpResponse<String> badCurrency =
        post("/payments", "bad-currency-1", authorize(100).replace("EUR", "euro"));
    assertThat(badCurrency.statusCode()).isEqualTo(400);
    assertThat(badCurrency.body()).contains("currency");

    HttpResponse<String> notJson = post("/payments", "not-json-1", "{");
    assertThat(notJson.statusCode()).isEqualTo(400);

    assertThat(count(payments, "outbox_event") + count(payments, "payment"))
        .isEqualTo(eventsBefore);

    HttpResponse<String> created = post("/payments", "transitions-1", authorize(700));
    assertThat(created.statusCode()).isEqualTo(201);
    String id = created.body().replaceAll(".*\"id\":\"([^\"]+)\".*", "$1");
    assertThat(created.headers().firstValue("Location")).hasValue("/payments/" + id);

    HttpResponse<String> refundTooEarly = post("/payments/" + id + "/refund", "transitions-2", "");
    assertThat(refundTooEarly.statusCode()).isEqualTo(409);
    assertThat(refundTooEarly.body())
        .contains("urn:outboxkit:sample:invalid-transition")
        .contains("AUTHORIZED");

    assertThat(post("/payments/" + id + "/capture", "transitions-3", "").statusCode())
        .isEqualTo(200);
    HttpResponse<String> captureAgain = post("/payments/" + id + "/capture", "transitions-4", "");
    assertThat(captureAgain.statusCode()).isEqualTo(409);
    assertThat(captureAgain.body()).contains("CAPTURED");
    // The same key as the successful capture is a replay, not a refusal.
    HttpResponse<String> replay = post("/payments/" + id + "/capture", "transitions-3", "");
    assertThat(replay.statusCode()).isEqualTo(200);
    assertThat(replay.headers().firstValue("Idempotent-Replayed")).hasValue("true");

    HttpResponse<String> reused = post("/payments", "transitions-1", authorize(701));
    assertThat(reused.statusCode()).isEqualTo(422);

    assertThat(
            payments.queryForObject(
                "SELECT COUNT(*) FROM outbox_event WHERE aggregateid = ?", Long.class, id))
        .as("one PaymentAuthorized, one PaymentCaptured; refusals and replays wrote no event")
        .isEqualTo(2);

    HttpResponse<String> get =
        http.send(
            HttpRequest.newBuilder(URI.create(stack.paymentUrl() + "/payments/" + id)).build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(get.body()).contains("\"status\":\"CAPTURED\"");
    HttpResponse<String> missing =
        http.send(
            HttpRequest.newBuilder(URI.create(stack.paymentUrl() + "/payments/nope")).build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(missing.statusCode()).isEqualTo(404);
  }

  private static String authorize(long amountMinor) {
    return "{\"payer\":\"alice\",\"merchant\":\"bookshop\",\"amountMinor\":"
        + amountMinor
        + ",\"currency\":\"EUR\"}";
  }

  private static long count(JdbcTemplate jdbc, String table) {
    return jdbc.queryForObject("SELECT COUNT(*) FROM " + table, Long.class);
  }

  private HttpResponse<String> post(String path, String key, String body) throws Exception {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(URI.create(stack.paymentUrl() + path))
            .timeout(Duration.ofSeconds(30))
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(body));
    if (key != null) {
      request.header("Idempotency-Key", key);
    }
    return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }
}
