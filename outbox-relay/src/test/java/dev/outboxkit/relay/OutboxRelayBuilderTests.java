package dev.outboxkit.relay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;
import static org.assertj.core.api.Assertions.assertThatIllegalStateException;

import dev.outboxkit.outbox.OutboxEvent;
import dev.outboxkit.relay.spi.TopicRouter;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.UUID;
import org.h2.jdbcx.JdbcDataSource;
import org.junit.jupiter.api.Test;

class OutboxRelayBuilderTests {

  private static OutboxEvent event(String aggregateType) {
    return new OutboxEvent(
        UUID.randomUUID(),
        aggregateType,
        "id-1",
        "Happened",
        null,
        Map.of(),
        null,
        Instant.EPOCH,
        0);
  }

  @Test
  void needsADataSourceAndKafka() {
    assertThatIllegalStateException()
        .isThrownBy(() -> OutboxRelay.builder().bootstrapServers("localhost:9092").build())
        .withMessageContaining("dataSource");
    assertThatIllegalStateException()
        .isThrownBy(() -> OutboxRelay.builder().dataSource(new JdbcDataSource()).build())
        .withMessageContaining("bootstrapServers");
  }

  @Test
  void refusesProducerPropertiesThatWeakenDelivery() {
    OutboxRelay.Builder builder =
        OutboxRelay.builder().dataSource(new JdbcDataSource()).bootstrapServers("localhost:9092");
    assertThatIllegalStateException()
        .isThrownBy(() -> builder.producerProperty("acks", "1").build())
        .withMessageContaining("acks=1");
    assertThatIllegalStateException()
        .isThrownBy(
            () ->
                OutboxRelay.builder()
                    .dataSource(new JdbcDataSource())
                    .bootstrapServers("localhost:9092")
                    .producerProperty("enable.idempotence", "false")
                    .build())
        .withMessageContaining("enable.idempotence");
  }

  /** Finding 2: a relay must never be sending while its lease can be claimed by another. */
  @Test
  void refusesALeaseThatASendCouldOutlive() {
    assertThatIllegalStateException()
        .isThrownBy(
            () ->
                OutboxRelay.builder()
                    .dataSource(new org.h2.jdbcx.JdbcDataSource())
                    .bootstrapServers("localhost:9")
                    .leases(Duration.ofSeconds(30), Duration.ofSeconds(5))
                    .sendTimeout(Duration.ofSeconds(20))
                    .build())
        .withMessageContaining("leases.ttl")
        .withMessageContaining("sendTimeout")
        .withMessageContaining("outbox.relay.send-timeout");
    // Without an explicit timeout, short leases get a fitting one.
    OutboxRelay.builder()
        .dataSource(new org.h2.jdbcx.JdbcDataSource())
        .bootstrapServers("localhost:9")
        .leases(Duration.ofSeconds(2), Duration.ofMillis(250))
        .build();
  }

  @Test
  void refusesProducerSettingsThatBreakOrderOrEverySend() {
    assertThatIllegalStateException()
        .isThrownBy(
            () ->
                OutboxRelay.builder()
                    .dataSource(new org.h2.jdbcx.JdbcDataSource())
                    .bootstrapServers("localhost:9")
                    .producerProperty("max.in.flight.requests.per.connection", 6)
                    .build())
        .withMessageContaining("max.in.flight.requests.per.connection");
    assertThatIllegalStateException()
        .isThrownBy(
            () ->
                OutboxRelay.builder()
                    .dataSource(new org.h2.jdbcx.JdbcDataSource())
                    .bootstrapServers("localhost:9")
                    .producerProperty("transactional.id", "x")
                    .build())
        .withMessageContaining("transactional.id");
    // Review finding: these replaced the timings the lease check counts on.
    for (String timing : java.util.List.of("delivery.timeout.ms", "max.block.ms")) {
      assertThatIllegalStateException()
          .isThrownBy(
              () ->
                  OutboxRelay.builder()
                      .dataSource(new org.h2.jdbcx.JdbcDataSource())
                      .bootstrapServers("localhost:9")
                      .producerProperty(timing, 120_000)
                      .build())
          .withMessageContaining(timing)
          .withMessageContaining("outbox.relay.send-timeout");
    }
  }

