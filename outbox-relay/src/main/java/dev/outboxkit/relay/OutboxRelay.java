package dev.outboxkit.relay;

import static dev.outboxkit.outbox.OptionChecks.between;

import dev.outboxkit.outbox.OutboxDefaults;
import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.relay.cdc.CdcOptions;
import dev.outboxkit.relay.internal.CircuitBreakers;
import dev.outboxkit.relay.internal.RelaySettings;
import dev.outboxkit.relay.observation.OutboxPublishObservationConvention;
import dev.outboxkit.relay.spi.TopicRouter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Metrics;
import io.micrometer.observation.ObservationRegistry;
import java.time.Clock;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import javax.sql.DataSource;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.jspecify.annotations.Nullable;

/**
 * Publishes committed outbox events to Kafka, at least once and in order per aggregate id.
 *
 * <p>The outbox partitions are shared between relay instances through leases in the database: an
 * instance publishes only partitions it holds, so any number of instances may run against one
 * outbox. Per batch it reads the oldest pending events of its partitions, sends them with an
 * idempotent producer ({@code acks=all}), waits for the broker's acknowledgements and only then
 * marks them done (deleted, or kept as {@code PUBLISHED} for {@link
 * RelayConfig#keepPublishedFor()}). A crash between the acknowledgement and the mark re-sends that
 * batch: duplicates are bounded by the in-flight batch, and consumers deduplicate on the {@code
 * outbox-event-id} header.
 *
 * <p>A failed event is retried with exponential backoff and blocks the later events of its
 * aggregate id only; after {@link RelayConfig.Retry#maxAttempts()} attempts, or at once for a
 * permanent error (a record larger than the producer allows), it is parked with status {@code
 * DEAD}, and can be replayed through {@link #parkedEvents()}.
 *
 * <p>Threads: {@link #start()} starts a publishing thread, a lease/metrics thread and, on
 * PostgreSQL, a LISTEN thread, all named {@code outboxkit-relay-*}. {@link #close()} finishes or
 * abandons the in-flight batch within the shutdown timeout and releases the leases so that other
 * instances take over at once.
 */
public interface OutboxRelay extends AutoCloseable {

  /**
   * Starts the relay's threads; returns at once. Connects to nothing before this call.
   *
   * @throws IllegalStateException when the relay was started before
   */
  void start();

  /** Ends the current idle wait so the relay polls now. Cheap; safe from any thread. */
  void wakeUp();

  /** Stops publishing after the current batch, keeping leases and metrics. */
  void pause();

  /** Resumes publishing after {@link #pause()}. */
  void resume();

  /** A snapshot of this instance. */
  RelayStatus status();

  /** Management of parked events in this relay's outbox table. */
  ParkedEvents parkedEvents();

  /** Stops within the shutdown timeout and releases this instance's leases. Idempotent. */
  @Override
  void close();

  /**
   * A builder; {@link Builder#dataSource} is required, and the {@link Builder#config configuration}
   * must name the Kafka cluster ({@link RelayConfig.Builder#bootstrapServers}).
   */
  static Builder builder() {
    return new Builder();
  }

  /**
   * Wires an {@link OutboxRelay}: its collaborators (data sources, dialect, outbox table and
   * partitions, topic router, registries, clock) and its {@link RelayConfig}, which holds every
   * value option (Kafka, batches, leases, retries, the mode and its options) and checks them in one
   * place. Because the mode is part of that value, options of polling cannot be given to a CDC
   * relay or the other way round.
   *
   * <pre>{@code
   * OutboxRelay relay =
   *     OutboxRelay.builder()
   *         .dataSource(dataSource)
   *         .config(RelayConfig.custom().bootstrapServers("kafka:9092").batchSize(500).build())
   *         .build();
   * }</pre>
   */
  final class Builder {

    private @Nullable DataSource dataSource;
    private @Nullable OutboxDialect dialect;
    private OutboxTable table = OutboxTable.DEFAULT;
    private int partitions = OutboxDefaults.PARTITIONS;
    private TopicRouter topicRouter = TopicRouter.prefixed("");
    private @Nullable DataSource sessionDataSource;
    private MeterRegistry meterRegistry = Metrics.globalRegistry;
    private ObservationRegistry observationRegistry = ObservationRegistry.NOOP;
    private @Nullable OutboxPublishObservationConvention publishObservationConvention;
    private Clock clock = Clock.systemUTC();
    private RelayConfig config = RelayConfig.ofDefaults();

