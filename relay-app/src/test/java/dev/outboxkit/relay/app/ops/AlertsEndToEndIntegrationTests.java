package dev.outboxkit.relay.app.ops;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxkit.outbox.Outbox;
import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.TestDatabase;
import dev.outboxkit.test.TestServers;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import kafka.server.BrokerServer;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.test.KafkaClusterTestKit;
import org.apache.kafka.common.test.TestKitNodes;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;
import tools.jackson.databind.JsonNode;

/**
 * The shipped alert rules in a real Prometheus server (Debian package {@code prometheus}) that
 * scrapes the real relay app every second, while the Kafka broker goes away and comes back.
 *
 * <p>The rules Prometheus loads are {@code deploy/prometheus/outbox-relay-rules.yml} with one
 * documented change: every {@code for:} duration counted in minutes is counted in seconds instead
 * ({@code for: 10m} becomes {@code for: 10s}), so the test takes under a minute. Every expression,
 * label and annotation is the shipped one, which {@link
 * #theTestRulesDifferFromTheShippedOnesOnlyInFor} checks. {@code OutboxLagHigh} (lag above 300 s)
 * cannot be reached in a short test with the real expression; its threshold is covered by the
 * promtool unit tests.
 *
 * <ol>
 *   <li>Healthy relay, broker up: after warm-up not a single alert is pending or firing.
 *   <li>Broker stopped, writers keep appending: {@code OutboxBacklogGrowingWithoutPublishing} goes
 *       pending, and firing once its (shortened) {@code for} has held.
 *   <li>Broker back: the waiting events are delivered more than 5 s after their append, so {@code
 *       OutboxDeliveryLatencyBudgetBurnFast} (the SLO alert) fires, and the backlog alert resolves
 *       because events are published again.
 * </ol>
 *
 * Both alerts are awaited in state {@code firing} (not just {@code pending}): firing shows the
 * expression stayed true for the whole {@code for} window, and that {@code pending} came first.
 */
@ServerTest
class AlertsEndToEndIntegrationTests {

  static final String BACKLOG_ALERT = "OutboxBacklogGrowingWithoutPublishing";
  static final String SLO_ALERT = "OutboxDeliveryLatencyBudgetBurnFast";
  static final Pattern FOR_IN_MINUTES = Pattern.compile("(?m)^(\\s+for: )(\\d+)m$");

  private final List<AutoCloseable> resources = new ArrayList<>();

  @AfterEach
  void stopEverything() throws Exception {
    Exception first = null;
    for (int i = resources.size() - 1; i >= 0; i--) {
      AutoCloseable resource = resources.get(i);
      try {
        resource.close();
      } catch (Exception e) {
        if (first == null) {
          first = e;
        } else {
          first.addSuppressed(e);
        }
      }
    }
    if (first != null) {
      throw first;
    }
  }

  /** The shipped rules with every {@code for: Nm} turned into {@code for: Ns}. */
  static String testRules() throws Exception {
    String shipped = Files.readString(DeployFiles.rules(), StandardCharsets.UTF_8);
    return FOR_IN_MINUTES.matcher(shipped).replaceAll("$1$2s");
  }

  @Test
  @SuppressWarnings("unchecked")
  void theTestRulesDifferFromTheShippedOnesOnlyInFor() throws Exception {
    Yaml yaml = new Yaml(new SafeConstructor(new LoaderOptions()));
    Map<String, Object> shipped =
        yaml.load(Files.readString(DeployFiles.rules(), StandardCharsets.UTF_8));
    Map<String, Object> test = yaml.load(testRules());
    List<Map<String, Object>> shippedGroups = (List<Map<String, Object>>) shipped.get("groups");
    List<Map<String, Object>> testGroups = (List<Map<String, Object>>) test.get("groups");
    assertThat(testGroups).hasSameSizeAs(shippedGroups);
    int shortened = 0;
    for (int g = 0; g < shippedGroups.size(); g++) {
      List<Map<String, Object>> a = (List<Map<String, Object>>) shippedGroups.get(g).get("rules");
      List<Map<String, Object>> b = (List<Map<String, Object>>) testGroups.get(g).get("rules");
      assertThat(b).hasSameSizeAs(a);
      for (int r = 0; r < a.size(); r++) {
        Map<String, Object> original = new LinkedHashMap<>(a.get(r));
        Map<String, Object> copy = new LinkedHashMap<>(b.get(r));
        Object originalFor = original.remove("for");
        Object copyFor = copy.remove("for");
        assertThat(copy).isEqualTo(original);
        if (originalFor != null) {
          assertThat(String.valueOf(originalFor)).endsWith("m");
          assertThat(copyFor).isEqualTo(String.valueOf(originalFor).replace("m", "s"));
          shortened++;
        } else {
          assertThat(copyFor).isNull();
        }
      }
    }
    assertThat(shortened).isGreaterThanOrEqualTo(8);
  }

