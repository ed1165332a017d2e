package dev.outboxkit.spring.relay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.outboxkit.outbox.Outbox;
import dev.outboxkit.outbox.OutboxEvent;
import dev.outboxkit.outbox.OutboxHeaders;
import dev.outboxkit.relay.OutboxRelay;
import dev.outboxkit.relay.RelayStatus;
import dev.outboxkit.spring.OutboxRelayHealthIndicator;
import dev.outboxkit.spring.OutboxRelayLifecycle;
import dev.outboxkit.spring.autoconfigure.OutboxAutoConfiguration;
import dev.outboxkit.spring.autoconfigure.RelayAutoConfiguration;
import dev.outboxkit.test.KafkaTestBroker;
import dev.outboxkit.test.KafkaTopics;
import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.TestDatabaseExtension;
import dev.outboxkit.test.TestServers;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.Status;
import org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration;
import org.springframework.boot.jdbc.autoconfigure.DataSourceTransactionManagerAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.transaction.autoconfigure.TransactionAutoConfiguration;
import org.springframework.context.ApplicationContext;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;

/** The relay inside a Spring Boot application, on real PostgreSQL and Kafka. */
@ServerTest
class RelayAutoConfigurationIntegrationTests {

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
            "outbox.idempotency.enabled=false");
  }

  @Test
  void noRelayUnlessEnabled() {
    runner().run(context -> assertThat(context).hasNotFailed().doesNotHaveBean(OutboxRelay.class));
  }

  @Test
  void enabledWithoutKafkaFailsNamingTheProperty() {
    runner()
        .withPropertyValues("outbox.relay.enabled=true")
        .run(
            context ->
                assertThat(context)
                    .getFailure()
                    .rootCause()
                    .hasMessageContaining("outbox.relay.kafka.bootstrap-servers"));
  }

  @Test
  void badValuesFailNamingTheProperty() {
    runner()
        .withPropertyValues(
            "outbox.relay.enabled=true",
            "outbox.relay.kafka.bootstrap-servers=" + kafka.bootstrapServers(),
            "outbox.relay.polling.batch-size=0")
        .run(
            context ->
                assertThat(context)
                    .getFailure()
                    .rootCause()
                    .hasMessageContaining("outbox.relay.polling.batch-size"));
    runner()
        .withPropertyValues(
            "outbox.relay.enabled=true",
            "outbox.relay.kafka.bootstrap-servers=" + kafka.bootstrapServers(),
            "outbox.relay.polling.batch-bytes=100B")
        .run(
            context ->
                assertThat(context)
                    .getFailure()
                    .rootCause()
                    .hasMessageContaining("outbox.relay.polling.batch-bytes"));
    runner()
        .withPropertyValues(
            "outbox.relay.enabled=true",
            "outbox.relay.kafka.bootstrap-servers=" + kafka.bootstrapServers(),
            "outbox.relay.leases.ttl=1s",
            "outbox.relay.leases.heartbeat-interval=1s")
        .run(
            context ->
                assertThat(context)
                    .getFailure()
                    .rootCause()
                    .hasMessageContaining("outbox.relay.leases.ttl"));
    runner()
        .withPropertyValues(
            "outbox.relay.enabled=true",
            "outbox.relay.kafka.bootstrap-servers=" + kafka.bootstrapServers(),
            "outbox.relay.kafka.transactional-id-prefix=not allowed")
        .run(
            context ->
                assertThat(context)
                    .getFailure()
                    .rootCause()
                    .hasMessageContaining("outbox.relay.kafka.transactional-id-prefix"));
    // Fencing: a lease must outlive a send by more than two heartbeats.
    runner()
        .withPropertyValues(
            "outbox.relay.enabled=true",
            "outbox.relay.kafka.bootstrap-servers=" + kafka.bootstrapServers(),
            "outbox.relay.leases.ttl=12s",
            "outbox.relay.send-timeout=11s")
        .run(
            context ->
                assertThat(context)
                    .getFailure()
                    .rootCause()
                    .hasMessageContaining("outbox.relay.leases.ttl")
                    .hasMessageContaining("outbox.relay.send-timeout"));
    runner()
        .withPropertyValues(
            "outbox.relay.enabled=true",
            "outbox.relay.kafka.bootstrap-servers=" + kafka.bootstrapServers(),
            "outbox.relay.session-connection.url=postgres://no-jdbc-prefix/db")
        .run(
            context ->
                assertThat(context)
                    .getFailure()
                    .rootCause()
                    .hasMessageContaining("outbox.relay.session-connection.url"));
  }

  /**
   * The session lock is held on a connection of session-connection.url (told apart here by its
   * application name), not on one of the application's pool.
   */
  @Test
  void aSessionConnectionUrlCarriesTheSessionLock() {
    String prefix = "ses" + UUID.randomUUID().toString().substring(0, 6) + ".";
    kafka.createTopic(prefix + "Order", 2);
    String url = db.database().jdbcUrl();
    String sessionUrl =
        url + (url.contains("?") ? "&" : "?") + "ApplicationName=outboxkit-session-test";
    runner()
        .withPropertyValues(
            "outbox.relay.enabled=true",
            "outbox.relay.auto-create=true",
            "outbox.relay.kafka.bootstrap-servers=" + kafka.bootstrapServers(),
            "outbox.relay.session-connection.url=" + sessionUrl,
            "outbox.relay.topics.prefix=" + prefix)
        .run(
            context -> {
              assertThat(context).hasNotFailed();
              appendOneAndAwaitItsRecord(context, prefix + "Order");
              await()
                  .atMost(Duration.ofSeconds(10))
                  .until(
                      () ->
                          count(
                                  "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a"
                                      + " ON a.pid = l.pid WHERE l.locktype = 'advisory'"
                                      + " AND a.application_name = 'outboxkit-session-test'")
                              == 1);
            });
  }

  @Test
  void publishesCommittedEventsReportsHealthAndReleasesLeasesOnShutdown() {
    String prefix = "app" + UUID.randomUUID().toString().substring(0, 6) + ".";
    kafka.createTopic(prefix + "Order", 2);
    OutboxRelay[] relay = new OutboxRelay[1];
    runner()
        .withPropertyValues(
            "outbox.relay.enabled=true",
            "outbox.relay.auto-create=true",
            "outbox.relay.kafka.bootstrap-servers=" + kafka.bootstrapServers(),
            "outbox.relay.kafka.properties.compression.type=lz4",
            "outbox.relay.topics.prefix=" + prefix,
            "outbox.relay.polling.metrics-interval=100ms")
        .run(
            context -> {
              assertThat(context).hasNotFailed().hasSingleBean(OutboxRelayLifecycle.class);
              relay[0] = context.getBean(OutboxRelay.class);
              assertThat(relay[0].status().state()).isEqualTo(RelayStatus.State.RUNNING);
              appendOneAndAwaitItsRecord(context, prefix + "Order");
              OutboxRelayHealthIndicator health = context.getBean(OutboxRelayHealthIndicator.class);
              await()
                  .atMost(Duration.ofSeconds(30))
                  .untilAsserted(
                      () -> {
                        Health up = health.health();
                        assertThat(up.getStatus()).isEqualTo(Status.UP);
                        assertThat(up.getDetails()).containsEntry("ownedPartitions", 16);
                      });
              assertThat(
                      context
                          .getBean(MeterRegistry.class)
                          .get("outbox.events.published")
                          .counter()
                          .count())
                  .isEqualTo(1.0);
            });
    assertThat(relay[0].status().state()).isEqualTo(RelayStatus.State.STOPPED);
  }

  @Test
  void aTransactionalIdPrefixTurnsOnTransactionalFencing() {
    String prefix = "tx" + UUID.randomUUID().toString().substring(0, 6) + ".";
    String transactionalIds = "outboxkit-starter-" + prefix.substring(0, 8);
    kafka.createTopic(prefix + "Order", 2);
    runner()
        .withPropertyValues(
            "outbox.relay.enabled=true",
            "outbox.relay.auto-create=true",
            "outbox.relay.kafka.bootstrap-servers=" + kafka.bootstrapServers(),
            "outbox.relay.kafka.transactional-id-prefix=" + transactionalIds,
            "outbox.relay.topics.prefix=" + prefix)
        .run(
            context -> {
              assertThat(context).hasNotFailed();
              appendOneAndAwaitItsRecord(context, prefix + "Order");
              try (org.apache.kafka.clients.admin.Admin admin =
                  org.apache.kafka.clients.admin.Admin.create(
                      java.util.Map.of("bootstrap.servers", kafka.bootstrapServers()))) {
                assertThat(admin.listTransactions().all().get())
                    .extracting(org.apache.kafka.clients.admin.TransactionListing::transactionalId)
                    .anyMatch(id -> id.startsWith(transactionalIds + "-"));
              }
            });
  }

  @Test
  void cdcModeReadsTheChangeLogWithTheDataSourcesCredentials() {
    String prefix = "cdc" + UUID.randomUUID().toString().substring(0, 6) + ".";
    kafka.createTopic(prefix + "Order", 2);
    String slot = "starter_" + UUID.randomUUID().toString().substring(0, 6);
    runner()
        .withPropertyValues(
            "outbox.relay.enabled=true",
            "outbox.relay.mode=cdc",
            "outbox.relay.auto-create=true",
            "outbox.relay.cdc.name=" + slot,
            "outbox.relay.cdc.heartbeat-interval=500ms",
            "outbox.relay.kafka.bootstrap-servers=" + kafka.bootstrapServers(),
            "outbox.relay.topics.prefix=" + prefix)
        .run(
            context -> {
              assertThat(context).hasNotFailed();
              OutboxRelay relay = context.getBean(OutboxRelay.class);
              assertThat(relay.getClass().getSimpleName()).isEqualTo("CdcRelay");
              appendOneAndAwaitItsRecord(context, prefix + "Order");
              await().atMost(Duration.ofSeconds(30)).until(() -> relay.status().active());
            });
    try (java.sql.Connection c = db.dataSource().getConnection();
        java.sql.Statement s = c.createStatement()) {
      s.execute(
          "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name"
              + " = '"
              + slot
              + "' AND NOT active");
    } catch (java.sql.SQLException e) {
      throw new IllegalStateException(e);
    }
  }

  @Test
  void cdcModeWithABadUrlFailsNamingTheProperty() {
    runner()
        .withPropertyValues(
            "outbox.relay.enabled=true",
            "outbox.relay.mode=cdc",
            "outbox.relay.cdc.url=jdbc:h2:mem:nope",
            "outbox.relay.kafka.bootstrap-servers=" + kafka.bootstrapServers())
        .run(
            context ->
                assertThat(context)
                    .hasFailed()
                    .getFailure()
                    .rootCause()
                    .hasMessageContaining("outbox.relay.cdc.url"));
  }

  /**
   * Issue 20: the replication user's name without its password used to take the password of
   * spring.datasource (another user's), failing later with an authentication error that named no
   * property.
   */
  @Test
  void cdcModeWithHalfOfTheReplicationCredentialsFailsNamingTheMissingProperty() {
    for (String[] half :
        List.of(
            new String[] {"outbox.relay.cdc.username=replicator", "outbox.relay.cdc.password"},
            new String[] {"outbox.relay.cdc.password=secret", "outbox.relay.cdc.username"})) {
      runner()
          .withPropertyValues(
              "outbox.relay.enabled=true",
              "outbox.relay.mode=cdc",
              half[0],
              "outbox.relay.kafka.bootstrap-servers=" + kafka.bootstrapServers())
          .run(
              context ->
                  assertThat(context)
                      .hasFailed()
                      .getFailure()
                      .rootCause()
                      .hasMessageContaining(half[1] + " is not set")
                      .hasMessageContaining("replication user"));
    }
  }

  @Test
  void cdcModeWithABadEngineNameFailsNamingTheProperty() {
    runner()
        .withPropertyValues(
            "outbox.relay.enabled=true",
            "outbox.relay.mode=cdc",
            "outbox.relay.cdc.name=Not-Valid",
            "outbox.relay.kafka.bootstrap-servers=" + kafka.bootstrapServers())
        .run(
            context ->
                assertThat(context)
                    .hasFailed()
                    .getFailure()
                    .rootCause()
                    .hasMessageContaining("outbox.relay.cdc.name"));
  }

  /** Appends an event in a Spring transaction and checks it arrives with its event id header. */
  private static long count(String sql) throws java.sql.SQLException {
    try (java.sql.Connection c = db.dataSource().getConnection();
        java.sql.Statement s = c.createStatement();
        java.sql.ResultSet rs = s.executeQuery(sql)) {
      rs.next();
      return rs.getLong(1);
    }
  }

  private static void appendOneAndAwaitItsRecord(ApplicationContext context, String topic) {
    Outbox outbox = context.getBean(Outbox.class);
    TransactionTemplate tx =
        new TransactionTemplate(context.getBean(PlatformTransactionManager.class));
    OutboxEvent event =
        tx.execute(s -> outbox.append("Order", "o-1", "OrderPlaced", Map.of("total", 5)));
    List<ConsumerRecord<byte[], byte[]>> records = read(topic, 1);
    assertThat(records).hasSize(1);
    assertThat(
            new String(
                records.get(0).headers().lastHeader(OutboxHeaders.EVENT_ID).value(),
                StandardCharsets.UTF_8))
        .isEqualTo(event.id().toString());
  }

  private static List<ConsumerRecord<byte[], byte[]>> read(String topic, int count) {
    try (KafkaConsumer<byte[], byte[]> consumer =
        new KafkaConsumer<>(
            Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers(),
                ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class,
                ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class))) {
      // Not partitionsFor itself: right after creation it may answer with no partitions.
      List<TopicPartition> partitions = KafkaTopics.partitions(consumer, topic);
      consumer.assign(partitions);
      consumer.seekToBeginning(partitions);
      List<ConsumerRecord<byte[], byte[]>> records = new ArrayList<>();
      long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
      while (records.size() < count && System.nanoTime() < deadline) {
        consumer.poll(Duration.ofMillis(100)).forEach(records::add);
      }
      return records;
    }
  }
}