    private Builder() {}

    /**
     * The value options: Kafka, batches, leases, retries, circuit breaker, timeouts and the mode
     * (polling or CDC). Default: {@link RelayConfig#ofDefaults()}, which names no Kafka cluster, so
     * a relay needs this. Replaces a configuration set before; to change one option of it, use
     * {@link RelayConfig#from(RelayConfig) RelayConfig.from}({@link #currentConfig()}).
     *
     * @param config the configuration, e.g. the one the Spring Boot starter bound
     */
    public Builder config(RelayConfig config) {
      this.config = Objects.requireNonNull(config, "config");
      return this;
    }

    /**
     * The configuration set so far ({@link RelayConfig#ofDefaults()} when none was), e.g. for a
     * Spring Boot customizer that changes one option of the bound configuration.
     */
    public RelayConfig currentConfig() {
      return config;
    }

    /**
     * The database of the outbox. Required. The relay uses a few connections of it: one per batch
     * statement, one for lease heartbeats and, unless {@link #sessionDataSource} is set, one held
     * for the session lock and on PostgreSQL one held for LISTEN.
     *
     * @param dataSource a pooled data source
     */
    public Builder dataSource(DataSource dataSource) {
      this.dataSource = Objects.requireNonNull(dataSource, "dataSource");
      return this;
    }

    /**
     * The SQL dialect. Default: detected from a connection when the relay starts.
     *
     * @param dialect the dialect
     */
    public Builder dialect(OutboxDialect dialect) {
      this.dialect = Objects.requireNonNull(dialect, "dialect");
      return this;
    }

    /**
     * The outbox table. Default: {@value OutboxDefaults#TABLE_NAME}.
     *
     * @param table the table the writers append to
     */
    public Builder table(OutboxTable table) {
      this.table = Objects.requireNonNull(table, "table");
      return this;
    }

    /**
     * The number of outbox partitions; must equal the writers'. Default: {@value
     * OutboxDefaults#PARTITIONS}. The relay refuses to start when the lease table was set up with
     * another number.
     *
     * @param partitions 1 to {@value OutboxDefaults#MAX_PARTITIONS}
     */
    public Builder partitions(int partitions) {
      this.partitions = between("partitions", partitions, 1, OutboxDefaults.MAX_PARTITIONS);
      return this;
    }

    /**
     * Chooses each event's topic. Default: the aggregate type, unprefixed.
     *
     * @param router the router
     */
    public Builder topicRouter(TopicRouter router) {
      this.topicRouter = Objects.requireNonNull(router, "topicRouter");
      return this;
    }

    /**
     * Connections for what needs a server session of its own: the session lock ({@link
     * RelayConfig.Builder#sessionLocks}) and PostgreSQL {@code LISTEN}. Give direct connections
     * here when the {@link #dataSource} goes through a transaction pooler (PgBouncer in transaction
     * mode, RDS Proxy), where neither stays with the relay's session; reads and marks keep using
     * the pooled ones. The relay holds at most two of these connections, each open for as long as
     * it runs, so an unpooled data source (a new connection per call) suits best. Default: the
     * {@link #dataSource}. Without it behind a transaction pooler, the relay notices that its lock
     * is not kept, turns session locks off and says so once; takeover then waits for the lease TTL.
     *
     * @param sessionDataSource direct connections to the same database
     */
    public Builder sessionDataSource(DataSource sessionDataSource) {
      this.sessionDataSource = Objects.requireNonNull(sessionDataSource, "sessionDataSource");
      return this;
    }

    /**
     * Where metrics go. Default: Micrometer's global registry.
     *
     * @param registry the registry
     */
    public Builder meterRegistry(MeterRegistry registry) {
      this.meterRegistry = Objects.requireNonNull(registry, "meterRegistry");
      return this;
    }

