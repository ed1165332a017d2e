package dev.outboxkit.relay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;
import static org.assertj.core.api.Assertions.assertThatIllegalStateException;

import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.relay.cdc.CdcOptions;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import java.lang.reflect.Method;
import java.lang.reflect.RecordComponent;
import java.time.Duration;
import java.util.Arrays;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@link RelayConfig}: every check names the property (and the builder method), the defaults are
 * {@link RelayDefaults}, and the options of one mode cannot be set on the other.
 */
class RelayConfigTests {

  static Stream<Arguments> badValues() {
    return Stream.of(
        bad(
            b -> b.batchSize(0),
            "outbox.relay.polling.batch-size (batchSize) must be between 1 and 10000 but was 0"),
        bad(
            b -> b.batchSize(10_001),
            "outbox.relay.polling.batch-size (batchSize) must be between 1 and 10000 but was"
                + " 10001"),
        bad(
            b -> b.batchBytes(1023),
            "outbox.relay.polling.batch-bytes (batchBytes) must be between 1024 and 2147483647"
                + " but was 1023"),
        bad(
            b -> b.pollInterval(Duration.ZERO, Duration.ofSeconds(1)),
            "outbox.relay.polling.min-interval (pollInterval.min) must be at least PT0.001S but was"
                + " PT0S"),
        bad(
            b -> b.pollInterval(Duration.ofSeconds(1), Duration.ofMillis(5)),
            "outbox.relay.polling.max-interval (pollInterval.max) must be at least PT1S but was"
                + " PT0.005S"),
        bad(
            b -> b.metricsInterval(Duration.ofMillis(9)),
            "outbox.relay.polling.metrics-interval (metricsInterval) must be at least PT0.01S but"
                + " was PT0.009S"),
        bad(
            b -> b.leases(Duration.ofSeconds(30), Duration.ofMillis(9)),
            "outbox.relay.leases.heartbeat-interval (leases.heartbeat) must be at least PT0.01S"
                + " but was PT0.009S"),
        bad(
            b -> b.leases(Duration.ofSeconds(2), Duration.ofSeconds(1)),
            "outbox.relay.leases.ttl (leases.ttl) must be at least PT3S but was PT2S"),
        bad(
            b -> b.maxAttempts(0),
            "outbox.relay.retry.max-attempts (maxAttempts) must be between 1 and 1000000 but was"
                + " 0"),
        bad(
            b -> b.retryBackoff(Duration.ZERO, 2, Duration.ofMinutes(5)),
            "outbox.relay.retry.initial-interval (retryBackoff.initial) must be at least PT0.001S"
                + " but was PT0S"),
        bad(
            b -> b.retryBackoff(Duration.ofSeconds(1), 0.5, Duration.ofMinutes(5)),
            "outbox.relay.retry.multiplier (retryBackoff.multiplier) must be at least 1.0 but was"
                + " 0.5"),
        bad(
            b -> b.retryBackoff(Duration.ofSeconds(2), 2, Duration.ofSeconds(1)),
            "outbox.relay.retry.max-interval (retryBackoff.max) must be at least PT2S but was"
                + " PT1S"),
        bad(
            b -> b.sendTimeout(Duration.ofMillis(999)),
            "outbox.relay.send-timeout (sendTimeout) must be at least PT1S but was PT0.999S"),
        bad(
            b -> b.shutdownTimeout(Duration.ofSeconds(-1)),
            "outbox.relay.shutdown-timeout (shutdownTimeout) must be at least PT0S but was PT-1S"),
        bad(
            b -> b.keepPublishedFor(Duration.ofSeconds(-1)),
            "outbox.relay.keep-published-for (keepPublishedFor) must be at least PT0S but was"
                + " PT-1S"),
        bad(
            b -> b.stallTimeout(Duration.ofMillis(500)),
            "outbox.relay.health.stall-timeout (stallTimeout) must be at least PT1S but was"
                + " PT0.5S"),
        bad(
            b -> b.instanceId("a b"),
            "outbox.relay.instance-id (instanceId) 'a b' must match [A-Za-z0-9._:@-]{1,200}"),
        bad(
            b -> b.transactionalFencing("not allowed"),
            "outbox.relay.kafka.transactional-id-prefix (transactionalFencing) must be 1 to 200"
                + " letters, digits and . _ - but was 'not allowed'"),
        bad(
            b -> b.bootstrapServers(" "),
            "outbox.relay.kafka.bootstrap-servers (bootstrapServers) must be set"),
        bad(
            b -> b.polling(RelayConfig.Polling.ofDefaults().withPublishThreads(17)),
            "outbox.relay.polling.publish-threads (publishThreads) must be between 1 and 16 but"
                + " was 17"));
  }

