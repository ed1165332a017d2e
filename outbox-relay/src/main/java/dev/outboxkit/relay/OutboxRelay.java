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
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Metrics;
import io.micrometer.observation.ObservationRegistry;
import java.time.Clock;
import java.time.Duration;
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
 * marks them done (deleted, or kept as {@code PUBLISHED} for {@link Builder#keepPublishedFor}). A
 * crash between the acknowledgement and the mark re-sends that batch: duplicates are bounded by the
 * in-flight batch, and consumers deduplicate on the {@code outbox-event-id} header.
 *
 * <p>A failed event is retried with exponential backoff and blocks the later events of its
 * aggregate id only; after {@link Builder#maxAttempts} attempts, or at once for a permanent error
 * (a record larger than the producer allows), it is parked with status {@code DEAD}, and can be
 * replayed through {@link #parkedEvents()}.
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

  /** A builder; {@link Builder#dataSource} and {@link Builder#bootstrapServers} are required. */
  static Builder builder() {
    return new Builder();
  }

  /**
   * Wires an {@link OutboxRelay}: its collaborators (data sources, dialect, outbox table and
   * partitions, topic router, meter registry, clock) and its {@link RelayConfig}, given at once
   * with {@link #config} or option by option. The option setters forward to {@link
   * RelayConfig.Builder}, which checks each value when set and names the property and the method in
   * the message; the relay copies everything at {@link #build()}.
   *
   * <p>Unlike {@link RelayConfig}, this builder accepts the polling-only options ({@link
   * #publishThreads}, {@link #listenNotify}, {@link #leaseTables}) together with {@link #cdc} and
   * ignores them in CDC mode, as it always did.
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
    // The value options live in RelayConfig, checked there; this builder forwards to it.
    private RelayConfig.Builder config = RelayConfig.custom();
    private RelayConfig.Polling polling = RelayConfig.Polling.ofDefaults();
    private @Nullable CdcOptions cdc;
    private @Nullable CircuitBreakerConfig circuitBreakerConfig;

    private Builder() {}

    /**
     * The circuit breaker used when none is set: {@link RelayConfig.CircuitBreaker#ofDefaults()} as
     * a Resilience4j configuration.
     *
     * @deprecated Resilience4j is an implementation detail; use {@link
     *     RelayConfig.CircuitBreaker#ofDefaults()}.
     */
    @Deprecated(since = "0.1")
    public static CircuitBreakerConfig defaultCircuitBreaker() {
      return CircuitBreakers.toResilience4j(RelayConfig.CircuitBreaker.ofDefaults());
    }

    /**
     * Sets every value option at once; later setters of this builder change single options of it.
     * The outbox table, partitions, data sources, dialect, router, registry and clock are set here,
     * not in the configuration.
     *
     * @param config the configuration, e.g. the one the Spring Boot starter bound
     */
    public Builder config(RelayConfig config) {
      this.config = RelayConfig.from(Objects.requireNonNull(config, "config"));
      if (config.mode() instanceof RelayConfig.Polling p) {
        this.polling = p;
        this.cdc = null;
      } else if (config.mode() instanceof RelayConfig.Cdc c) {
        this.cdc = c.options();
      }
      this.circuitBreakerConfig = null;
      return this;
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
     * The lease tables. Defaults: {@value RelayDefaults#LEASE_TABLE} and {@value
     * RelayDefaults#MEMBER_TABLE}. Relays of different outbox tables need their own lease tables.
     *
     * @param leases the partition lease table
     * @param members the table of live instances
     */
    public Builder leaseTables(OutboxTable leases, OutboxTable members) {
      this.polling =
          polling.withLeaseTables(
              Objects.requireNonNull(leases, "leaseTable"),
              Objects.requireNonNull(members, "memberTable"));
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
     * The Kafka cluster. Required (here or as {@code bootstrap.servers} in {@link
     * #producerProperty}).
     *
     * @param servers {@code host:port[,host:port...]}
     */
    public Builder bootstrapServers(String servers) {
      config.bootstrapServers(servers);
      return this;
    }

    /**
     * A Kafka producer property, e.g. security settings, {@code compression.type} or {@code
     * linger.ms}. The relay enforces {@code enable.idempotence=true} and {@code acks=all}, and sets
     * byte-array serializers; properties that would weaken delivery are refused at {@link
     * #build()}.
     *
     * @param name the property name
     * @param value its value
     */
    public Builder producerProperty(String name, Object value) {
      config.producerProperty(name, value);
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
     * A topic that receives a copy of every event when it is parked, with headers {@code
     * outbox-error} and {@code outbox-original-topic}. Default: none (the parked row stays in the
     * outbox either way).
     *
     * @param topic the dead-letter topic, or {@code null} for none
     */
    public Builder deadLetterTopic(@Nullable String topic) {
      config.deadLetterTopic(topic);
      return this;
    }

    /**
     * Whether to check that a topic exists before the first send to it (with an admin client), so
     * that a missing topic fails fast as a retriable error instead of blocking the producer for
     * {@code max.block.ms}. Turn it off when brokers create topics automatically. Default: on.
     *
     * @param verify whether to check
     */
    public Builder verifyTopics(boolean verify) {
      config.verifyTopics(verify);
      return this;
    }

    /**
     * The most events per batch. Default: {@value RelayDefaults#BATCH_SIZE}.
     *
     * @param size 1 to 10,000
     */
    public Builder batchSize(int size) {
      config.batchSize(size);
      return this;
    }

    /**
     * The most bytes of events (payloads and headers, as stored) a publishing thread holds at once:
     * the batch in flight and the batch read ahead together. A read stops adding rows once the
     * budget is reached, in {@code seq} order; its first row always fits, so no event is too large
     * to be read. With CDC it bounds Debezium's queue ({@code max.queue.size.in.bytes}). Default:
     * 64 MiB ({@link RelayDefaults#BATCH_BYTES}). Events per batch stay bounded by {@link
     * #batchSize} too.
     *
     * @param bytes 1 KiB to 2 GiB
     */
    public Builder batchBytes(long bytes) {
      config.batchBytes(bytes);
      return this;
    }

    /**
     * Publishing threads of this instance. Default: {@value RelayDefaults#PUBLISH_THREADS}. Each
     * thread publishes a share of the instance's partitions (partition mod threads) with its own
     * producer, so reading, sending and marking of different partitions overlap. Per-key order is
     * unaffected (a key lives in one partition); the crash duplicate bound becomes one batch per
     * thread. The default adapts to the backlog (without transactional fencing): {@link
     * RelayDefaults#maxPublishThreads} threads start and 1 to all of them read, as reads come back
     * full or not; any other value is a fixed count.
     *
     * @param threads 1 to 16
     */
    public Builder publishThreads(int threads) {
      this.polling = polling.withPublishThreads(threads);
      return this;
    }

    /**
     * The adaptive poll interval: after an empty poll the relay waits {@code min}, doubling up to
     * {@code max} while polls stay empty; a full batch is followed by the next without waiting.
     * Defaults: 10 ms and 1 s.
     *
     * @param min the first wait, at least 1 ms
     * @param max the longest wait, at least {@code min}
     */
    public Builder pollInterval(Duration min, Duration max) {
      config.pollInterval(min, max);
      return this;
    }

    /**
     * Partition leases: an instance renews its leases every {@code heartbeat}; a lease not renewed
     * for {@code ttl} may be taken over. Defaults: 30 s and 500 ms. A crashed instance's partitions
     * resume 1.5 to 2.5 heartbeats after its last one with {@link #sessionLocks} (the default), at
     * most {@code ttl + heartbeat} without; a gracefully stopped one's at the others' next
     * heartbeat.
     *
     * @param ttl the lease duration
     * @param heartbeat the renewal interval, at most a third of {@code ttl}
     */
    public Builder leases(Duration ttl, Duration heartbeat) {
      config.leases(ttl, heartbeat);
      return this;
    }

    /**
     * How often the backlog and lag gauges are measured (one aggregate query). Default: 5 s.
     *
     * @param interval at least 10 ms
     */
    public Builder metricsInterval(Duration interval) {
      config.metricsInterval(interval);
      return this;
    }

    /**
     * Attempts before an event is parked. Default: {@value RelayDefaults#MAX_ATTEMPTS}.
     *
     * @param attempts at least 1
     */
    public Builder maxAttempts(int attempts) {
      config.maxAttempts(attempts);
      return this;
    }

    /**
     * The wait before retrying a failed event: {@code initial * multiplier^(attempts-1)}, capped at
     * {@code max}, with ±20 % jitter. Defaults: 1 s, 2.0, 5 min.
     *
     * @param initial the first wait, at least 1 ms
     * @param multiplier at least 1.0
     * @param max the longest wait, at least {@code initial}
     */
    public Builder retryBackoff(Duration initial, double multiplier, Duration max) {
      config.retryBackoff(initial, multiplier, max);
      return this;
    }

    /**
     * How long the producer may take to get a record acknowledged ({@code delivery.timeout.ms}).
     * Default: 15 s, or less when the leases are shorter: {@code ttl - 3 heartbeats}, at least 1 s.
     *
     * <p>Fencing: a send starts only while the relay's leases stay valid for longer than this plus
     * half a heartbeat, so a deposed owner's records are acknowledged or given up before a
     * successor may claim its partitions. {@link #build()} therefore refuses {@code ttl <= timeout
     * + 2 heartbeats}.
     *
     * @param timeout at least 1 s
     */
    public Builder sendTimeout(Duration timeout) {
      config.sendTimeout(Objects.requireNonNull(timeout, "sendTimeout"));
      return this;
    }

    /**
     * The circuit breaker around the broker: while open, the relay sends nothing and events wait in
     * the outbox. A batch with retriable send failures counts as a failed call. Default: {@link
     * #defaultCircuitBreaker()}.
     *
     * @param config a Resilience4j configuration
     * @deprecated Resilience4j is an implementation detail; use {@link
     *     #circuitBreaker(RelayConfig.CircuitBreaker)}.
     */
    @Deprecated(since = "0.1")
    public Builder circuitBreaker(CircuitBreakerConfig config) {
      this.circuitBreakerConfig = Objects.requireNonNull(config, "circuitBreaker");
      return this;
    }

    /**
     * The circuit breaker around the broker: while open, the relay sends nothing and events wait in
     * the outbox. A batch with retriable send failures counts as a failed call. Default: {@link
     * RelayConfig.CircuitBreaker#ofDefaults()}.
     *
     * @param breaker the breaker's settings
     */
    public Builder circuitBreaker(RelayConfig.CircuitBreaker breaker) {
      config.circuitBreaker(breaker);
      this.circuitBreakerConfig = null;
      return this;
    }

    /**
     * Keeps published events as status {@code PUBLISHED} for {@code retention}, then deletes them
     * in bounded batches. Default: {@code null}, delete at once (cheapest).
     *
     * @param retention how long to keep them, or {@code null} to delete at once
     */
    public Builder keepPublishedFor(@Nullable Duration retention) {
      config.keepPublishedFor(retention);
      return this;
    }

    /**
     * How long {@link OutboxRelay#close()} waits for the in-flight batch. Default: 30 s.
     *
     * @param timeout at least zero
     */
    public Builder shutdownTimeout(Duration timeout) {
      config.shutdownTimeout(timeout);
      return this;
    }

    /**
     * Whether to LISTEN for the outbox table's NOTIFY on PostgreSQL (sent by the trigger of the
     * shipped relay script). Default: on; ignored on other databases.
     *
     * @param enabled whether to listen
     */
    public Builder listenNotify(boolean enabled) {
      this.polling = polling.withListenNotify(enabled);
      return this;
    }

    /**
     * Whether each instance holds a session-scoped lock (PostgreSQL advisory lock, MySQL/MariaDB
     * {@code GET_LOCK}) on a connection of its own, so that the others take over its partitions
     * within about two heartbeats after it crashes, instead of after the lease TTL. Default: on;
     * ignored where the database has no such locks. Behind a transaction pooler (PgBouncer in
     * transaction mode, RDS Proxy) a session lock does not stay with the relay: give it direct
     * connections with {@link #sessionDataSource}, or turn this off (takeover then waits for the
     * TTL).
     *
     * @param enabled whether to use session locks
     */
    public Builder sessionLocks(boolean enabled) {
      config.sessionLocks(enabled);
      return this;
    }

    /**
     * Connections for what needs a server session of its own: the {@link #sessionLocks session
     * lock} and PostgreSQL {@code LISTEN}. Give direct connections here when the {@link
     * #dataSource} goes through a transaction pooler (PgBouncer in transaction mode, RDS Proxy),
     * where neither stays with the relay's session; reads and marks keep using the pooled ones. The
     * relay holds at most two of these connections, each open for as long as it runs, so an
     * unpooled data source (a new connection per call) suits best. Default: the {@link
     * #dataSource}. Without it behind a transaction pooler, the relay notices that its lock is not
     * kept, turns session locks off and says so once; takeover then waits for the lease TTL.
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
     * This instance's id in the lease tables. Default: host name, process id and a random suffix.
     *
     * @param id up to 200 letters, digits and {@code . _ : @ -}
     */
    public Builder instanceId(String id) {
      config.instanceId(Objects.requireNonNull(id, "instanceId"));
      return this;
    }

    /**
     * Reads the outbox with change data capture (Debezium's embedded engine on the PostgreSQL WAL
     * or the MySQL/MariaDB binlog) instead of polling. Needs {@code io.debezium:debezium-embedded}
     * and the connector of your database on the class path. The Kafka records are the same.
     *
     * @param options the CDC options, or {@code null} for polling
     */
    public Builder cdc(@Nullable CdcOptions options) {
      this.cdc = options;
      return this;
    }

    /**
     * Turns on transactional fencing: each outbox partition is published by a producer with the
     * transactional id {@code <prefix>-<partition>}, one Kafka transaction per batch and partition.
     * An instance that takes a partition over fences the previous owner's producer off and aborts
     * its open transaction, so records of a deposed owner that reach the broker late are never seen
     * by {@code read_committed} consumers. Costs a commit per partition and batch (see
     * docs/benchmarks.md) and is only useful when consumers read with {@code
     * isolation.level=read_committed}. Off by default.
     *
     * <p>The prefix must be the same for every relay instance of one outbox table and unique in the
     * Kafka cluster for that table: two outboxes with one prefix fence each other.
     *
     * @param prefix up to 200 letters, digits and {@code . _ -}, or {@code null} for off
     */
    public Builder transactionalFencing(@Nullable String prefix) {
      config.transactionalFencing(prefix);
      return this;
    }

    /**
     * How long work may wait while nothing moves before {@link RelayStatus#stalled()} says why (and
     * the Spring Boot health indicator reports DOWN). Work waits when pending events are in the
     * outbox (polling), while the change stream is to be read (CDC, running and not paused), or
     * when measuring the backlog fails; it moves when an event is published or parked, or, in CDC,
     * when a batch's position is stored by this instance or (through the state table) by the active
     * one. Default: {@link RelayDefaults#STALL_TIMEOUT}. {@link #build()} refuses a timeout of two
     * {@link #metricsInterval}s or less, and in CDC of three engine heartbeats or less (an idle
     * stream shows progress only once per heartbeat).
     *
     * @param timeout at least 1 s
     */
    public Builder stallTimeout(Duration timeout) {
      config.stallTimeout(timeout);
      return this;
    }

    /**
     * Builds the relay. Does no I/O and starts no thread.
     *
     * @throws IllegalStateException when a required option is missing or producer properties would
     *     weaken delivery
     */
    public OutboxRelay build() {
      if (dataSource == null) {
        throw new IllegalStateException("OutboxRelay.builder() needs a dataSource");
      }
      RelayConfig relay = (cdc == null ? config.polling(polling) : config.cdc(cdc)).build();
      Map<String, Object> producerProperties = relay.kafka().producerProperties();
      if (!producerProperties.containsKey(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG)) {
        throw new IllegalStateException(
            "OutboxRelay.builder() needs bootstrapServers: the Kafka cluster to publish to");
      }
      RelayFactory.checkProducerProperties(producerProperties);
      // CDC has no publishing threads, LISTEN or lease tables: the defaults stand in for them.
      RelayConfig.Polling reading =
          relay.mode() instanceof RelayConfig.Polling p ? p : RelayConfig.Polling.ofDefaults();
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
              circuitBreakerConfig != null
                  ? circuitBreakerConfig
                  : CircuitBreakers.toResilience4j(relay.circuitBreaker()),
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