    /**
     * Observes each event sent to Kafka as one {@code outbox.publish} observation (polling and CDC
     * alike), continuing the trace that the event's {@code traceparent} header carries from its
     * append; see {@link dev.outboxkit.relay.observation.OutboxPublishContext}. Default: {@link
     * ObservationRegistry#NOOP}, which observes nothing and costs nothing per event.
     *
     * @param registry the registry, not null
     * @return this builder
     * @since 0.1
     */
    public Builder observationRegistry(ObservationRegistry registry) {
      this.observationRegistry = Objects.requireNonNull(registry, "observationRegistry");
      return this;
    }

    /**
     * Names and tags of the publish observations. Default: {@link
     * dev.outboxkit.relay.observation.DefaultOutboxPublishObservationConvention}, or a global
     * convention registered on the registry that supports the publish context.
     *
     * @param convention the convention, not null
     * @return this builder
     * @since 0.1
     */
    public Builder publishObservationConvention(OutboxPublishObservationConvention convention) {
      this.publishObservationConvention =
          Objects.requireNonNull(convention, "publishObservationConvention");
      return this;
    }

    /**
     * The clock for leases, retries and lag. Default: {@link Clock#systemUTC()}. Lease expiry is
     * compared across instances, so their clocks must agree to well within the lease TTL (NTP).
     *
     * @param clock the clock
     */
    public Builder clock(Clock clock) {
      this.clock = Objects.requireNonNull(clock, "clock");
      return this;
    }

    /**
     * Builds the relay. Does no I/O and starts no thread.
     *
     * @throws IllegalStateException when the data source or the Kafka cluster is missing or
     *     producer properties would weaken delivery
     */
    public OutboxRelay build() {
      if (dataSource == null) {
        throw new IllegalStateException("OutboxRelay.builder() needs a dataSource");
      }
      RelayConfig relay = config;
      Map<String, Object> producerProperties = relay.kafka().producerProperties();
      if (!producerProperties.containsKey(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG)) {
        throw new IllegalStateException(
            "OutboxRelay.builder() needs bootstrapServers: the Kafka cluster to publish to"
                + " (RelayConfig.custom().bootstrapServers(...), given with config(...))");
      }
      RelayFactory.checkProducerProperties(producerProperties);
      // CDC has no publishing threads, LISTEN or lease tables: the defaults stand in for them.
      RelayConfig.Polling reading =
          relay.mode() instanceof RelayConfig.Polling p ? p : RelayConfig.Polling.ofDefaults();
      @Nullable CdcOptions cdc = relay.mode() instanceof RelayConfig.Cdc c ? c.options() : null;
      String instanceId = relay.instanceId();
      RelaySettings settings =
          new RelaySettings(
              dataSource,
              dialect,
              table,
              reading.leaseTable(),
              reading.memberTable(),
              partitions,
              producerProperties,
              topicRouter,
              relay.kafka().deadLetterTopic(),
              relay.kafka().verifyTopics(),
              relay.batches().batchSize(),
              relay.batches().batchBytes(),
              reading.publishThreads(),
              relay.batches().minPollInterval(),
              relay.batches().maxPollInterval(),
              relay.leases().ttl(),
              relay.leases().heartbeatInterval(),
              relay.batches().metricsInterval(),
              relay.retry().maxAttempts(),
              relay.retry().initialInterval(),
              relay.retry().multiplier(),
              relay.retry().maxInterval(),
              relay.effectiveSendTimeout(),
              CircuitBreakers.toResilience4j(relay.circuitBreaker()),
              relay.keepPublishedFor(),
              relay.shutdownTimeout(),
              reading.listenNotify(),
              relay.leases().sessionLocks(),
              sessionDataSource != null ? sessionDataSource : dataSource,
              meterRegistry,
              clock,
              instanceId != null ? instanceId : defaultInstanceId(),
              relay.kafka().transactionalIdPrefix(),
              relay.stallTimeout(),
              observationRegistry,
              publishObservationConvention);
      return RelayFactory.create(settings, cdc);
    }

    private static String defaultInstanceId() {
      String host;
      try {
        host = java.net.InetAddress.getLocalHost().getHostName();
      } catch (java.io.IOException e) {
        host = "host";
      }
      String id =
          host.replaceAll("[^A-Za-z0-9._-]", "")
              + "-"
              + ProcessHandle.current().pid()
              + "-"
              + UUID.randomUUID().toString().substring(0, 8);
      return id.length() > 200 ? id.substring(id.length() - 200) : id;
    }
  }
}