  private static Arguments bad(Consumer<RelayConfig.Builder> setting, String message) {
    return Arguments.of(setting, message);
  }

  @ParameterizedTest
  @MethodSource("badValues")
  void refusesABadValueNamingItsPropertyAndMethod(
      Consumer<RelayConfig.Builder> setting, String message) {
    assertThatIllegalArgumentException()
        .isThrownBy(() -> setting.accept(RelayConfig.custom()))
        .withMessage(message);
  }

  @Test
  void refusesALeaseThatASendCouldOutliveNamingBothProperties() {
    assertThatIllegalStateException()
        .isThrownBy(
            () ->
                RelayConfig.custom()
                    .leases(Duration.ofSeconds(10), Duration.ofSeconds(1))
                    .sendTimeout(Duration.ofSeconds(8))
                    .build())
        .withMessageStartingWith("outbox.relay.leases.ttl (leases.ttl, PT10S) must be longer than")
        .withMessageContaining("outbox.relay.send-timeout (sendTimeout, PT8S)")
        .withMessageContaining("outbox.relay.leases.heartbeat-interval (leases.heartbeat, PT2S)");
  }

  @Test
  void refusesAStallTimeoutThatMeasurementsOrCdcHeartbeatsCouldReach() {
    assertThatIllegalStateException()
        .isThrownBy(
            () ->
                RelayConfig.custom()
                    .metricsInterval(Duration.ofSeconds(5))
                    .stallTimeout(Duration.ofSeconds(10))
                    .build())
        .withMessageStartingWith("outbox.relay.health.stall-timeout (stallTimeout) is PT10S")
        .withMessageContaining("outbox.relay.polling.metrics-interval");
    assertThatIllegalStateException()
        .isThrownBy(
            () ->
                RelayConfig.custom().stallTimeout(Duration.ofSeconds(30)).cdc(cdcOptions()).build())
        .withMessageContaining("outbox.relay.cdc.heartbeat-interval");
  }

  @Test
  void theDefaultsAreTheRelayDefaults() {
    RelayConfig config = RelayConfig.ofDefaults();

    assertThat(config.batches())
        .isEqualTo(
            new RelayConfig.Batches(
                RelayDefaults.BATCH_SIZE,
                RelayDefaults.BATCH_BYTES,
                RelayDefaults.MIN_POLL_INTERVAL,
                RelayDefaults.MAX_POLL_INTERVAL,
                RelayDefaults.METRICS_INTERVAL));
    assertThat(config.leases())
        .isEqualTo(
            new RelayConfig.Leases(
                RelayDefaults.LEASE_TTL, RelayDefaults.HEARTBEAT_INTERVAL, true));
    assertThat(config.retry())
        .isEqualTo(
            new RelayConfig.Retry(
                RelayDefaults.MAX_ATTEMPTS,
                RelayDefaults.RETRY_INITIAL_INTERVAL,
                RelayDefaults.RETRY_MULTIPLIER,
                RelayDefaults.RETRY_MAX_INTERVAL));
    assertThat(config.mode())
        .isEqualTo(
            new RelayConfig.Polling(
                RelayDefaults.PUBLISH_THREADS,
                true,
                OutboxTable.of(RelayDefaults.LEASE_TABLE),
                OutboxTable.of(RelayDefaults.MEMBER_TABLE)));
    assertThat(config.shutdownTimeout()).isEqualTo(RelayDefaults.SHUTDOWN_TIMEOUT);
    assertThat(config.stallTimeout()).isEqualTo(RelayDefaults.STALL_TIMEOUT);
    assertThat(config.effectiveSendTimeout()).isEqualTo(RelayDefaults.SEND_TIMEOUT);
    assertThat(config.keepPublishedFor()).isNull();
    assertThat(config.instanceId()).isNull();
    assertThat(config.kafka().verifyTopics()).isTrue();
    assertThat(config).isEqualTo(RelayConfig.custom().build());
  }