  @Test
  void aStoppedBrokerFiresTheBacklogAlertAndTheSlowDeliveriesAfterwardsTheSloAlert(
      @TempDir Path tmp) throws Exception {
    PrometheusServer.assumeInstalled();
    long started = System.nanoTime();
    KafkaClusterTestKit cluster = startBroker();
    resources.add(cluster);
    try (Admin admin = Admin.create(Map.of("bootstrap.servers", cluster.bootstrapServers()))) {
      admin
          .createTopics(List.of(new NewTopic("Payment", 2, (short) 1)))
          .all()
          .get(30, TimeUnit.SECONDS);
    }
    TestDatabase db = TestServers.postgres().createDatabase("ops_alerts_e2e");
    resources.add(db::close);
    ConfigurableApplicationContext app =
        RelayApps.start(
            db,
            cluster.bootstrapServers(),
            // Nothing is parked during the outage, and the relay retries quickly once the broker
            // is back (the default backoff would let the first retry wait up to 16 s).
            "outbox.relay.retry.max-attempts=1000",
            "outbox.relay.retry.initial-interval=100ms",
            "outbox.relay.retry.max-interval=1s",
            "outbox.relay.send-timeout=3s");
    resources.add(app);
    awaitOwnsAllPartitions(app);

    Path rules = tmp.resolve("outbox-relay-rules.yml");
    Files.writeString(rules, testRules(), StandardCharsets.UTF_8);
    Path config = tmp.resolve("prometheus.yml");
    Files.writeString(
        config,
        """
        global:
          scrape_interval: 1s
          scrape_timeout: 1s
          evaluation_interval: 1s
        rule_files:
          - %s
        scrape_configs:
          - job_name: outbox-relay
            metrics_path: /actuator/prometheus
            static_configs:
              - targets: ['127.0.0.1:%d']
        """
            .formatted(rules, RelayApps.managementPort(app)),
        StandardCharsets.UTF_8);
    PrometheusServer prometheus = PrometheusServer.start(config, tmp);
    resources.add(prometheus);

    // 1. Healthy. Until the first scrape OutboxRelayDown may be pending (absent(up)); once the
    // relay is scraped, no alert at all may be active for five evaluations in a row.
    Timeline timeline = new Timeline(prometheus);
    awaitTrue(
        Duration.ofSeconds(20),
        () -> prometheus.query("up{job=\"outbox-relay\"} == 1").size() == 1,
        "Prometheus scrapes the relay");
    awaitTrue(
        Duration.ofSeconds(10), () -> timeline.poll().isEmpty(), "a healthy relay trips no alert");
    long quietSince = System.nanoTime();
    while (System.nanoTime() - quietSince < TimeUnit.SECONDS.toNanos(5)) {
      assertThat(timeline.poll()).as("alerts while healthy").isEmpty();
      Thread.sleep(250);
    }
    assertThat(prometheus.query("outbox_backlog_events == 0").size()).isEqualTo(1);
    assertThat(timeline.statesOf(BACKLOG_ALERT)).as("backlog alert while healthy").isEmpty();
    assertThat(timeline.statesOf(SLO_ALERT)).as("SLO alert while healthy").isEmpty();

    // 2. The broker stops; writers keep appending.
    BrokerServer broker = cluster.brokers().values().iterator().next();
    broker.shutdown();
    broker.awaitShutdown();
    long outageStarted = System.nanoTime();
    Outbox outbox = app.getBean(Outbox.class);
    TransactionTemplate tx = new TransactionTemplate(app.getBean(PlatformTransactionManager.class));
    int[] appended = {0};
    awaitTrue(
        Duration.ofSeconds(45),
        () -> {
          tx.executeWithoutResult(
              s -> {
                for (int i = 0; i < 5; i++) {
                  outbox.append("Payment", "p-" + appended[0]++, "PaymentAuthorized", "{}");
                }
              });
          return timeline.poll().stream()
              .anyMatch(a -> isAlert(a, BACKLOG_ALERT) && "firing".equals(state(a)));
        },
        BACKLOG_ALERT + " fires during the outage");
    assertThat(timeline.statesOf(BACKLOG_ALERT))
        .as("pending first, then firing")
        .containsSubsequence("pending", "firing")
        .startsWith("pending");
    JsonNode backlog = timeline.last(BACKLOG_ALERT);
    assertThat(backlog.path("labels").path("application").asString()).isEqualTo("outbox-relay");
    assertThat(backlog.path("labels").path("table").asString()).isEqualTo("outbox_event");
    assertThat(backlog.path("labels").path("severity").asString()).isEqualTo("critical");
    assertThat(backlog.path("annotations").path("runbook_url").asString())
        .endsWith("docs/runbooks/outbox-backlog-growing-without-publishing.md");
    assertThat(timeline.statesOf(SLO_ALERT)).as("no delivery, so no slow delivery yet").isEmpty();
    double outageSeconds = (System.nanoTime() - outageStarted) / 1e9;

    // 3. The broker is back: the waiting events arrive late, the SLO alert fires, and the backlog
    // alert resolves because events are published again.
    broker.startup();
    cluster.waitForReadyBrokers();
    awaitTrue(
        Duration.ofSeconds(40),
        () -> {
          List<JsonNode> alerts = timeline.poll();
          return alerts.stream().anyMatch(a -> isAlert(a, SLO_ALERT) && "firing".equals(state(a)))
              && alerts.stream().noneMatch(a -> isAlert(a, BACKLOG_ALERT));
        },
        SLO_ALERT + " fires and " + BACKLOG_ALERT + " resolves after the outage");
    assertThat(timeline.statesOf(SLO_ALERT)).startsWith("pending").contains("firing");
    assertThat(timeline.last(SLO_ALERT).path("labels").path("slo").asString())
        .isEqualTo("outbox-delivery-latency");
    assertThat(prometheus.query("outbox_events_published_total > 0").size()).isEqualTo(1);
    System.out.printf(
        "[alerts-e2e] outage %.1f s, %d events appended during it; %s then %s; total %.1f s%n",
        outageSeconds,
        appended[0],
        timeline.statesOf(BACKLOG_ALERT),
        timeline.statesOf(SLO_ALERT),
        (System.nanoTime() - started) / 1e9);
  }

