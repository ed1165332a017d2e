package dev.outboxkit.relay;

import dev.outboxkit.outbox.OptionChecks;
import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.relay.cdc.CdcOptions;
import java.time.Duration;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * The relay's configuration: an immutable value, grouped as the {@code outbox.relay.*} properties
 * are, and checked in one place. Every check names the property (the Spring Boot starter binds to
 * this type) and the builder method, e.g. {@code outbox.relay.polling.batch-size (batchSize) must
 * be between 1 and 10000 but was 0}.
 *
 * <p>Start from {@link #ofDefaults()}, {@link #custom()} or {@link #from(RelayConfig)}. Each setter
 * checks its own value at once; {@link Builder#build()} checks the values that depend on each other
 * (lease TTL, send timeout, stall timeout). The defaults are the constants of {@link
 * RelayDefaults}.
 *
 * <p>The {@link #mode() mode} is either {@link Polling} or {@link Cdc}: the options of one mode
 * cannot be set on the other (publishing threads, LISTEN/NOTIFY and lease tables exist only for
 * polling; the change-log source only for CDC). The rest applies to both.
 *
 * <p>What is not a value (the data source, dialect, outbox table and partitions, meter registry,
 * clock, topic router) is given to {@link OutboxRelay.Builder} next to this configuration.
 *
 * @since 0.1
 */
public final class RelayConfig {

  private static final Pattern INSTANCE_ID = Pattern.compile("[A-Za-z0-9._:@-]{1,200}");
  private static final Pattern TRANSACTIONAL_ID_PREFIX = Pattern.compile("[A-Za-z0-9._-]{1,200}");

  private final Kafka kafka;
  private final Batches batches;
  private final Leases leases;
  private final Retry retry;
  private final Mode mode;
  private final CircuitBreaker circuitBreaker;
  private final Duration shutdownTimeout;
  private final @Nullable Duration keepPublishedFor;
  private final Duration stallTimeout;
  private final @Nullable String instanceId;

  private RelayConfig(Builder b) {
    this.kafka =
        new Kafka(
            Map.copyOf(b.producerProperties),
            b.transactionalIdPrefix,
            b.sendTimeout,
            b.deadLetterTopic,
            b.verifyTopics);
    this.batches =
        new Batches(b.batchSize, b.batchBytes, b.minPollInterval, b.maxPollInterval, b.metrics);
    this.leases = new Leases(b.leaseTtl, b.heartbeatInterval, b.sessionLocks);
    this.retry = new Retry(b.maxAttempts, b.retryInitial, b.retryMultiplier, b.retryMax);
    this.mode = b.mode;
    this.circuitBreaker = b.circuitBreaker;
    this.shutdownTimeout = b.shutdownTimeout;
    this.keepPublishedFor = b.keepPublishedFor;
    this.stallTimeout = b.stallTimeout;
    this.instanceId = b.instanceId;
    checkTogether();
  }

  /** The defaults of every option ({@link RelayDefaults}), polling mode. */
  public static RelayConfig ofDefaults() {
    return custom().build();
  }

  /** A builder that starts from the defaults. */
  public static Builder custom() {
    return new Builder();
  }

  /**
   * A builder that starts from {@code base}: change a few options of a configuration.
   *
   * @param base the configuration to copy
   */
  public static Builder from(RelayConfig base) {
    return new Builder(Objects.requireNonNull(base, "base"));
  }

  /** Kafka: producer properties, fencing, send timeout and topics. */
  public Kafka kafka() {
    return kafka;
  }

  /** How much the relay reads and holds at once, and how often it looks (both modes). */
  public Batches batches() {
    return batches;
  }

  /** Partition leases and session locks. */
  public Leases leases() {
    return leases;
  }

  /** Retries of failed events before they are parked. */
  public Retry retry() {
    return retry;
  }

  /** Polling or CDC, with the options that only that mode has. */
  public Mode mode() {
    return mode;
  }

  /** The circuit breaker around the broker. */
  public CircuitBreaker circuitBreaker() {
    return circuitBreaker;
  }

  /** How long {@link OutboxRelay#close()} waits for the in-flight batch. */
  public Duration shutdownTimeout() {
    return shutdownTimeout;
  }

  /** How long published events are kept; {@code null}: deleted at once. */
  public @Nullable Duration keepPublishedFor() {
    return keepPublishedFor;
  }

  /** How long work may wait while nothing moves before the relay reports itself stalled. */
  public Duration stallTimeout() {
    return stallTimeout;
  }

  /** This instance's id in the lease tables; {@code null}: derived from host and process. */
  public @Nullable String instanceId() {
    return instanceId;
  }

  /**
   * The producer's delivery timeout this configuration gives: the one set, or {@code min(15 s, ttl
   * - 3 heartbeats)}, at least 1 s.
   */
  public Duration effectiveSendTimeout() {
    if (kafka.sendTimeout() != null) {
      return kafka.sendTimeout();
    }
    Duration fitting = leases.ttl().minus(leases.heartbeatInterval().multipliedBy(3));
    Duration chosen =
        fitting.compareTo(RelayDefaults.SEND_TIMEOUT) < 0 ? fitting : RelayDefaults.SEND_TIMEOUT;
    return chosen.compareTo(Duration.ofSeconds(1)) < 0 ? Duration.ofSeconds(1) : chosen;
  }

  /** What depends on several options: the fencing window and what the stall timeout can see. */
  private void checkTogether() {
    Duration window = leases.ttl().minus(leases.heartbeatInterval().multipliedBy(2));
    if (window.compareTo(effectiveSendTimeout()) <= 0) {
      throw new IllegalStateException(
          "outbox.relay.leases.ttl (leases.ttl, "
              + leases.ttl()
              + ") must be longer than outbox.relay.send-timeout (sendTimeout, "
              + effectiveSendTimeout()
              + (kafka.sendTimeout() == null ? ", the default" : "")
              + ") plus two outbox.relay.leases.heartbeat-interval (leases.heartbeat, "
              + leases.heartbeatInterval().multipliedBy(2)
              + "): a relay must never be sending while its lease can be claimed by another."
              + " Raise the ttl or lower the send timeout.");
    }
    if (stallTimeout.compareTo(batches.metricsInterval().multipliedBy(2)) <= 0) {
      throw new IllegalStateException(
          "outbox.relay.health.stall-timeout (stallTimeout) is "
              + stallTimeout
              + " but must be longer than two metrics intervals ("
              + batches.metricsInterval().multipliedBy(2)
              + ", outbox.relay.polling.metrics-interval): progress is judged per measurement."
              + " Raise the stall timeout or measure more often.");
    }
    if (mode instanceof Cdc cdc
        && stallTimeout.compareTo(cdc.options().heartbeatInterval().multipliedBy(3)) <= 0) {
      throw new IllegalStateException(
          "outbox.relay.health.stall-timeout (stallTimeout) is "
              + stallTimeout
              + " but must be longer than three CDC heartbeats ("
              + cdc.options().heartbeatInterval().multipliedBy(3)
              + ", outbox.relay.cdc.heartbeat-interval): an idle change stream shows progress"
              + " once per heartbeat. Raise the stall timeout or shorten the heartbeat.");
    }
  }

  @Override
  public String toString() {
    return "RelayConfig[kafka="
        + kafka
        + ", batches="
        + batches
        + ", leases="
        + leases
        + ", retry="
        + retry
        + ", mode="
        + mode
        + ", circuitBreaker="
        + circuitBreaker
        + ", shutdownTimeout="
        + shutdownTimeout
        + ", keepPublishedFor="
        + keepPublishedFor
        + ", stallTimeout="
        + stallTimeout
        + ", instanceId="
        + instanceId
        + "]";
  }

  @Override
  public boolean equals(Object other) {
    return other instanceof RelayConfig that && toComparable().equals(that.toComparable());
  }

  @Override
  public int hashCode() {
    return toComparable().hashCode();
  }

  private List<Object> toComparable() {
    return Arrays.asList(
        kafka,
        batches,
        leases,
        retry,
        mode,
        circuitBreaker,
        shutdownTimeout,
        keepPublishedFor,
        stallTimeout,
        instanceId);
  }

  /**
   * Kafka ({@code outbox.relay.kafka.*}, {@code outbox.relay.send-timeout}, {@code
   * outbox.relay.topics.*}).
   *
   * @param producerProperties further producer properties; the bootstrap servers are one of them
   * @param transactionalIdPrefix the prefix of transactional fencing, or {@code null} for off
   * @param sendTimeout the producer's delivery timeout, or {@code null} for {@link
   *     #effectiveSendTimeout() the default}
   * @param deadLetterTopic the topic that receives a copy of every parked event, or {@code null}
   * @param verifyTopics whether a topic's existence is checked before the first send to it
   */
  public record Kafka(
      Map<String, Object> producerProperties,
      @Nullable String transactionalIdPrefix,
      @Nullable Duration sendTimeout,
      @Nullable String deadLetterTopic,
      boolean verifyTopics) {

    /** The producer properties with secret ones masked. */
    @Override
    public String toString() {
      return "Kafka[producerProperties="
          + SecretMasking.masked(producerProperties)
          + ", transactionalIdPrefix="
          + transactionalIdPrefix
          + ", sendTimeout="
          + sendTimeout
          + ", deadLetterTopic="
          + deadLetterTopic
          + ", verifyTopics="
          + verifyTopics
          + "]";
    }
  }

  /**
   * How much the relay reads and holds at once and how often it looks, in both modes ({@code
   * outbox.relay.polling.*}, named so for compatibility).
   *
   * @param batchSize the most events per batch
   * @param batchBytes the most bytes of events a publishing thread holds at once
   * @param minPollInterval the first wait after an empty poll
   * @param maxPollInterval the longest wait
   * @param metricsInterval how often backlog and lag are measured
   */
  public record Batches(
      int batchSize,
      long batchBytes,
      Duration minPollInterval,
      Duration maxPollInterval,
      Duration metricsInterval) {}

  /**
   * Partition leases ({@code outbox.relay.leases.*}).
   *
   * @param ttl how long a lease lasts without renewal
   * @param heartbeatInterval how often an instance renews its leases
   * @param sessionLocks whether each instance holds a session-scoped database lock
   */
  public record Leases(Duration ttl, Duration heartbeatInterval, boolean sessionLocks) {}

  /**
   * Retries of failed events ({@code outbox.relay.retry.*}).
   *
   * @param maxAttempts attempts before an event is parked
   * @param initialInterval the wait before the first retry
   * @param multiplier the factor by which the wait grows
   * @param maxInterval the longest wait
   */
  public record Retry(
      int maxAttempts, Duration initialInterval, double multiplier, Duration maxInterval) {}

  /**
   * The circuit breaker around the broker: while open, the relay sends nothing and events wait in
   * the outbox; a batch with retriable send failures counts as a failed call. It opens when at
   * least {@code failureRatePercent} of the last {@code slidingWindowSize} batches (and at least
   * {@code minimumNumberOfCalls}) failed, and lets {@code permittedCallsInHalfOpenState} trial
   * batches through after {@code waitInOpenState}.
   *
   * @param slidingWindowSize batches looked at, at least 1
   * @param minimumNumberOfCalls batches needed before the rate counts, 1 to {@code
   *     slidingWindowSize}
   * @param failureRatePercent more than 0, at most 100
   * @param waitInOpenState at least 1 ms
   * @param permittedCallsInHalfOpenState at least 1
   */
  public record CircuitBreaker(
      int slidingWindowSize,
      int minimumNumberOfCalls,
      float failureRatePercent,
      Duration waitInOpenState,
      int permittedCallsInHalfOpenState) {

    /** Checks every value, naming it. */
    public CircuitBreaker {
      Objects.requireNonNull(waitInOpenState, "circuitBreaker.waitInOpenState");
      if (slidingWindowSize < 1
          || minimumNumberOfCalls < 1
          || minimumNumberOfCalls > slidingWindowSize
          || !(failureRatePercent > 0 && failureRatePercent <= 100)
          || waitInOpenState.compareTo(Duration.ofMillis(1)) < 0
          || permittedCallsInHalfOpenState < 1) {
        throw new IllegalArgumentException(
            "circuitBreaker needs slidingWindowSize >= 1, 1 <= minimumNumberOfCalls <="
                + " slidingWindowSize, 0 < failureRatePercent <= 100, waitInOpenState >= 1ms and"
                + " permittedCallsInHalfOpenState >= 1 but was "
                + List.of(
                    slidingWindowSize,
                    minimumNumberOfCalls,
                    failureRatePercent,
                    waitInOpenState,
                    permittedCallsInHalfOpenState));
      }
    }

    /**
     * Opens when half of the last 4 batches (at least 2) had retriable send failures, and lets one
     * trial batch through after 5 seconds.
     */
    public static CircuitBreaker ofDefaults() {
      return new CircuitBreaker(4, 2, 50, Duration.ofSeconds(5), 1);
    }
  }

  /** How the relay reads the outbox: {@link Polling} or {@link Cdc}. */
  public sealed interface Mode permits Polling, Cdc {}

  /**
   * Polling the table; any number of instances share its partitions through leases. These options
   * exist only in this mode.
   *
   * @param publishThreads publishing threads of this instance ({@code
   *     outbox.relay.polling.publish-threads}), 1 to 16
   * @param listenNotify whether to wake up on PostgreSQL NOTIFY ({@code
   *     outbox.relay.polling.listen-notify})
   * @param leaseTable the partition lease table
   * @param memberTable the table of live instances
   */
  public record Polling(
      int publishThreads, boolean listenNotify, OutboxTable leaseTable, OutboxTable memberTable)
      implements Mode {

    /** Checks every option, naming it. */
    public Polling {
      checkBetween("outbox.relay.polling.publish-threads (publishThreads)", publishThreads, 1, 16);
      Objects.requireNonNull(leaseTable, "leaseTable");
      Objects.requireNonNull(memberTable, "memberTable");
    }

    /** One publishing thread, LISTEN/NOTIFY on, the default lease tables. */
    public static Polling ofDefaults() {
      return new Polling(
          RelayDefaults.PUBLISH_THREADS,
          true,
          OutboxTable.of(RelayDefaults.LEASE_TABLE),
          OutboxTable.of(RelayDefaults.MEMBER_TABLE));
    }

    /**
     * These options with another number of publishing threads. Each thread publishes a share of the
     * instance's partitions (partition mod threads) with its own producer; per-key order is
     * unaffected, and the crash duplicate bound becomes one batch per thread. The default ({@link
     * RelayDefaults#PUBLISH_THREADS}) adapts to the backlog (without transactional fencing); any
     * other value is a fixed count.
     *
     * @param threads 1 to 16
     */
    public Polling withPublishThreads(int threads) {
      return new Polling(threads, listenNotify, leaseTable, memberTable);
    }

    /**
     * These options with LISTEN/NOTIFY on or off.
     *
     * @param enabled whether to listen
     */
    public Polling withListenNotify(boolean enabled) {
      return new Polling(publishThreads, enabled, leaseTable, memberTable);
    }

    /**
     * These options with other lease tables.
     *
     * @param leases the partition lease table
     * @param members the table of live instances
     */
    public Polling withLeaseTables(OutboxTable leases, OutboxTable members) {
      return new Polling(publishThreads, listenNotify, leases, members);
    }
  }

  /**
   * Change data capture: Debezium reads the database's change log; one active instance per name.
   *
   * @param options the change-log source ({@code outbox.relay.cdc.*})
   */
  public record Cdc(CdcOptions options) implements Mode {

    /** Checks that the options are there. */
    public Cdc {
      Objects.requireNonNull(options, "cdc");
    }
  }

  static void checkBetween(String name, long value, long min, long max) {
    OptionChecks.between(name, value, min, max);
  }

  /** As {@link OptionChecks#atLeast}, but a missing value is a bad option, not a bug. */
  static Duration checkAtLeast(String name, @Nullable Duration value, Duration min) {
    if (value == null) {
      throw new IllegalArgumentException(name + " must be set");
    }
    return OptionChecks.atLeast(name, value, min);
  }

  /**
   * Builds a {@link RelayConfig}. Each setter checks its value at once, naming the property and the
   * method; not thread-safe.
   */
  public static final class Builder {

    private final Map<String, Object> producerProperties = new LinkedHashMap<>();
    private @Nullable String transactionalIdPrefix;
    private @Nullable Duration sendTimeout;
    private @Nullable String deadLetterTopic;
    private boolean verifyTopics = true;
    private int batchSize = RelayDefaults.BATCH_SIZE;
    private long batchBytes = RelayDefaults.BATCH_BYTES;
    private Duration minPollInterval = RelayDefaults.MIN_POLL_INTERVAL;
    private Duration maxPollInterval = RelayDefaults.MAX_POLL_INTERVAL;
    private Duration metrics = RelayDefaults.METRICS_INTERVAL;
    private Duration leaseTtl = RelayDefaults.LEASE_TTL;
    private Duration heartbeatInterval = RelayDefaults.HEARTBEAT_INTERVAL;
    private boolean sessionLocks = true;
    private int maxAttempts = RelayDefaults.MAX_ATTEMPTS;
    private Duration retryInitial = RelayDefaults.RETRY_INITIAL_INTERVAL;
    private double retryMultiplier = RelayDefaults.RETRY_MULTIPLIER;
    private Duration retryMax = RelayDefaults.RETRY_MAX_INTERVAL;
    private Mode mode = Polling.ofDefaults();
    private CircuitBreaker circuitBreaker = CircuitBreaker.ofDefaults();
    private Duration shutdownTimeout = RelayDefaults.SHUTDOWN_TIMEOUT;
    private @Nullable Duration keepPublishedFor;
    private Duration stallTimeout = RelayDefaults.STALL_TIMEOUT;
    private @Nullable String instanceId;

    private Builder() {}

    private Builder(RelayConfig base) {
      producerProperties.putAll(base.kafka.producerProperties());
      transactionalIdPrefix = base.kafka.transactionalIdPrefix();
      sendTimeout = base.kafka.sendTimeout();
      deadLetterTopic = base.kafka.deadLetterTopic();
      verifyTopics = base.kafka.verifyTopics();
      batchSize = base.batches.batchSize();
      batchBytes = base.batches.batchBytes();
      minPollInterval = base.batches.minPollInterval();
      maxPollInterval = base.batches.maxPollInterval();
      metrics = base.batches.metricsInterval();
      leaseTtl = base.leases.ttl();
      heartbeatInterval = base.leases.heartbeatInterval();
      sessionLocks = base.leases.sessionLocks();
      maxAttempts = base.retry.maxAttempts();
      retryInitial = base.retry.initialInterval();
      retryMultiplier = base.retry.multiplier();
      retryMax = base.retry.maxInterval();
      mode = base.mode;
      circuitBreaker = base.circuitBreaker;
      shutdownTimeout = base.shutdownTimeout;
      keepPublishedFor = base.keepPublishedFor;
      stallTimeout = base.stallTimeout;
      instanceId = base.instanceId;
    }

    /**
     * The Kafka cluster ({@code outbox.relay.kafka.bootstrap-servers}); the producer property
     * {@code bootstrap.servers}.
     *
     * @param servers {@code host:port[,host:port...]}
     */
    public Builder bootstrapServers(String servers) {
      if (servers == null || servers.isBlank()) {
        throw new IllegalArgumentException(
            "outbox.relay.kafka.bootstrap-servers (bootstrapServers) must be set");
      }
      return producerProperty("bootstrap.servers", servers);
    }

    /**
     * A Kafka producer property ({@code outbox.relay.kafka.properties.*}), e.g. security settings,
     * {@code compression.type} or {@code linger.ms}. The relay enforces {@code
     * enable.idempotence=true} and {@code acks=all} and sets byte-array serializers; it refuses
     * properties that would weaken delivery when it is built.
     *
     * @param name the property name
     * @param value its value
     */
    public Builder producerProperty(String name, Object value) {
      producerProperties.put(
          Objects.requireNonNull(name, "name"), Objects.requireNonNull(value, name));
      return this;
    }

    /**
     * Transactional fencing ({@code outbox.relay.kafka.transactional-id-prefix}): each outbox
     * partition is published by a producer with the transactional id {@code <prefix>-<partition>},
     * one Kafka transaction per batch and partition. An instance that takes a partition over fences
     * the previous owner's producer off and aborts its open transaction, so records of a deposed
     * owner that reach the broker late are never seen by {@code read_committed} consumers. Costs a
     * commit per partition and batch (see docs/benchmarks.md) and is only useful when consumers
     * read with {@code isolation.level=read_committed}. Off by default.
     *
     * <p>The prefix must be the same for every relay instance of one outbox table and unique in the
     * Kafka cluster for that table: two outboxes with one prefix fence each other.
     *
     * @param prefix up to 200 letters, digits and {@code . _ -}, or {@code null} for off
     */
    public Builder transactionalFencing(@Nullable String prefix) {
      if (prefix != null && !TRANSACTIONAL_ID_PREFIX.matcher(prefix).matches()) {
        throw new IllegalArgumentException(
            "outbox.relay.kafka.transactional-id-prefix (transactionalFencing) must be 1 to 200"
                + " letters, digits and . _ - but was '"
                + prefix
                + "'");
      }
      this.transactionalIdPrefix = prefix;
      return this;
    }

    /**
     * The producer's delivery timeout ({@code outbox.relay.send-timeout}); {@code null}: {@link
     * RelayConfig#effectiveSendTimeout() derived from the leases}. A send starts only while the
     * relay's leases stay valid for longer than this plus half a heartbeat, so a deposed owner's
     * records are acknowledged or given up before a successor may claim its partitions; {@link
     * #build()} therefore refuses {@code ttl <= timeout + 2 heartbeats}.
     *
     * @param timeout at least 1 s, or {@code null}
     */
    public Builder sendTimeout(@Nullable Duration timeout) {
      this.sendTimeout =
          timeout == null
              ? null
              : checkAtLeast(
                  "outbox.relay.send-timeout (sendTimeout)", timeout, Duration.ofSeconds(1));
      return this;
    }

    /**
     * The dead-letter topic ({@code outbox.relay.topics.dead-letter}): receives a copy of every
     * event when it is parked, with headers {@code outbox-error} and {@code outbox-original-topic}.
     * Default: none (the parked row stays in the outbox either way).
     *
     * @param topic the topic, or {@code null} for none
     */
    public Builder deadLetterTopic(@Nullable String topic) {
      this.deadLetterTopic = topic;
      return this;
    }

    /**
     * Whether to check that a topic exists before the first send ({@code
     * outbox.relay.topics.verify}).
     *
     * @param verify whether to check
     */
    public Builder verifyTopics(boolean verify) {
      this.verifyTopics = verify;
      return this;
    }

    /**
     * The most events per batch ({@code outbox.relay.polling.batch-size}).
     *
     * @param size 1 to 10,000
     */
    public Builder batchSize(int size) {
      checkBetween("outbox.relay.polling.batch-size (batchSize)", size, 1, 10_000);
      this.batchSize = size;
      return this;
    }

    /**
     * The most bytes of events a publishing thread holds at once ({@code
     * outbox.relay.polling.batch-bytes}): the batch in flight and the batch read ahead together. A
     * read stops adding rows once the budget is reached, in {@code seq} order; its first row always
     * fits, so no event is too large to be read. With CDC it bounds Debezium's queue ({@code
     * max.queue.size.in.bytes}). Default: {@link RelayDefaults#BATCH_BYTES}.
     *
     * @param bytes 1 KiB to 2 GiB
     */
    public Builder batchBytes(long bytes) {
      checkBetween("outbox.relay.polling.batch-bytes (batchBytes)", bytes, 1024, Integer.MAX_VALUE);
      this.batchBytes = bytes;
      return this;
    }

    /**
     * The adaptive poll interval ({@code outbox.relay.polling.min-interval}, {@code max-interval}):
     * after an empty poll the relay waits {@code min}, doubling up to {@code max} while polls stay
     * empty; a full batch is followed by the next without waiting.
     *
     * @param min the first wait, at least 1 ms
     * @param max the longest wait, at least {@code min}
     */
    public Builder pollInterval(Duration min, Duration max) {
      checkAtLeast(
          "outbox.relay.polling.min-interval (pollInterval.min)", min, Duration.ofMillis(1));
      checkAtLeast("outbox.relay.polling.max-interval (pollInterval.max)", max, min);
      this.minPollInterval = min;
      this.maxPollInterval = max;
      return this;
    }

    /**
     * How often backlog and lag are measured ({@code outbox.relay.polling.metrics-interval}).
     *
     * @param interval at least 10 ms
     */
    public Builder metricsInterval(Duration interval) {
      this.metrics =
          checkAtLeast(
              "outbox.relay.polling.metrics-interval (metricsInterval)",
              interval,
              Duration.ofMillis(10));
      return this;
    }

    /**
     * Partition leases ({@code outbox.relay.leases.ttl}, {@code heartbeat-interval}): an instance
     * renews its leases every {@code heartbeat}; a lease not renewed for {@code ttl} may be taken
     * over. A crashed instance's partitions resume 1.5 to 2.5 heartbeats after its last one with
     * {@link #sessionLocks} (the default), at most {@code ttl + heartbeat} without; a gracefully
     * stopped one's at the others' next heartbeat.
     *
     * @param ttl the lease duration, at least three heartbeats
     * @param heartbeat the renewal interval, at least 10 ms
     */
    public Builder leases(Duration ttl, Duration heartbeat) {
      checkAtLeast(
          "outbox.relay.leases.heartbeat-interval (leases.heartbeat)",
          heartbeat,
          Duration.ofMillis(10));
      checkAtLeast("outbox.relay.leases.ttl (leases.ttl)", ttl, heartbeat.multipliedBy(3));
      this.leaseTtl = ttl;
      this.heartbeatInterval = heartbeat;
      return this;
    }

    /**
     * Whether each instance holds a session-scoped lock ({@code
     * outbox.relay.leases.session-locks}): a PostgreSQL advisory lock or MySQL/MariaDB {@code
     * GET_LOCK} on a connection of its own, so that the others take over its partitions within
     * about two heartbeats after it crashes, instead of after the lease TTL. Default: on; ignored
     * where the database has no such locks. Behind a transaction pooler give the relay direct
     * connections with {@link OutboxRelay.Builder#sessionDataSource}, or turn this off.
     *
     * @param enabled whether to use session locks
     */
    public Builder sessionLocks(boolean enabled) {
      this.sessionLocks = enabled;
      return this;
    }

    /**
     * Attempts before an event is parked ({@code outbox.relay.retry.max-attempts}).
     *
     * @param attempts 1 to 1,000,000
     */
    public Builder maxAttempts(int attempts) {
      checkBetween("outbox.relay.retry.max-attempts (maxAttempts)", attempts, 1, 1_000_000);
      this.maxAttempts = attempts;
      return this;
    }

    /**
     * The retry backoff ({@code outbox.relay.retry.initial-interval}, {@code multiplier}, {@code
     * max-interval}).
     *
     * @param initial the first wait, at least 1 ms
     * @param multiplier at least 1.0, finite
     * @param max the longest wait, at least {@code initial}
     */
    public Builder retryBackoff(Duration initial, double multiplier, Duration max) {
      checkAtLeast(
          "outbox.relay.retry.initial-interval (retryBackoff.initial)",
          initial,
          Duration.ofMillis(1));
      if (!(multiplier >= 1.0) || Double.isInfinite(multiplier)) {
        throw new IllegalArgumentException(
            "outbox.relay.retry.multiplier (retryBackoff.multiplier) must be at least 1.0 but was "
                + multiplier);
      }
      checkAtLeast("outbox.relay.retry.max-interval (retryBackoff.max)", max, initial);
      this.retryInitial = initial;
      this.retryMultiplier = multiplier;
      this.retryMax = max;
      return this;
    }

    /**
     * Polling mode with these options (the default).
     *
     * @param polling the polling-only options
     */
    public Builder polling(Polling polling) {
      this.mode = Objects.requireNonNull(polling, "polling");
      return this;
    }

    /**
     * CDC mode with these options.
     *
     * @param options the change-log source
     */
    public Builder cdc(CdcOptions options) {
      this.mode = new Cdc(options);
      return this;
    }

    /**
     * The circuit breaker around the broker. Default: {@link CircuitBreaker#ofDefaults()}.
     *
     * @param breaker the breaker's settings
     */
    public Builder circuitBreaker(CircuitBreaker breaker) {
      this.circuitBreaker = Objects.requireNonNull(breaker, "circuitBreaker");
      return this;
    }

    /**
     * How long closing waits for the in-flight batch ({@code outbox.relay.shutdown-timeout}).
     *
     * @param timeout at least zero
     */
    public Builder shutdownTimeout(Duration timeout) {
      this.shutdownTimeout =
          checkAtLeast("outbox.relay.shutdown-timeout (shutdownTimeout)", timeout, Duration.ZERO);
      return this;
    }

    /**
     * Keeps published events this long ({@code outbox.relay.keep-published-for}).
     *
     * @param retention at least zero, or {@code null} to delete at once
     */
    public Builder keepPublishedFor(@Nullable Duration retention) {
      this.keepPublishedFor =
          retention == null
              ? null
              : checkAtLeast(
                  "outbox.relay.keep-published-for (keepPublishedFor)", retention, Duration.ZERO);
      return this;
    }

    /**
     * How long work may wait while nothing moves before the relay is stalled ({@code
     * outbox.relay.health.stall-timeout}); must be longer than two metrics intervals and, with CDC,
     * three CDC heartbeats.
     *
     * @param timeout at least 1 s
     */
    public Builder stallTimeout(Duration timeout) {
      this.stallTimeout =
          checkAtLeast(
              "outbox.relay.health.stall-timeout (stallTimeout)", timeout, Duration.ofSeconds(1));
      return this;
    }

    /**
     * This instance's id in the lease tables ({@code outbox.relay.instance-id}).
     *
     * @param id up to 200 letters, digits and {@code . _ : @ -}, or {@code null} for the default
     */
    public Builder instanceId(@Nullable String id) {
      if (id != null && !INSTANCE_ID.matcher(id).matches()) {
        throw new IllegalArgumentException(
            "outbox.relay.instance-id (instanceId) '"
                + id
                + "' must match "
                + INSTANCE_ID.pattern());
      }
      this.instanceId = id;
      return this;
    }

    /**
     * The configuration.
     *
     * @throws IllegalStateException when options that depend on each other do not fit, naming the
     *     properties
     */
    public RelayConfig build() {
      return new RelayConfig(this);
    }
  }
}
