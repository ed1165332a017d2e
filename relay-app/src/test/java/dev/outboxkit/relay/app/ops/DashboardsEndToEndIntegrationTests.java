package dev.outboxkit.relay.app.ops;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.outboxkit.idempotency.Idempotency;
import dev.outboxkit.idempotency.IdempotencyKey;
import dev.outboxkit.idempotency.IdempotencyPurger;
import dev.outboxkit.idempotency.Inbox;
import dev.outboxkit.outbox.Outbox;
import dev.outboxkit.test.KafkaTestBroker;
import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.TestDatabase;
import dev.outboxkit.test.TestServers;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;
import tools.jackson.databind.JsonNode;

/**
 * The shipped Grafana dashboards against a real Prometheus (Debian package {@code prometheus}) that
 * scrapes two real relay apps as two releases would be scraped: a polling relay with idempotency
 * and the inbox in namespace {@code payments}, and a CDC relay on PostgreSQL (the slot metric) in
 * namespace {@code orders}, both in cluster {@code local}, with the shipped recording rules loaded
 * (the error-budget panel reads one). Every panel's every query and every variable's query, with
 * the variables at "All", must return data: at least one series with a number (not NaN). The
 * companion of {@link AlertsEndToEndIntegrationTests}, which drives the alerts through the same
 * Prometheus set-up; {@link GrafanaDashboardsTests} checks the dashboards' form without servers.
 */
@ServerTest
class DashboardsEndToEndIntegrationTests {

  static final KafkaTestBroker kafka = TestServers.kafka();
  static final String SLOT = "ops_dashboards_cdc";
  static final Pattern LABEL_VALUES = Pattern.compile("^label_values\\((.+),\\s*([a-zA-Z_]+)\\)$");

  private final List<AutoCloseable> resources = new ArrayList<>();

