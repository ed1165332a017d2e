package dev.outboxkit.relay;

import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.relay.cdc.CdcOptions;
import dev.outboxkit.relay.observation.OutboxPublishObservationConvention;
import dev.outboxkit.relay.spi.TopicRouter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.observation.ObservationRegistry;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import javax.sql.DataSource;
import org.jspecify.annotations.Nullable;

/**
 * The relay tests' way to write a relay in one chain: collaborators go to {@link
 * OutboxRelay.Builder}, value options to {@link RelayConfig.Builder}, and {@link #build()} hands
 * the configuration over with {@link OutboxRelay.Builder#config}. Test code only: the API keeps the
 * two apart. Unlike the old builder it refuses polling-only options together with {@link #cdc}.
 */
public final class TestRelayBuilder {

  private final OutboxRelay.Builder relay = OutboxRelay.builder();
  private final RelayConfig.Builder config = RelayConfig.custom();
  private RelayConfig.Polling polling = RelayConfig.Polling.ofDefaults();
  private final List<String> pollingOptions = new ArrayList<>();
  private @Nullable CdcOptions cdc;

  private TestRelayBuilder() {}

  /** A builder with the defaults, as {@link OutboxRelay#builder()}. */
  public static TestRelayBuilder relay() {
    return new TestRelayBuilder();
  }

  public TestRelayBuilder dataSource(DataSource dataSource) {
    relay.dataSource(dataSource);
    return this;
  }

  public TestRelayBuilder sessionDataSource(DataSource dataSource) {
    relay.sessionDataSource(dataSource);
    return this;
  }

  public TestRelayBuilder dialect(OutboxDialect dialect) {
    relay.dialect(dialect);
    return this;
  }

  public TestRelayBuilder table(OutboxTable table) {
    relay.table(table);
    return this;
  }

  public TestRelayBuilder partitions(int partitions) {
    relay.partitions(partitions);
    return this;
  }

  public TestRelayBuilder topicRouter(TopicRouter router) {
    relay.topicRouter(router);
    return this;
  }

  public TestRelayBuilder meterRegistry(MeterRegistry registry) {
    relay.meterRegistry(registry);
    return this;
  }

  public TestRelayBuilder observationRegistry(ObservationRegistry registry) {
    relay.observationRegistry(registry);
    return this;
  }

  public TestRelayBuilder publishObservationConvention(
      OutboxPublishObservationConvention convention) {
    relay.publishObservationConvention(convention);
    return this;
  }

  public TestRelayBuilder clock(Clock clock) {
    relay.clock(clock);
    return this;
  }

  public TestRelayBuilder bootstrapServers(String servers) {
    config.bootstrapServers(servers);
    return this;
  }

  public TestRelayBuilder producerProperty(String name, Object value) {
    config.producerProperty(name, value);
    return this;
  }

  public TestRelayBuilder deadLetterTopic(@Nullable String topic) {
    config.deadLetterTopic(topic);
    return this;
  }

  public TestRelayBuilder verifyTopics(boolean verify) {
    config.verifyTopics(verify);
    return this;
  }

  public TestRelayBuilder batchSize(int size) {
    config.batchSize(size);
    return this;
  }

  public TestRelayBuilder batchBytes(long bytes) {
    config.batchBytes(bytes);
    return this;
  }

  public TestRelayBuilder pollInterval(Duration min, Duration max) {
    config.pollInterval(min, max);
    return this;
  }

  public TestRelayBuilder leases(Duration ttl, Duration heartbeat) {
    config.leases(ttl, heartbeat);
    return this;
  }

  public TestRelayBuilder metricsInterval(Duration interval) {
    config.metricsInterval(interval);
    return this;
  }

  public TestRelayBuilder maxAttempts(int attempts) {
    config.maxAttempts(attempts);
    return this;
  }

  public TestRelayBuilder retryBackoff(Duration initial, double multiplier, Duration max) {
    config.retryBackoff(initial, multiplier, max);
    return this;
  }

  public TestRelayBuilder sendTimeout(Duration timeout) {
    config.sendTimeout(timeout);
    return this;
  }

  public TestRelayBuilder circuitBreaker(RelayConfig.CircuitBreaker breaker) {
    config.circuitBreaker(breaker);
    return this;
  }

  public TestRelayBuilder keepPublishedFor(@Nullable Duration retention) {
    config.keepPublishedFor(retention);
    return this;
  }

  public TestRelayBuilder shutdownTimeout(Duration timeout) {
    config.shutdownTimeout(timeout);
    return this;
  }

  public TestRelayBuilder sessionLocks(boolean enabled) {
    config.sessionLocks(enabled);
    return this;
  }

  public TestRelayBuilder instanceId(String id) {
    config.instanceId(id);
    return this;
  }

  public TestRelayBuilder transactionalFencing(@Nullable String prefix) {
    config.transactionalFencing(prefix);
    return this;
  }

  public TestRelayBuilder stallTimeout(Duration timeout) {
    config.stallTimeout(timeout);
    return this;
  }

  /** CDC mode with these options, or polling for {@code null}. */
  public TestRelayBuilder cdc(@Nullable CdcOptions options) {
    this.cdc = options;
    return this;
  }

  public TestRelayBuilder publishThreads(int threads) {
    polling = polling.withPublishThreads(threads);
    pollingOptions.add("publishThreads");
    return this;
  }

  public TestRelayBuilder listenNotify(boolean enabled) {
    polling = polling.withListenNotify(enabled);
    pollingOptions.add("listenNotify");
    return this;
  }

  public TestRelayBuilder leaseTables(OutboxTable leases, OutboxTable members) {
    polling = polling.withLeaseTables(leases, members);
    pollingOptions.add("leaseTables");
    return this;
  }

  /** The configuration so far, in the mode set. */
  public RelayConfig config() {
    if (cdc != null && !pollingOptions.isEmpty()) {
      throw new IllegalStateException("polling-only options with cdc: " + pollingOptions);
    }
    return (cdc == null ? config.polling(polling) : config.cdc(cdc)).build();
  }

  /** The relay, as {@link OutboxRelay.Builder#build()}. */
  public OutboxRelay build() {
    return relay.config(config()).build();
  }
}
