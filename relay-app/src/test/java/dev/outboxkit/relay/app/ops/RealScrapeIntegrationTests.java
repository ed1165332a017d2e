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
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * Real scrapes of {@code /actuator/prometheus} from the standalone relay app, once in polling mode
 * (events published, one parked by the relay itself, idempotency keys and the inbox used: executed,
 * replayed, duplicate) and once in CDC mode on PostgreSQL (the slot metric). Every metric name and
 * every label value that the shipped alert rules, runbooks and dashboards select must be in them,
 * so renaming a meter or a tag fails the build. (The runbooks' SQL blocks, which ran here against
 * the real schema, are operator CLI commands now: {@code OperatorCliDocsTests}.)
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@ServerTest
class RealScrapeIntegrationTests {

  static final TestDatabase pollingDb = TestServers.postgres().createDatabase("ops_scrape_polling");
  static final TestDatabase cdcDb = TestServers.postgres().createDatabase("ops_scrape_cdc");
  static final KafkaTestBroker kafka = TestServers.kafka();
  static final String SLOT = "ops_scrape_cdc";

  private Scrape scrape;
  private Set<String> recordingRules;

  @BeforeAll
  void scrapeBothModes() throws Exception {
    kafka.createTopic("Payment", 2);
    String polling = scrapePollingWithIdempotencyAndAParkedEvent();
    String cdc = scrapeCdc();
    Path dir = Path.of("target");
    Files.createDirectories(dir);
    Files.writeString(
        dir.resolve("prometheus-scrape-polling.txt"), polling, StandardCharsets.UTF_8);
    Files.writeString(dir.resolve("prometheus-scrape-cdc.txt"), cdc, StandardCharsets.UTF_8);
    scrape = new Scrape(polling).with(new Scrape(cdc));
    recordingRules = new LinkedHashSet<>();
    AlertRules.load(DeployFiles.rules()).stream()
        .filter(r -> !r.isAlert())
        .forEach(r -> recordingRules.add(r.record()));
  }

  private String scrapePollingWithIdempotencyAndAParkedEvent() throws Exception {
    try (ConfigurableApplicationContext app =
        RelayApps.start(
            pollingDb,
            kafka,
            "outbox.idempotency.enabled=true",
            "outbox.idempotency.auto-create=true",
            "outbox.relay.retry.max-attempts=1",
            // Registers outbox_parked_retention_failures_total, which OutboxParkedRetentionFailing
            // reads.
            "outbox.relay.parked.retention=30d")) {
      Outbox outbox = app.getBean(Outbox.class);
      Idempotency idempotency = app.getBean(Idempotency.class);
      Inbox inbox = app.getBean(Inbox.class);
      JdbcTemplate jdbc = app.getBean(JdbcTemplate.class);
      TransactionTemplate tx =
          new TransactionTemplate(app.getBean(PlatformTransactionManager.class));
      tx.executeWithoutResult(
          s -> {
            outbox.append("Payment", "p-1", "PaymentAuthorized", "{}");
            outbox.append("Payment", "p-2", "PaymentAuthorized", "{}");
          });
      // No such topic: with max-attempts=1 the relay parks it at its first failure.
      tx.executeWithoutResult(s -> outbox.append("NoSuchTopic", "x-1", "Lost", "{}"));
      IdempotencyKey key = IdempotencyKey.of("client-1", "key-1");
      for (int i = 0; i < 2; i++) {
        tx.executeWithoutResult(s -> idempotency.execute(key, "fp", String.class, () -> "ok"));
        tx.executeWithoutResult(s -> inbox.process("ledger", "message-1", () -> {}));
      }
      app.getBean(IdempotencyPurger.class).purgeExpired();
      await()
          .atMost(Duration.ofSeconds(30))
          .until(
              () ->
                  jdbc.queryForObject(
                          "SELECT count(*) FROM outbox_event WHERE status = 'DEAD'", Integer.class)
                      == 1);
      await()
          .atMost(Duration.ofSeconds(30))
          .until(
              () -> {
                Scrape s = new Scrape(RelayApps.scrape(app));
                return s.value("outbox_events_published_total") == 2
                    && s.value("outbox_events_dead_total") == 1
                    && s.value("outbox_events_parked") == 1;
              });
      return RelayApps.scrape(app);
    }
  }