  @AfterEach
  void stopEverything() throws Exception {
    Exception first = null;
    for (int i = resources.size() - 1; i >= 0; i--) {
      try {
        resources.get(i).close();
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

  @Test
  void everyPanelAndVariableOfTheShippedDashboardsReturnsDataFromRealRelays(@TempDir Path tmp)
      throws Exception {
    PrometheusServer.assumeInstalled();
    kafka.createTopic("Payment", 2);
    TestDatabase pollingDb = TestServers.postgres().createDatabase("ops_dashboards_polling");
    resources.add(pollingDb::close);
    TestDatabase cdcDb = TestServers.postgres().createDatabase(SLOT);
    resources.add(
        () -> {
          try (Connection c = cdcDb.openConnection();
              Statement s = c.createStatement()) {
            s.execute(
                "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots"
                    + " WHERE slot_name = '"
                    + SLOT
                    + "' AND NOT active");
          } finally {
            cdcDb.close();
          }
        });
    ConfigurableApplicationContext polling =
        RelayApps.start(
            pollingDb,
            kafka,
            "spring.application.name=payments-outbox-relay",
            "outbox.idempotency.enabled=true",
            "outbox.idempotency.auto-create=true",
            "outbox.relay.retry.max-attempts=1");
    resources.add(polling);
    ConfigurableApplicationContext cdc =
        RelayApps.start(
            cdcDb,
            kafka,
            "spring.application.name=orders-outbox-relay",
            "outbox.relay.mode=cdc",
            "outbox.relay.cdc.name=" + SLOT,
            "outbox.relay.cdc.heartbeat-interval=500ms");
    resources.add(cdc);

    Path rules = tmp.resolve("outbox-relay-rules.yml");
    Files.writeString(rules, AlertsEndToEndIntegrationTests.testRules(), StandardCharsets.UTF_8);
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
          - job_name: payments-outbox-relay
            metrics_path: /actuator/prometheus
            static_configs:
              - targets: ['127.0.0.1:%d']
                labels: {namespace: payments, cluster: local}
          - job_name: orders-outbox-relay
            metrics_path: /actuator/prometheus
            static_configs:
              - targets: ['127.0.0.1:%d']
                labels: {namespace: orders, cluster: local}
        """
            .formatted(rules, RelayApps.managementPort(polling), RelayApps.managementPort(cdc)),
        StandardCharsets.UTF_8);
    PrometheusServer prometheus = PrometheusServer.start(config, tmp);
    resources.add(prometheus);

    // Work for every panel: deliveries in both relays, one event parked by the polling relay,
    // idempotency keys executed, replayed, refused and purged, an inbox duplicate.
    Outbox pollingOutbox = polling.getBean(Outbox.class);
    TransactionTemplate pollingTx =
        new TransactionTemplate(polling.getBean(PlatformTransactionManager.class));
    Outbox cdcOutbox = cdc.getBean(Outbox.class);
    TransactionTemplate cdcTx =
        new TransactionTemplate(cdc.getBean(PlatformTransactionManager.class));
    pollingTx.executeWithoutResult(s -> pollingOutbox.append("NoSuchTopic", "x-1", "Lost", "{}"));
    Idempotency idempotency = polling.getBean(Idempotency.class);
    Inbox inbox = polling.getBean(Inbox.class);
    IdempotencyKey key = IdempotencyKey.of("client-1", "key-1");
    for (int i = 0; i < 2; i++) {
      pollingTx.executeWithoutResult(s -> idempotency.execute(key, "fp", String.class, () -> "ok"));
      pollingTx.executeWithoutResult(s -> inbox.process("ledger", "message-1", () -> {}));
    }
    // The same key with another request: refused as a mismatch (the "Refused" panel).
    pollingTx.executeWithoutResult(
        s -> idempotency.execute(key, "another-fp", String.class, () -> "not run"));
    polling.getBean(IdempotencyPurger.class).purgeExpired();

    Map<String, String> queries = new LinkedHashMap<>();
    Dashboards.targets().forEach((where, expr) -> queries.put(where, Dashboards.forPromtool(expr)));
    Map<String, String[]> variables = new LinkedHashMap<>();
    Dashboards.variableQueries()
        .forEach(
            (where, query) -> {
              Matcher m = LABEL_VALUES.matcher(query);
              assertThat(m.matches()).as(where).isTrue();
              variables.put(where, new String[] {Dashboards.forPromtool(m.group(1)), m.group(2)});
            });
    assertThat(queries).hasSizeGreaterThan(15);

    int[] appended = {0};
    Map<String, String> empty = new TreeMap<>();
    await()
        .atMost(Duration.ofSeconds(90))
        .pollInterval(Duration.ofSeconds(1))
        .untilAsserted(
            () -> {
              // Keep events flowing, so rates and quantiles over the last minutes have data.
              pollingTx.executeWithoutResult(
                  s -> pollingOutbox.append("Payment", "p-" + appended[0]++, "Paid", "{}"));
              cdcTx.executeWithoutResult(
                  s -> cdcOutbox.append("Payment", "c-" + appended[0]++, "Paid", "{}"));
              // And idempotent requests, executed then replayed: the replayed share is a ratio of
              // rates, NaN while no request comes in.
              IdempotencyKey next = IdempotencyKey.of("client-1", "key-" + appended[0]);
              for (int i = 0; i < 2; i++) {
                pollingTx.executeWithoutResult(
                    s -> idempotency.execute(next, "fp", String.class, () -> "ok"));
              }
              empty.clear();
              for (Map.Entry<String, String> q : queries.entrySet()) {
                if (!hasNumber(prometheus.query(q.getValue()))) {
                  empty.put(q.getKey(), q.getValue());
                }
              }
              for (Map.Entry<String, String[]> v : variables.entrySet()) {
                String[] selectorAndLabel = v.getValue();
                String query =
                    "count by (" + selectorAndLabel[1] + ") (" + selectorAndLabel[0] + ")";
                JsonNode result = prometheus.query(query);
                boolean labelled = false;
                for (JsonNode series : result) {
                  labelled |= !series.path("metric").path(selectorAndLabel[1]).asString().isEmpty();
                }
                if (!labelled) {
                  empty.put(v.getKey(), query);
                }
              }
              assertThat(empty).as("panels and variables without data").isEmpty();
            });
    // Two releases, told apart: the namespace variable offers both.
    JsonNode namespaces = prometheus.query("count by (namespace) (outbox_relay_partitions_owned)");
    List<String> names = new ArrayList<>();
    namespaces.forEach(n -> names.add(n.path("metric").path("namespace").asString()));
    assertThat(names).containsExactlyInAnyOrder("payments", "orders");
    System.out.printf(
        "[dashboards-e2e] %d panel queries and %d variables return data; %d events appended%n",
        queries.size(), variables.size(), appended[0]);
  }

  /** Whether an instant query's result has at least one sample that is a number. */
  private static boolean hasNumber(JsonNode result) {
    for (JsonNode series : result) {
      String value = series.path("value").path(1).asString();
      if (!value.isEmpty()
          && !value.equals("NaN")
          && !value.equals("+Inf")
          && !value.equals("-Inf")) {
        return true;
      }
    }
    return false;
  }
}
