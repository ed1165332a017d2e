package dev.outboxkit.relay;

import static dev.outboxkit.outbox.internal.Checks.atLeast;
import static dev.outboxkit.outbox.internal.Checks.between;

import dev.outboxkit.outbox.OutboxDefaults;
import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.relay.cdc.CdcOptions;
import dev.outboxkit.relay.internal.RelaySettings;
import dev.outboxkit.relay.observation.OutboxPublishObservationConvention;
import dev.outboxkit.relay.spi.TopicRouter;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Metrics;
import io.micrometer.observation.ObservationRegistry;
import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import java.util.regex.Pattern;
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
   * Configures an {@link OutboxRelay}. Options are checked when set, naming the option in the
   * message; the relay copies them at {@link #build()}.
   */
  final class Builder {

    private static final Pattern INSTANCE_ID = Pattern.compile("[A-Za-z0-9._:@-]{1,200}");
    private static final Pattern TRANSACTIONAL_ID_PREFIX = Pattern.compile("[A-Za-z0-9._-]{1,200}");

    private @Nullable DataSource dataSource;
    private @Nullable OutboxDialect dialect;
    private OutboxTable table = OutboxTable.DEFAULT;
    private OutboxTable leaseTable = OutboxTable.of(RelayDefaults.LEASE_TABLE);
    private OutboxTable memberTable = OutboxTable.of(RelayDefaults.MEMBER_TABLE);
    private int partitions = OutboxDefaults.PARTITIONS;
    private final Map<String, Object> producerProperties = new LinkedHashMap<>();
    private TopicRouter topicRouter = TopicRouter.prefixed("");
    private @Nullable String deadLetterTopic;
    private boolean verifyTopics = true;
    private int batchSize = RelayDefaults.BATCH_SIZE;
    private long batchBytes = RelayDefaults.BATCH_BYTES;
    private int publishThreads = RelayDefaults.PUBLISH_THREADS;
    private Duration minPollInterval = RelayDefaults.MIN_POLL_INTERVAL;
    private Duration maxPollInterval = RelayDefaults.MAX_POLL_INTERVAL;
    private Duration leaseTtl = RelayDefaults.LEASE_TTL;
    private Duration heartbeatInterval = RelayDefaults.HEARTBEAT_INTERVAL;
    private Duration metricsInterval = RelayDefaults.METRICS_INTERVAL;
    private int maxAttempts = RelayDefaults.MAX_ATTEMPTS;
    private Duration retryInitialInterval = RelayDefaults.RETRY_INITIAL_INTERVAL;
    private double retryMultiplier = RelayDefaults.RETRY_MULTIPLIER;
    private Duration retryMaxInterval = RelayDefaults.RETRY_MAX_INTERVAL;
    private @Nullable Duration sendTimeout;
    private CircuitBreakerConfig circuitBreaker = defaultCircuitBreaker();
    private @Nullable Duration keepPublishedFor;
    private Duration shutdownTimeout = RelayDefaults.SHUTDOWN_TIMEOUT;
    private boolean listenNotify = true;
    private boolean sessionLocks = true;
    private @Nullable DataSource sessionDataSource;
    private MeterRegistry meterRegistry = Metrics.globalRegistry;
    private ObservationRegistry observationRegistry = ObservationRegistry.NOOP;
    private @Nullable OutboxPublishObservationConvention publishObservationConvention;
    private Clock clock = Clock.systemUTC();
    private @Nullable String instanceId;
    private @Nullable String transactionalIdPrefix;
    private @Nullable CdcOptions cdc;
    private Duration stallTimeout = RelayDefaults.STALL_TIMEOUT;

    private Builder() {}

    /**
     * The circuit breaker used when none is set: it opens when half of the last 4 batches (at least
     * 2) had retriable send failures, and lets one trial batch through after 5 seconds.
     */
    public static CircuitBreakerConfig defaultCircuitBreaker() {
      return CircuitBreakerConfig.custom()
          .slidingWindowType(CircuitBreakerConfig.SlidingWindowType.COUNT_BASED)
          .slidingWindowSize(4)
          .minimumNumberOfCalls(2)
          .failureRateThreshold(50)
          .waitDurationInOpenState(Duration.ofSeconds(5))
          .permittedNumberOfCallsInHalfOpenState(1)
          .build();
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
      this.leaseTable = Objects.requireNonNull(leases, "leaseTable");
      this.memberTable = Objects.requireNonNull(members, "memberTable");
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
      return producerProperty(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, servers);
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
      producerProperties.put(
          Objects.requireNonNull(name, "name"), Objects.requireNonNull(value, "value"));
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
      this.deadLetterTopic = topic;
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
      this.verifyTopics = verify;
      return this;
    }

    /**
     * The most events per batch. Default: {@value RelayDefaults#BATCH_SIZE}.
     *
     * @param size 1 to 10,000
     */
    public Builder batchSize(int size) {
      this.batchSize = between("batchSize", size, 1, 10_000);
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
      if (bytes < 1024 || bytes > Integer.MAX_VALUE) {
        throw new IllegalArgumentException(
            "batchBytes must be between 1024 and "
                + Integer.MAX_VALUE
                + " but was "
                + bytes
                + " (outbox.relay.polling.batch-bytes)");
      }
      this.batchBytes = bytes;
      return this;
    }

    /**
     * Publishing threads of this instance. Default: {@value RelayDefaults#PUBLISH_THREADS}. Each
     * thread publishes a share of the instance's partitions (partition mod threads) with its own
     * producer, so reading, sending and marking of different partitions overlap. Per-key order is
     * unaffected (a key lives in one partition); the crash duplicate bound becomes one batch per
     * thread.
     *
     * @param threads 1 to 16
     */
    public Builder publishThreads(int threads) {
      this.publishThreads = between("publishThreads", threads, 1, 16);
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
      this.minPollInterval = atLeast("pollInterval.min", min, Duration.ofMillis(1));
      this.maxPollInterval = atLeast("pollInterval.max", max, min);
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
      atLeast("leases.heartbeat", heartbeat, Duration.ofMillis(10));
      atLeast("leases.ttl", ttl, heartbeat.multipliedBy(3));
      this.leaseTtl = ttl;
      this.heartbeatInterval = heartbeat;
      return this;
    }

    /**
     * How often the backlog and lag gauges are measured (one aggregate query). Default: 5 s.
     *
     * @param interval at least 10 ms
     */
    public Builder metricsInterval(Duration interval) {
      this.metricsInterval = atLeast("metricsInterval", interval, Duration.ofMillis(10));
      return this;
    }

    /**
     * Attempts before an event is parked. Default: {@value RelayDefaults#MAX_ATTEMPTS}.
     *
     * @param attempts at least 1
     */
    public Builder maxAttempts(int attempts) {
      this.maxAttempts = between("maxAttempts", attempts, 1, 1_000_000);
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
      this.retryInitialInterval = atLeast("retryBackoff.initial", initial, Duration.ofMillis(1));
      if (!(multiplier >= 1.0) || Double.isInfinite(multiplier)) {
        throw new IllegalArgumentException(
            "retryBackoff.multiplier must be at least 1.0 but was " + multiplier);
      }
      this.retryMultiplier = multiplier;
      this.retryMaxInterval = atLeast("retryBackoff.max", max, initial);
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
      this.sendTimeout = atLeast("sendTimeout", timeout, Duration.ofSeconds(1));
      return this;
    }

    /**
     * The circuit breaker around the broker: while open, the relay sends nothing and events wait in
     * the outbox. A batch with retriable send failures counts as a failed call. Default: {@link
     * #defaultCircuitBreaker()}.
     *
     * @param config a Resilience4j configuration
     */
    public Builder circuitBreaker(CircuitBreakerConfig config) {
      this.circuitBreaker = Objects.requireNonNull(config, "circuitBreaker");
      return this;
    }

    /**
     * Keeps published events as status {@code PUBLISHED} for {@code retention}, then deletes them
     * in bounded batches. Default: {@code null}, delete at once (cheapest).
     *
     * @param retention how long to keep them, or {@code null} to delete at once
     */
    public Builder keepPublishedFor(@Nullable Duration retention) {
      this.keepPublishedFor =
          retention == null ? null : atLeast("keepPublishedFor", retention, Duration.ZERO);
      return this;
    }

    /**
     * How long {@link OutboxRelay#close()} waits for the in-flight batch. Default: 30 s.
     *
     * @param timeout at least zero
     */
    public Builder shutdownTimeout(Duration timeout) {
      this.shutdownTimeout = atLeast("shutdownTimeout", timeout, Duration.ZERO);
      return this;
    }

    /**
     * Whether to LISTEN for the outbox table's NOTIFY on PostgreSQL (sent by the trigger of the
     * shipped relay script). Default: on; ignored on other databases.
     *
     * @param enabled whether to listen
     */
    public Builder listenNotify(boolean enabled) {
      this.listenNotify = enabled;
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
      this.sessionLocks = enabled;
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
      if (!INSTANCE_ID.matcher(Objects.requireNonNull(id, "instanceId")).matches()) {
        throw new IllegalArgumentException(
            "instanceId '" + id + "' must match " + INSTANCE_ID.pattern());
      }
      this.instanceId = id;
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
      if (prefix != null && !TRANSACTIONAL_ID_PREFIX.matcher(prefix).matches()) {
        throw new IllegalArgumentException(
            "transactional id prefix '"
                + prefix
                + "' must match "
                + TRANSACTIONAL_ID_PREFIX.pattern()
                + " (outbox.relay.kafka.transactional-id-prefix)");
      }
      this.transactionalIdPrefix = prefix;
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
      this.stallTimeout =
          atLeast(
              "stallTimeout (outbox.relay.health.stall-timeout)", timeout, Duration.ofSeconds(1));
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
      if (!producerProperties.containsKey(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG)) {
        throw new IllegalStateException(
            "OutboxRelay.builder() needs bootstrapServers: the Kafka cluster to publish to");
      }
      RelayFactory.checkProducerProperties(producerProperties);
      checkStallTimeout();
      RelaySettings settings =
          new RelaySettings(
              dataSource,
              dialect,
              table,
              leaseTable,
              memberTable,
              partitions,
              Map.copyOf(producerProperties),
              topicRouter,
              deadLetterTopic,
              verifyTopics,
              batchSize,
              batchBytes,
              publishThreads,
              minPollInterval,
              maxPollInterval,
              leaseTtl,
              heartbeatInterval,
              metricsInterval,
              maxAttempts,
              retryInitialInterval,
              retryMultiplier,
              retryMaxInterval,
              RelayFactory.sendTimeout(sendTimeout, leaseTtl, heartbeatInterval),
              circuitBreaker,
              keepPublishedFor,
              shutdownTimeout,
              listenNotify,
              sessionLocks,
              sessionDataSource != null ? sessionDataSource : dataSource,
              meterRegistry,
              clock,
              instanceId != null ? instanceId : defaultInstanceId(),
              transactionalIdPrefix,
              stallTimeout,
              observationRegistry,
              publishObservationConvention);
      return RelayFactory.create(settings, cdc);
    }

    private void checkStallTimeout() {
      if (stallTimeout.compareTo(metricsInterval.multipliedBy(2)) <= 0) {
        throw new IllegalStateException(
            "stallTimeout (outbox.relay.health.stall-timeout) is "
                + stallTimeout
                + " but must be longer than two metrics intervals ("
                + metricsInterval.multipliedBy(2)
                + ", outbox.relay.polling.metrics-interval): progress is judged per measurement."
                + " Raise the stall timeout or measure more often.");
      }
      if (cdc != null && stallTimeout.compareTo(cdc.heartbeatInterval().multipliedBy(3)) <= 0) {
        throw new IllegalStateException(
            "stallTimeout (outbox.relay.health.stall-timeout) is "
                + stallTimeout
                + " but must be longer than three CDC heartbeats ("
                + cdc.heartbeatInterval().multipliedBy(3)
                + ", outbox.relay.cdc.heartbeat-interval): an idle change stream shows progress"
                + " once per heartbeat. Raise the stall timeout or shorten the heartbeat.");
      }
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
