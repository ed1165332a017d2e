package dev.outboxkit.spring.relay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.outboxkit.outbox.Outbox;
import dev.outboxkit.relay.OutboxRelay;
import dev.outboxkit.spring.OutboxRelayHealthIndicator;
import dev.outboxkit.spring.autoconfigure.OutboxAutoConfiguration;
import dev.outboxkit.spring.autoconfigure.RelayAutoConfiguration;
import dev.outboxkit.test.KafkaTestBroker;
import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.TestDatabaseExtension;
import dev.outboxkit.test.TestServers;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.Status;
import org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration;
import org.springframework.boot.jdbc.autoconfigure.DataSourceTransactionManagerAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.transaction.autoconfigure.TransactionAutoConfiguration;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * Health follows progress, not only lag and failure counts (issue 19, finding 7): a relay that has
 * work waiting and moves nothing for {@code outbox.relay.health.stall-timeout} is DOWN, in both
 * modes, and UP again once something moves. The lag and failure thresholds are set out of reach
 * here, so only the progress check can turn the health DOWN.
 */
@ServerTest
class RelayStallHealthIntegrationTests {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.postgres();

  static final KafkaTestBroker kafka = TestServers.kafka();

  private ApplicationContextRunner runner() {
    return new ApplicationContextRunner()
        .withConfiguration(
            AutoConfigurations.of(
                DataSourceAutoConfiguration.class,
                DataSourceTransactionManagerAutoConfiguration.class,
                TransactionAutoConfiguration.class,
                OutboxAutoConfiguration.class,
                RelayAutoConfiguration.class))
        .withBean(MeterRegistry.class, SimpleMeterRegistry::new)
        .withPropertyValues(
            "spring.datasource.url=" + db.database().jdbcUrl(),
            "spring.datasource.username=" + db.database().username(),
            "spring.datasource.password=" + db.database().password(),
            "outbox.store.auto-create=true",
            "outbox.idempotency.enabled=false",
            "outbox.relay.enabled=true",
            "outbox.relay.auto-create=true",
            "outbox.relay.kafka.bootstrap-servers=" + kafka.bootstrapServers(),
            "outbox.relay.polling.metrics-interval=100ms",
            "outbox.relay.retry.initial-interval=100ms",
            "outbox.relay.retry.max-interval=500ms",
            "outbox.relay.health.max-lag=1h",
            "outbox.relay.health.max-consecutive-failures=1000000",
            "outbox.relay.health.stall-timeout=3s");
  }

  @Test
  void aPollingRelayWhoseBrokerRefusesEverythingIsDownAfterTheStallTimeoutAndUpOnceItPublishes() {
    String prefix = "stall" + UUID.randomUUID().toString().substring(0, 6) + ".";
    runner()
        .withPropertyValues("outbox.relay.topics.prefix=" + prefix)
        .run(
            context -> {
              assertThat(context).hasNotFailed();
              OutboxRelayHealthIndicator health = context.getBean(OutboxRelayHealthIndicator.class);
              await()
                  .atMost(Duration.ofSeconds(30))
                  .until(() -> health.health().getStatus().equals(Status.UP));
              // The topic does not exist: every send fails, the event stays pending.
              new TransactionTemplate(context.getBean(PlatformTransactionManager.class))
                  .execute(
                      s ->
                          context
                              .getBean(Outbox.class)
                              .append("Order", "o-1", "OrderPlaced", Map.of("total", 5)));
              await()
                  .atMost(Duration.ofSeconds(60))
                  .until(() -> health.health().getStatus().equals(Status.DOWN));
              Health down = health.health();
              assertThat(String.valueOf(down.getDetails().get("reason")))
                  .contains("no progress")
                  .contains("1 event");

              kafka.createTopic(prefix + "Order", 1);
              // Health turns UP as soon as the event is published; the backlog detail is the
              // gauge, refreshed every metrics-interval, so it may say 1 for one more interval.
              await()
                  .atMost(Duration.ofSeconds(60))
                  .untilAsserted(
                      () -> {
                        Health up = health.health();
                        assertThat(up.getStatus()).isEqualTo(Status.UP);
                        assertThat(up.getDetails()).containsEntry("backlog", 0L);
                      });
            });
  }