  @Test
  void fromCopiesEveryOptionAndChangesOnlyWhatIsSet() {
    RelayConfig base =
        RelayConfig.custom()
            .bootstrapServers("kafka:9092")
            .producerProperty("compression.type", "zstd")
            .batchSize(100)
            .leases(Duration.ofSeconds(60), Duration.ofSeconds(2))
            .retryBackoff(Duration.ofMillis(50), 3, Duration.ofSeconds(10))
            .keepPublishedFor(Duration.ofHours(1))
            .instanceId("relay-1")
            .polling(RelayConfig.Polling.ofDefaults().withPublishThreads(4))
            .build();

    assertThat(RelayConfig.from(base).build()).isEqualTo(base);
    RelayConfig changed = RelayConfig.from(base).batchSize(200).build();
    assertThat(changed.batches().batchSize()).isEqualTo(200);
    assertThat(changed).isEqualTo(RelayConfig.from(changed).build()).isNotEqualTo(base);
    assertThat(RelayConfig.from(changed).batchSize(100).build()).isEqualTo(base);
  }

  @Test
  void cdcOnlyOptionsCannotBeSetInPollingModeNorPollingOnlyOnesInCdcMode() {
    // The mode is one of two types: each carries only its own options.
    assertThat(RelayConfig.Mode.class.getPermittedSubclasses())
        .containsExactlyInAnyOrder(RelayConfig.Polling.class, RelayConfig.Cdc.class);
    assertThat(componentNames(RelayConfig.Polling.class))
        .containsExactly("publishThreads", "listenNotify", "leaseTable", "memberTable");
    assertThat(componentNames(RelayConfig.Cdc.class)).containsExactly("options");
    // Nothing outside the mode reaches either mode's options.
    assertThat(
            Arrays.stream(RelayConfig.class.getMethods())
                .map(Method::getReturnType)
                .filter(type -> type == CdcOptions.class || type == RelayConfig.Polling.class))
        .isEmpty();
    assertThat(
            Arrays.stream(RelayConfig.Builder.class.getMethods())
                .map(Method::getName)
                .filter(
                    name ->
                        name.equals("publishThreads")
                            || name.equals("listenNotify")
                            || name.equals("leaseTables")))
        .isEmpty();

    RelayConfig cdc = RelayConfig.custom().cdc(cdcOptions()).build();
    assertThat(cdc.mode()).isEqualTo(new RelayConfig.Cdc(cdcOptions()));
    RelayConfig polling = RelayConfig.from(cdc).polling(RelayConfig.Polling.ofDefaults()).build();
    assertThat(polling.mode()).isEqualTo(RelayConfig.Polling.ofDefaults());
  }

  @Test
  void theCircuitBreakerIsOursAndMapsToTheResilience4jDefaultsTheRelayHad() {
    assertThat(
            Arrays.stream(RelayConfig.class.getMethods())
                .flatMap(
                    m ->
                        Stream.concat(
                            Stream.of(m.getReturnType()), Stream.of(m.getParameterTypes()))))
        .noneMatch(type -> type.getName().startsWith("io.github.resilience4j"));
    CircuitBreakerConfig mapped =
        dev.outboxkit.relay.internal.CircuitBreakers.toResilience4j(
            RelayConfig.CircuitBreaker.ofDefaults());
    assertThat(mapped.getSlidingWindowType())
        .isEqualTo(CircuitBreakerConfig.SlidingWindowType.COUNT_BASED);
    assertThat(mapped.getSlidingWindowSize()).isEqualTo(4);
    assertThat(mapped.getMinimumNumberOfCalls()).isEqualTo(2);
    assertThat(mapped.getFailureRateThreshold()).isEqualTo(50f);
    assertThat(mapped.getPermittedNumberOfCallsInHalfOpenState()).isEqualTo(1);
    assertThat(mapped.getWaitIntervalFunctionInOpenState().apply(1)).isEqualTo(5_000L);
    assertThatIllegalArgumentException()
        .isThrownBy(() -> new RelayConfig.CircuitBreaker(4, 5, 50, Duration.ofSeconds(5), 1))
        .withMessageContaining("minimumNumberOfCalls");
  }

  @Test
  void printsNoSecret() {
    RelayConfig config =
        RelayConfig.custom()
            .producerProperty("sasl.jaas.config", "x password=\"s3cret-marker\";")
            .build();
    assertThat(config.toString()).doesNotContain("s3cret-marker").contains("****");
  }

  private static CdcOptions cdcOptions() {
    return CdcOptions.builder("jdbc:postgresql://db/app", "u", "p").build();
  }

  private static String[] componentNames(Class<? extends Record> type) {
    return Arrays.stream(type.getRecordComponents())
        .map(RecordComponent::getName)
        .toArray(String[]::new);
  }
}