  private static KafkaClusterTestKit startBroker() throws Exception {
    // A cluster of this test's own, with a separate controller, so its broker can stop and start
    // again on the same port (as in BrokerOutageIntegrationTests); the shared broker stays up.
    KafkaClusterTestKit cluster =
        new KafkaClusterTestKit.Builder(
                new TestKitNodes.Builder()
                    .setCombined(false)
                    .setNumControllerNodes(1)
                    .setNumBrokerNodes(1)
                    .build())
            .setConfigProp("auto.create.topics.enable", "false")
            .setConfigProp("offsets.topic.replication.factor", "1")
            .setConfigProp("transaction.state.log.replication.factor", "1")
            .setConfigProp("transaction.state.log.min.isr", "1")
            .build();
    cluster.format();
    cluster.startup();
    cluster.waitForReadyBrokers();
    return cluster;
  }

  private static void awaitOwnsAllPartitions(ConfigurableApplicationContext app) throws Exception {
    awaitTrue(
        Duration.ofSeconds(30),
        () -> {
          Scrape s = new Scrape(RelayApps.scrape(app));
          return s.value("outbox_relay_partitions_owned") == 16
              && s.value("outbox_backlog_events") == 0;
        },
        "the relay owns all 16 partitions");
  }

  private static boolean isAlert(JsonNode alert, String name) {
    return name.equals(alert.path("labels").path("alertname").asString());
  }

  private static String state(JsonNode alert) {
    return alert.path("state").asString();
  }

  interface Check {
    boolean holds() throws Exception;
  }

  private static void awaitTrue(Duration timeout, Check check, String what) throws Exception {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!check.holds()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("Not within " + timeout + ": " + what);
      }
      Thread.sleep(250);
    }
  }

  /** Every answer of /api/v1/alerts, kept to check the order of states an alert went through. */
  private static final class Timeline {
    private final PrometheusServer prometheus;
    private final List<List<JsonNode>> polls = new ArrayList<>();

    Timeline(PrometheusServer prometheus) {
      this.prometheus = prometheus;
    }

    List<JsonNode> poll() throws Exception {
      List<JsonNode> alerts = new ArrayList<>();
      prometheus.alerts().forEach(alerts::add);
      polls.add(alerts);
      return alerts;
    }

    /** The alert's successive distinct states (e.g. [pending, firing]). */
    List<String> statesOf(String name) {
      List<String> states = new ArrayList<>();
      for (List<JsonNode> poll : polls) {
        poll.stream()
            .filter(a -> isAlert(a, name))
            .map(AlertsEndToEndIntegrationTests::state)
            .findFirst()
            .filter(s -> states.isEmpty() || !states.get(states.size() - 1).equals(s))
            .ifPresent(states::add);
      }
      return states;
    }

    JsonNode last(String name) {
      for (int i = polls.size() - 1; i >= 0; i--) {
        for (JsonNode alert : polls.get(i)) {
          if (isAlert(alert, name)) {
            return alert;
          }
        }
      }
      throw new AssertionError("never saw " + name);
    }
  }
}