  @Test
  void namesTheOptionInEveryValidationMessage() {
    OutboxRelay.Builder builder = OutboxRelay.builder();
    assertThatIllegalArgumentException()
        .isThrownBy(() -> builder.batchSize(0))
        .withMessageContaining("batchSize");
    assertThatIllegalArgumentException()
        .isThrownBy(() -> builder.leases(Duration.ofSeconds(2), Duration.ofSeconds(1)))
        .withMessageContaining("leases.ttl");
    assertThatIllegalArgumentException()
        .isThrownBy(() -> builder.pollInterval(Duration.ofSeconds(1), Duration.ofMillis(5)))
        .withMessageContaining("pollInterval.max");
    assertThatIllegalArgumentException()
        .isThrownBy(() -> builder.retryBackoff(Duration.ofSeconds(1), 0.5, Duration.ofSeconds(2)))
        .withMessageContaining("retryBackoff.multiplier");
    assertThatIllegalArgumentException()
        .isThrownBy(() -> builder.maxAttempts(0))
        .withMessageContaining("maxAttempts");
    assertThatIllegalArgumentException()
        .isThrownBy(() -> builder.instanceId("a b"))
        .withMessageContaining("instanceId");
    assertThatIllegalArgumentException()
        .isThrownBy(() -> builder.partitions(0))
        .withMessageContaining("partitions");
  }

  @Test
  void refusesAStallTimeoutThatMeasurementsOrCdcHeartbeatsCouldReachNamingTheProperty() {
    assertThatIllegalArgumentException()
        .isThrownBy(() -> OutboxRelay.builder().stallTimeout(Duration.ofMillis(500)))
        .withMessageContaining("outbox.relay.health.stall-timeout");
    assertThatIllegalStateException()
        .isThrownBy(
            () ->
                OutboxRelay.builder()
                    .dataSource(new JdbcDataSource())
                    .bootstrapServers("localhost:9092")
                    .metricsInterval(Duration.ofSeconds(5))
                    .stallTimeout(Duration.ofSeconds(10))
                    .build())
        .withMessageContaining("outbox.relay.health.stall-timeout")
        .withMessageContaining("outbox.relay.polling.metrics-interval");
    assertThatIllegalStateException()
        .isThrownBy(
            () ->
                OutboxRelay.builder()
                    .dataSource(new JdbcDataSource())
                    .bootstrapServers("localhost:9092")
                    .stallTimeout(Duration.ofSeconds(30))
                    .cdc(
                        dev.outboxkit.relay.cdc.CdcOptions.builder(
                                "jdbc:postgresql://db/app", "u", "p")
                            .build())
                    .build())
        .withMessageContaining("outbox.relay.cdc.heartbeat-interval");
    assertThat(
            OutboxRelay.builder()
                .dataSource(new JdbcDataSource())
                .bootstrapServers("localhost:9092")
                .stallTimeout(Duration.ofSeconds(11))
                .build())
        .isNotNull();
  }

  @Test
  void buildingDoesNoIo() {
    OutboxRelay relay =
        OutboxRelay.builder()
            .dataSource(new JdbcDataSource())
            .bootstrapServers("nowhere:1")
            .build();
    assertThat(relay.status().state()).isEqualTo(RelayStatus.State.NEW);
    relay.close();
    assertThat(relay.status().state()).isEqualTo(RelayStatus.State.STOPPED);
  }

  @Test
  void routesByPrefixAndByMapping() {
    TopicRouter prefixed = TopicRouter.prefixed("payments.");
    assertThat(prefixed.topic(event("Payment"))).isEqualTo("payments.Payment");
    TopicRouter mapped = TopicRouter.mapping(Map.of("Refund", "refunds-v2"), prefixed);
    assertThat(mapped.topic(event("Refund"))).isEqualTo("refunds-v2");
    assertThat(mapped.topic(event("Payment"))).isEqualTo("payments.Payment");
    assertThatIllegalArgumentException()
        .isThrownBy(() -> TopicRouter.prefixed("bad prefix/"))
        .withMessageContaining("bad prefix/");
  }
}
