package dev.outboxkit.relay.internal;

import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.relay.observation.OutboxPublishObservationConvention;
import dev.outboxkit.relay.spi.TopicRouter;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.observation.ObservationRegistry;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import javax.sql.DataSource;
import org.jspecify.annotations.Nullable;

/**
 * Every option of a relay, validated and sealed by {@code OutboxRelay.Builder#build()}. {@code
 * sessionDataSource} serves the session lock and LISTEN: the main data source unless the relay was
 * given direct connections for them.
 */
public record RelaySettings(
    DataSource dataSource,
    @Nullable OutboxDialect dialect,
    OutboxTable table,
    OutboxTable leaseTable,
    OutboxTable memberTable,
    int partitions,
    Map<String, Object> producerProperties,
    TopicRouter topicRouter,
    @Nullable String deadLetterTopic,
    boolean verifyTopics,
    int batchSize,
    long batchBytes,
    int publishThreads,
    Duration minPollInterval,
    Duration maxPollInterval,
    Duration leaseTtl,
    Duration heartbeatInterval,
    Duration metricsInterval,
    int maxAttempts,
    Duration retryInitialInterval,
    double retryMultiplier,
    Duration retryMaxInterval,
    Duration sendTimeout,
    CircuitBreakerConfig circuitBreaker,
    @Nullable Duration keepPublishedFor,
    Duration shutdownTimeout,
    boolean listenNotify,
    boolean sessionLocks,
    DataSource sessionDataSource,
    MeterRegistry meterRegistry,
    Clock clock,
    String instanceId,
    @Nullable String transactionalIdPrefix,
    Duration stallTimeout,
    ObservationRegistry observationRegistry,
    @Nullable OutboxPublishObservationConvention publishObservationConvention) {

  /** The settings that matter when reading a log, with secret producer properties masked. */
  @Override
  public String toString() {
    return "RelaySettings[table="
        + table
        + ", partitions="
        + partitions
        + ", instanceId="
        + instanceId
        + ", batchSize="
        + batchSize
        + ", batchBytes="
        + batchBytes
        + ", publishThreads="
        + publishThreads
        + ", leaseTtl="
        + leaseTtl
        + ", heartbeatInterval="
        + heartbeatInterval
        + ", sendTimeout="
        + sendTimeout
        + ", maxAttempts="
        + maxAttempts
        + ", deadLetterTopic="
        + deadLetterTopic
        + ", sessionLocks="
        + sessionLocks
        + ", transactionalIdPrefix="
        + transactionalIdPrefix
        + ", stallTimeout="
        + stallTimeout
        + ", producerProperties="
        + Secrets.masked(producerProperties)
        + "]";
  }
}
