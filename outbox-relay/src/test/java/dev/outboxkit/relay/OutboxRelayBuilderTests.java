package dev.outboxkit.relay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;
import static org.assertj.core.api.Assertions.assertThatIllegalStateException;

import dev.outboxkit.outbox.OutboxEvent;
import dev.outboxkit.relay.spi.TopicRouter;
import java.lang.reflect.Method;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.Map;
import java.util.UUID;
import java.util.function.UnaryOperator;
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

  /** A relay of an H2 data source with these value options. */
  private static OutboxRelay relay(UnaryOperator<RelayConfig.Builder> options) {
    return OutboxRelay.builder()
        .dataSource(new JdbcDataSource())
        .config(options.apply(RelayConfig.custom()).build())
        .build();
  }

  @Test
  void needsADataSourceAndKafka() {
    assertThatIllegalStateException()
        .isThrownBy(
            () ->
                OutboxRelay.builder()
                    .config(RelayConfig.custom().bootstrapServers("localhost:9092").build())
                    .build())
        .withMessageContaining("dataSource");
    assertThatIllegalStateException()
        .isThrownBy(() -> OutboxRelay.builder().dataSource(new JdbcDataSource()).build())
        .withMessageContaining("bootstrapServers");
  }

  @Test
  void takesValueOptionsOnlyThroughItsConfiguration() {
    // Collaborators and wiring only: every value option (and so each mode's own) is RelayConfig's.
    assertThat(
            Arrays.stream(OutboxRelay.Builder.class.getMethods())
                .filter(m -> m.getDeclaringClass() == OutboxRelay.Builder.class)
                .map(Method::getName)
                .distinct())
        .containsExactlyInAnyOrder(
            "config",
            "currentConfig",
            "dataSource",
            "sessionDataSource",
            "dialect",
            "table",
            "partitions",
            "topicRouter",
            "meterRegistry",
            "observationRegistry",
            "publishObservationConvention",
            "clock",
            "build");
    RelayConfig config = RelayConfig.custom().bootstrapServers("localhost:9092").build();
    assertThat(OutboxRelay.builder().currentConfig()).isEqualTo(RelayConfig.ofDefaults());
    assertThat(OutboxRelay.builder().config(config).currentConfig()).isSameAs(config);
  }

  @Test
  void refusesProducerPropertiesThatWeakenDelivery() {
    assertThatIllegalStateException()
        .isThrownBy(
            () -> relay(c -> c.bootstrapServers("localhost:9092").producerProperty("acks", "1")))
        .withMessageContaining("acks=1");
    assertThatIllegalStateException()
        .isThrownBy(
            () ->
                relay(
                    c ->
                        c.bootstrapServers("localhost:9092")
                            .producerProperty("enable.idempotence", "false")))
        .withMessageContaining("enable.idempotence");
  }

  /** Finding 2: a relay must never be sending while its lease can be claimed by another. */
  @Test
  void refusesALeaseThatASendCouldOutlive() {
    assertThatIllegalStateException()
        .isThrownBy(
            () ->
                relay(
                    c ->
                        c.bootstrapServers("localhost:9")
                            .leases(Duration.ofSeconds(30), Duration.ofSeconds(5))
                            .sendTimeout(Duration.ofSeconds(20))))
        .withMessageContaining("leases.ttl")
        .withMessageContaining("sendTimeout")
        .withMessageContaining("outbox.relay.send-timeout");
    // Without an explicit timeout, short leases get a fitting one.
    relay(
        c ->
            c.bootstrapServers("localhost:9")
                .leases(Duration.ofSeconds(2), Duration.ofMillis(250)));
  }

  @Test
  void refusesProducerSettingsThatBreakOrderOrEverySend() {
    assertThatIllegalStateException()
        .isThrownBy(
            () ->
                relay(
                    c ->
                        c.bootstrapServers("localhost:9")
                            .producerProperty("max.in.flight.requests.per.connection", 6)))
        .withMessageContaining("max.in.flight.requests.per.connection");
    assertThatIllegalStateException()
        .isThrownBy(
            () ->
                relay(
                    c ->
                        c.bootstrapServers("localhost:9")
                            .producerProperty("transactional.id", "x")))
        .withMessageContaining("transactional.id");
    // Review finding: these replaced the timings the lease check counts on.
    for (String timing : java.util.List.of("delivery.timeout.ms", "max.block.ms")) {
      assertThatIllegalStateException()
          .isThrownBy(
              () -> relay(c -> c.bootstrapServers("localhost:9").producerProperty(timing, 120_000)))
          .withMessageContaining(timing)
          .withMessageContaining("outbox.relay.send-timeout");
    }
  }

  @Test
  void namesTheOptionInEveryValidationMessage() {
    RelayConfig.Builder builder = RelayConfig.custom();
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
        .isThrownBy(() -> OutboxRelay.builder().partitions(0))
        .withMessageContaining("partitions");
  }

  @Test
  void refusesAStallTimeoutThatMeasurementsOrCdcHeartbeatsCouldReachNamingTheProperty() {
    assertThatIllegalArgumentException()
        .isThrownBy(() -> RelayConfig.custom().stallTimeout(Duration.ofMillis(500)))
        .withMessageContaining("outbox.relay.health.stall-timeout");
    assertThatIllegalStateException()
        .isThrownBy(
            () ->
                relay(
                    c ->
                        c.bootstrapServers("localhost:9092")
                            .metricsInterval(Duration.ofSeconds(5))
                            .stallTimeout(Duration.ofSeconds(10))))
        .withMessageContaining("outbox.relay.health.stall-timeout")
        .withMessageContaining("outbox.relay.polling.metrics-interval");
    assertThatIllegalStateException()
        .isThrownBy(
            () ->
                relay(
                    c ->
                        c.bootstrapServers("localhost:9092")
                            .stallTimeout(Duration.ofSeconds(30))
                            .cdc(
                                dev.outboxkit.relay.cdc.CdcOptions.builder(
                                        "jdbc:postgresql://db/app", "u", "p")
                                    .build())))
        .withMessageContaining("outbox.relay.cdc.heartbeat-interval");
    assertThat(
            relay(c -> c.bootstrapServers("localhost:9092").stallTimeout(Duration.ofSeconds(11))))
        .isNotNull();
  }

  @Test
  void buildingDoesNoIo() {
    OutboxRelay relay = relay(c -> c.bootstrapServers("nowhere:1"));
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
