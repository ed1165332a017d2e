package dev.outboxkit.spring.autoconfigure;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxkit.relay.RelayConfig;
import dev.outboxkit.relay.cdc.CdcOptions;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.annotation.Configuration;

/**
 * {@code outbox.relay.*} binds to {@link RelayConfig}: the defaults and checks are the
 * configuration's, a bad value stops the start naming the property, and options of the other mode
 * are refused instead of ignored.
 */
class RelayPropertiesBindingTests {

  @Configuration(proxyBeanMethods = false)
  @EnableConfigurationProperties(RelayProperties.class)
  static class Bound {}

  private final ApplicationContextRunner runner =
      new ApplicationContextRunner().withUserConfiguration(Bound.class);

  @Test
  void unsetPropertiesGiveTheConfigurationsDefaults() {
    runner.run(
        context -> {
          RelayConfig bound = context.getBean(RelayProperties.class).toConfig("kafka:9092", null);
          assertThat(bound)
              .isEqualTo(RelayConfig.custom().bootstrapServers("kafka:9092").build())
              .isEqualTo(
                  RelayConfig.from(RelayConfig.ofDefaults())
                      .bootstrapServers("kafka:9092")
                      .build());
        });
  }

  @Test
  void setPropertiesGiveTheSameConfigurationAsTheBuilder() {
    runner
        .withPropertyValues(
            "outbox.relay.polling.batch-size=100",
            "outbox.relay.polling.batch-bytes=1MB",
            "outbox.relay.polling.publish-threads=4",
            "outbox.relay.polling.listen-notify=false",
            "outbox.relay.polling.max-interval=2s",
            "outbox.relay.leases.ttl=60s",
            "outbox.relay.leases.heartbeat-interval=2s",
            "outbox.relay.retry.max-attempts=3",
            "outbox.relay.retry.multiplier=3",
            "outbox.relay.send-timeout=20s",
            "outbox.relay.shutdown-timeout=5s",
            "outbox.relay.keep-published-for=1h",
            "outbox.relay.health.stall-timeout=10m",
            "outbox.relay.topics.dead-letter=parked",
            "outbox.relay.topics.verify=false",
            "outbox.relay.kafka.properties.compression.type=zstd",
            "outbox.relay.kafka.transactional-id-prefix=orders",
            "outbox.relay.instance-id=relay-1")
        .run(
            context ->
                assertThat(context.getBean(RelayProperties.class).toConfig("kafka:9092", null))
                    .isEqualTo(
                        RelayConfig.custom()
                            .bootstrapServers("kafka:9092")
                            .producerProperty("compression.type", "zstd")
                            .transactionalFencing("orders")
                            .sendTimeout(Duration.ofSeconds(20))
                            .deadLetterTopic("parked")
                            .verifyTopics(false)
                            .batchSize(100)
                            .batchBytes(1024 * 1024)
                            .pollInterval(Duration.ofMillis(10), Duration.ofSeconds(2))
                            .leases(Duration.ofSeconds(60), Duration.ofSeconds(2))
                            .maxAttempts(3)
                            .retryBackoff(Duration.ofSeconds(1), 3, Duration.ofMinutes(5))
                            .shutdownTimeout(Duration.ofSeconds(5))
                            .keepPublishedFor(Duration.ofHours(1))
                            .stallTimeout(Duration.ofMinutes(10))
                            .instanceId("relay-1")
                            .polling(
                                RelayConfig.Polling.ofDefaults()
                                    .withPublishThreads(4)
                                    .withListenNotify(false))
                            .build()));
  }

  @Test
  void aBadValueStopsTheStartNamingTheProperty() {
    assertStartFails(
        "outbox.relay.polling.batch-size=0",
        "outbox.relay.polling.batch-size (batchSize) must be between 1 and 10000 but was 0");
    assertStartFails(
        "outbox.relay.polling.publish-threads=17",
        "outbox.relay.polling.publish-threads (publishThreads) must be between 1 and 16 but was"
            + " 17");
    assertStartFails(
        "outbox.relay.retry.max-attempts=0",
        "outbox.relay.retry.max-attempts (maxAttempts) must be between 1 and 1000000 but was 0");
    assertStartFails(
        "outbox.relay.leases.heartbeat-interval=20s",
        "outbox.relay.leases.ttl (leases.ttl) must be at least PT1M but was PT30S");
    assertStartFails(
        "outbox.relay.send-timeout=29s", "outbox.relay.leases.ttl (leases.ttl, PT30S) must be");
    assertStartFails(
        "outbox.relay.health.stall-timeout=5s",
        "outbox.relay.health.stall-timeout (stallTimeout) is PT5S");
  }

  @Test
  void cdcOptionsAreRefusedInPollingModeAndPollingOnlyOptionsInCdcMode() {
    assertStartFails(
        "outbox.relay.cdc.server-id=7",
        "outbox.relay.cdc.server-id is set but outbox.relay.mode is polling: it applies only to"
            + " mode=cdc");
    runner
        .withPropertyValues("outbox.relay.mode=cdc", "outbox.relay.polling.publish-threads=4")
        .run(
            context ->
                assertThat(context)
                    .getFailure()
                    .rootCause()
                    .hasMessageContaining(
                        "outbox.relay.polling.publish-threads is set but outbox.relay.mode is cdc"));
    // What both modes use may be set in either.
    runner
        .withPropertyValues("outbox.relay.mode=cdc", "outbox.relay.polling.batch-size=50")
        .run(
            context -> {
              CdcOptions cdc = CdcOptions.builder("jdbc:postgresql://db/app", "u", "p").build();
              RelayConfig bound =
                  context.getBean(RelayProperties.class).toConfig("kafka:9092", cdc);
              assertThat(bound.mode()).isEqualTo(new RelayConfig.Cdc(cdc));
              assertThat(bound.batches().batchSize()).isEqualTo(50);
            });
  }

  private void assertStartFails(String property, String message) {
    runner
        .withPropertyValues(property)
        .run(context -> assertThat(context).getFailure().rootCause().hasMessageContaining(message));
  }
}
