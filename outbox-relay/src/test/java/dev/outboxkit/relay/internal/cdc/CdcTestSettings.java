package dev.outboxkit.relay.internal.cdc;

import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.relay.RelayDefaults;
import dev.outboxkit.relay.internal.RelaySettings;
import dev.outboxkit.relay.spi.TopicRouter;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.micrometer.observation.ObservationRegistry;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import javax.sql.DataSource;

/**
 * Relay settings for tests that build the CDC relay's delegates by hand (the handler, the row
 * store) instead of going through {@code OutboxRelay.builder()}: PostgreSQL, the default tables,
 * short leases, no dead-letter topic.
 */
final class CdcTestSettings {

  private CdcTestSettings() {}

  static RelaySettings postgres(DataSource dataSource, String instanceId) {
    return postgres(dataSource, instanceId, Clock.systemUTC());
  }

  /** As above, on the given clock (progress and lease times read it). */
  static RelaySettings postgres(DataSource dataSource, String instanceId, Clock clock) {
    Duration second = Duration.ofSeconds(1);
    return new RelaySettings(
        dataSource,
        OutboxDialect.postgresql(),
        OutboxTable.DEFAULT,
        OutboxTable.of("outbox_lease"),
        OutboxTable.of("outbox_member"),
        1,
        Map.of(),
        TopicRouter.prefixed(""),
        null,
        false,
        100,
        RelayDefaults.BATCH_BYTES,
        1,
        Duration.ofMillis(10),
        second,
        Duration.ofSeconds(10),
        Duration.ofMillis(250),
        second,
        3,
        second,
        2.0,
        second,
        second,
        CircuitBreakerConfig.ofDefaults(),
        null,
        second,
        false,
        false,
        dataSource,
        new SimpleMeterRegistry(),
        clock,
        instanceId,
        null,
        RelayDefaults.STALL_TIMEOUT,
        ObservationRegistry.NOOP,
        null);
  }
}