  @Test
  void aCdcRelayWhoseEngineFailsAtEveryStartIsDownAfterTheStallTimeoutWithItsLagUnknown() {
    String prefix = "cdcstall" + UUID.randomUUID().toString().substring(0, 6) + ".";
    kafka.createTopic(prefix + "Order", 1);
    String slot = "stall_" + UUID.randomUUID().toString().substring(0, 6);
    runner()
        .withPropertyValues(
            "outbox.relay.mode=cdc",
            "outbox.relay.cdc.name=" + slot,
            "outbox.relay.cdc.heartbeat-interval=500ms",
            // Passes every check at build and start-up; the engine itself cannot connect.
            "outbox.relay.cdc.debezium.database.dbname=no_such_database",
            "outbox.relay.topics.prefix=" + prefix)
        .run(
            context -> {
              assertThat(context).hasNotFailed();
              OutboxRelayHealthIndicator health = context.getBean(OutboxRelayHealthIndicator.class);
              await()
                  .atMost(Duration.ofSeconds(60))
                  .until(() -> health.health().getStatus().equals(Status.DOWN));
              Health down = health.health();
              assertThat(String.valueOf(down.getDetails().get("reason")))
                  .contains("no progress")
                  .contains("the change stream waits to be read")
                  .doesNotContain("jdbc:");
              // Neither a standby nor an engine that has read nothing has a lag; never zero.
              assertThat(down.getDetails()).doesNotContainKey("lagSeconds");
            });
    dropSlot(slot);
  }

  @Test
  void aHealthyIdleCdcRelayAndItsStandbyStayUpPastTheStallTimeout() {
    String prefix = "cdcidle" + UUID.randomUUID().toString().substring(0, 6) + ".";
    kafka.createTopic(prefix + "Order", 1);
    String slot = "idle_" + UUID.randomUUID().toString().substring(0, 6);
    ApplicationContextRunner cdc =
        runner()
            .withPropertyValues(
                "outbox.relay.mode=cdc",
                "outbox.relay.cdc.name=" + slot,
                "outbox.relay.cdc.heartbeat-interval=500ms",
                "outbox.relay.topics.prefix=" + prefix);
    cdc.withPropertyValues("outbox.relay.instance-id=active")
        .run(
            active -> {
              assertThat(active).hasNotFailed();
              OutboxRelayHealthIndicator activeHealth =
                  active.getBean(OutboxRelayHealthIndicator.class);
              await()
                  .atMost(Duration.ofSeconds(60))
                  .until(() -> active.getBean(OutboxRelay.class).status().active());
              cdc.withPropertyValues("outbox.relay.instance-id=standby")
                  .run(
                      standby -> {
                        assertThat(standby).hasNotFailed();
                        OutboxRelay standbyRelay = standby.getBean(OutboxRelay.class);
                        OutboxRelayHealthIndicator standbyHealth =
                            standby.getBean(OutboxRelayHealthIndicator.class);
                        // Three stall timeouts of an idle stream: heartbeats are progress, and
                        // the standby sees the active one store its position.
                        long end = System.nanoTime() + Duration.ofSeconds(9).toNanos();
                        while (System.nanoTime() < end) {
                          assertThat(activeHealth.health().getStatus()).isEqualTo(Status.UP);
                          assertThat(standbyHealth.health().getStatus()).isEqualTo(Status.UP);
                          assertThat(standbyRelay.status().active()).isFalse();
                          Thread.sleep(100);
                        }
                        assertThat(standbyHealth.health().getDetails())
                            .as("a standby has no lag of its own to report")
                            .doesNotContainKey("lagSeconds");
                        assertThat(activeHealth.health().getDetails())
                            .containsEntry("lagSeconds", 0.0);
                      });
            });
    dropSlot(slot);
  }

  private static void dropSlot(String slot) {
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement()) {
      s.execute(
          "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name"
              + " = '"
              + slot
              + "' AND NOT active");
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
  }
}