  private String scrapeCdc() throws Exception {
    try (ConfigurableApplicationContext app =
        RelayApps.start(
            cdcDb,
            kafka,
            "outbox.relay.mode=cdc",
            "outbox.relay.cdc.name=" + SLOT,
            "outbox.relay.cdc.heartbeat-interval=500ms")) {
      Outbox outbox = app.getBean(Outbox.class);
      new TransactionTemplate(app.getBean(PlatformTransactionManager.class))
          .executeWithoutResult(s -> outbox.append("Payment", "c-1", "PaymentAuthorized", "{}"));
      await()
          .atMost(Duration.ofSeconds(60))
          .until(
              () -> {
                Scrape s = new Scrape(RelayApps.scrape(app));
                return s.value("outbox_events_published_total") == 1
                    && s.value("outbox_cdc_slot_lag_bytes") >= 0;
              });
      return RelayApps.scrape(app);
    }
  }

  @AfterAll
  void dropSlotAndDatabases() throws Exception {
    try (Connection c = cdcDb.openConnection();
        Statement s = c.createStatement()) {
      s.execute(
          "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots"
              + " WHERE slot_name = '"
              + SLOT
              + "' AND NOT active");
    } finally {
      pollingDb.close();
      cdcDb.close();
    }
  }

  /** Checks one expression's metric names, required label values and grouping labels. */
  private void assertReal(String where, String expr) {
    PromQl.Dependencies d = PromQl.read(expr);
    for (PromQl.Selector s : d.selectors()) {
      if (recordingRules.contains(s.metric())) {
        continue;
      }
      if (s.metric().equals("up")) {
        continue; // Prometheus' own per-target series
      }
      assertThat(scrape.names()).as("%s uses metric %s", where, s.metric()).contains(s.metric());
      s.requiredLabelValues()
          .forEach(
              (label, values) ->
                  values.forEach(
                      v ->
                          assertThat(scrape.has(s.metric(), label, v))
                              .as("%s selects %s{%s=\"%s\"}", where, s.metric(), label, v)
                              .isTrue()));
    }
    for (String label : d.groupingLabels()) {
      // Target labels that Prometheus (or the Operator, or an external label) adds to every series.
      if (!Set.of("instance", "job", "le", "namespace", "cluster").contains(label)) {
        assertThat(scrape.hasLabel(label)).as("%s groups by %s", where, label).isTrue();
      }
    }
  }

  @Test
  void everyMetricAndLabelValueTheAlertRulesUseIsInARealScrape() throws Exception {
    List<AlertRules.Rule> rules = AlertRules.load(DeployFiles.rules());
    assertThat(rules).isNotEmpty();
    for (AlertRules.Rule rule : rules) {
      assertReal(rule.isAlert() ? rule.alert() : rule.record(), rule.expr());
    }
  }

  @Test
  void everyMetricAndLabelValueTheDashboardsUseIsInARealScrape() throws Exception {
    Map<String, String> exprs = new LinkedHashMap<>(Dashboards.targets());
    exprs.putAll(Dashboards.variableSelectors());
    assertThat(exprs).hasSizeGreaterThan(15);
    exprs.forEach(this::assertReal);
  }

  @Test
  void theScrapeHasTheMetersOfTheContractInBothModes() {
    assertThat(scrape.names())
        .contains(
            "outbox_backlog_events",
            "outbox_lag_seconds",
            "outbox_delivery_latency_seconds_bucket",
            "outbox_events_published_total",
            "outbox_publish_failures_total",
            "outbox_events_dead_total",
            "outbox_events_parked",
            "outbox_events_parked_oldest_age_seconds",
            "outbox_relay_batch_size_count",
            "outbox_relay_partitions_owned",
            "outbox_relay_partitions_configured",
            "outbox_relay_circuit_state",
            "outbox_cdc_slot_lag_bytes",
            "idempotency_requests_total",
            "idempotency_keys_purged_total",
            "outbox_inbox_duplicates_total");
    // The SLO's exact 5 s bucket, from the relay app's configuration.
    assertThat(scrape.has("outbox_delivery_latency_seconds_bucket", "le", "5.0")).isTrue();
    assertThat(scrape.has("idempotency_requests_total", "outcome", "executed")).isTrue();
    assertThat(scrape.has("idempotency_requests_total", "outcome", "replayed")).isTrue();
  }

  @Test
  void everyPromqlBlockOfTheRunbooksUsesRealMetricsAndParses() throws Exception {
    Map<String, String> expressions = new LinkedHashMap<>();
    for (Markdown.Block block : Markdown.blocks(DeployFiles.runbooks(), "promql")) {
      assertReal(block.where(), block.text());
      expressions.put(block.where(), block.text());
    }
    assertThat(expressions).hasSizeGreaterThan(10);
    PromtoolExpressions.assertParse(expressions);
  }
}
