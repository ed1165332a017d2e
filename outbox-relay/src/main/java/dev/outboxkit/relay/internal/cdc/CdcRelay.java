package dev.outboxkit.relay.internal.cdc;

import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.relay.OutboxRelay;
import dev.outboxkit.relay.ParkedEvents;
import dev.outboxkit.relay.RelayStatus;
import dev.outboxkit.relay.cdc.CdcOptions;
import dev.outboxkit.relay.internal.Jdbc;
import dev.outboxkit.relay.internal.JdbcParkedEvents;
import dev.outboxkit.relay.internal.LeaseStore;
import dev.outboxkit.relay.internal.OutboxRows;
import dev.outboxkit.relay.internal.OutboxStats;
import dev.outboxkit.relay.internal.PauseSwitch;
import dev.outboxkit.relay.internal.RelaySettings;
import dev.outboxkit.relay.internal.SessionLock;
import dev.outboxkit.relay.internal.ThreadDeaths;
import dev.outboxkit.relay.internal.delivery.BatchSender;
import dev.outboxkit.relay.internal.delivery.DeliveryCore;
import dev.outboxkit.relay.internal.delivery.KeyHolds;
import dev.outboxkit.relay.internal.delivery.ManagedBatchSender;
import dev.outboxkit.relay.internal.kafka.KafkaPublishers;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import java.sql.SQLException;
import java.time.Duration;
import java.util.LinkedHashSet;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The CDC relay: Debezium's embedded engine reads the outbox table's inserts from the PostgreSQL
 * WAL ({@code pgoutput}, a publication limited to the outbox table, a named slot) or the
 * MySQL/MariaDB binlog, and this class publishes each as the very record the polling relay would
 * send ({@link dev.outboxkit.relay.internal.kafka.KafkaRecords}).
 *
 * <p>Per batch of changes it sends every event, waits for the broker's acknowledgements, and only
 * then tells Debezium the batch is processed; the offsets are stored (in the state table, under the
 * lease) right after. A crash re-reads at most the batch that was not yet stored: duplicates, never
 * losses. A failing event holds back the stream (commit order is the order of the log) and is
 * retried with backoff; after {@code maxAttempts}, or at once for a permanent error, it is parked
 * (status {@code DEAD}, optional dead-letter topic), so the stream moves on and nothing is dropped.
 *
 * <p>One engine per name is active: instances race for a lease row; the others stand by and take
 * over when it expires. The active one publishes only while its lease is valid by its own clock,
 * and its offsets are written on condition of owner and epoch.
 *
 * <p>This class is the facade: the life cycle (one compare-and-set per state change) and the
 * status. The work is done by {@link CdcStartUp} (the checks before anything starts), {@link
 * CdcEngineRunner} (the lease loop and the engine's thread), {@link CdcBatchHandler} (a batch of
 * changes to sends to a stored position), {@link CdcMetrics} (the gauges) and {@link
 * CdcEngineConfig} (Debezium's configuration, a pure function).
 */
final class CdcRelay implements OutboxRelay, CdcBatchHandler.Gate {

  private static final Logger log = LoggerFactory.getLogger(CdcRelay.class);

  private final RelaySettings settings;
  private final CdcOptions options;
  private final String id;

  /** The owner name in the state table: the id plus a per-process suffix (session locks). */
  private final String owner;

  private final Jdbc jdbc;
  private final AtomicReference<RelayStatus.State> state =
      new AtomicReference<>(RelayStatus.State.NEW);
  private final PauseSwitch pauseSwitch = new PauseSwitch();
  private final CountDownLatch failedOver = new CountDownLatch(1);
  private volatile @Nullable String failure;

  // Set by start(), in this order; what a failed start had set is undone by shutDown().
  private volatile @Nullable OutboxDialect dialect;
  private volatile @Nullable CdcMetrics metrics;
  private volatile @Nullable ManagedBatchSender publisher;
  private volatile @Nullable DeliveryCore core;
  private volatile @Nullable CdcLease lease;
  private volatile @Nullable ParkedEvents parked;
  private volatile @Nullable CdcEngineRunner runner;
  private volatile @Nullable ScheduledExecutorService scheduler;
  private volatile @Nullable ScheduledExecutorService housekeeping;

  /**
   * @param settings the relay's common settings (Kafka, retries, metrics, lease timing)
   * @param options what is specific to CDC
   */
  CdcRelay(RelaySettings settings, CdcOptions options) {
    this.settings = settings;
    this.options = options;
    this.id = settings.instanceId();
    this.owner = SessionLock.ownerName(id);
    this.jdbc = new Jdbc(settings.dataSource());
  }

  /**
   * Checks everything, then starts the lease loop; the engine starts once the lease is taken. A
   * start that fails leaves nothing behind: no meters on the registry, no producer, no thread.
   */
  @Override
  public void start() {
    if (!state.compareAndSet(RelayStatus.State.NEW, RelayStatus.State.RUNNING)) {
      throw new IllegalStateException("The relay was started before");
    }
    try {
      startUp();
    } catch (SQLException | RuntimeException e) {
      state.set(RelayStatus.State.STOPPED);
      try {
        shutDown(Duration.ZERO);
      } catch (RuntimeException cleanup) {
        e.addSuppressed(cleanup); // the cause of the failed start is what the caller must see
      }
      if (e instanceof RuntimeException runtime) {
        throw runtime;
      }
      throw new IllegalStateException("CDC relay could not start: " + e.getMessage(), e);
    }
  }

  /**
   * Where a batch's published rows wait to be deleted by the statement that stores the offsets
   * after it, when the offsets are in the state table, rows are deleted (not kept as published) and
   * the database has such a statement; otherwise {@code null}: deleted on their own, before.
   */
  private @Nullable DeletesWithOffsets deletesWithOffsets(OutboxDialect dialect) {
    if (options.offsetsInKafka() != null || settings.keepPublishedFor() != null) {
      return null;
    }
    String sql =
        ChangeLogSource.of(dialect)
            .offsetsWithDeleteSql(
                options.stateTable().qualifiedName(), settings.table().qualifiedName());
    return sql == null ? null : new DeletesWithOffsets(sql);
  }

  private void startUp() throws SQLException {
    CdcStartUp.Verified verified = CdcStartUp.verify(settings, options, jdbc);
    OutboxDialect dialect = verified.dialect();
    this.dialect = dialect;
    OutboxRows rows = new OutboxRows(dialect, settings.table());
    OutboxStats stats = new OutboxStats(dialect, settings.table());
    CdcMetrics metrics = CdcMetrics.register(settings, options, dialect);
    this.metrics = metrics;
    CdcRowStore rowStore = new CdcRowStore(settings, jdbc, dialect, rows, metrics.relay());
    this.parked = new JdbcParkedEvents(jdbc, dialect, settings.table(), () -> {}, settings.clock());
    ManagedBatchSender publisher = KafkaPublishers.create(settings, "outboxkit-cdc-" + id);
    this.publisher = publisher;
    publisher.start();
    DeliveryCore core =
        new DeliveryCore(
            DeliveryCore.Policy.of(settings),
            new KeyHolds(settings.retryMaxInterval(), settings.clock()),
            CircuitBreaker.of("outboxkit-cdc-" + options.name(), settings.circuitBreaker()),
            metrics.relay(),
            publisher);
    this.core = core;
    CdcLease lease =
        new CdcLease(
            jdbc,
            dialect,
            options.stateTable(),
            options.name(),
            owner,
            settings.leaseTtl(),
            settings.heartbeatInterval(),
            settings.sessionLocks()
                ? SessionLock.of(settings.sessionDataSource(), dialect, owner)
                : null,
            metrics.relay());
    lease.report(this::reported, this::releasedAs);
    this.lease = lease;
    CdcBatchHandler batches =
        new CdcBatchHandler(
            settings,
            options,
            new ChangeDecoder(settings.table().name()),
            rowStore,
            core,
            publisher,
            lease,
            metrics,
            this,
            deletesWithOffsets(dialect));
    CdcEngineRunner runner =
        new CdcEngineRunner(
            settings,
            options,
            owner,
            dialect,
            verified.source(),
            lease,
            metrics,
            batches,
            this::open);
    this.runner = runner;
    ScheduledExecutorService scheduler = daemonThread("outboxkit-cdc-lease-" + id);
    this.scheduler = scheduler;
    long beat = settings.heartbeatInterval().toMillis();
    // At a fixed rate: a standby judges a missed renewal by 1.5 intervals between renewals.
    // Guarded: a tick that throws would be cancelled silently by the executor, leaving the engine
    // streaming without renewals while the status says RUNNING; the relay fails over instead.
    scheduler.scheduleAtFixedRate(
        ThreadDeaths.guard(runner::tick, this::threadDied), 0, beat, TimeUnit.MILLISECONDS);
    // The gauges get a thread of their own, as in polling: counting millions of pending rows
    // (after a broker outage) must not delay a renewal, which would pause sends and invite a
    // standby.
    ScheduledExecutorService housekeeping = daemonThread("outboxkit-cdc-metrics-" + id);
    this.housekeeping = housekeeping;
    housekeeping.scheduleWithFixedDelay(
        ThreadDeaths.guard(
            () ->
                metrics.measure(
                    jdbc,
                    stats,
                    runner.engineLive(),
                    state.get() == RelayStatus.State.RUNNING,
                    runner.repeatedFailure()),
            this::threadDied),
        0,
        settings.metricsInterval().toMillis(),
        TimeUnit.MILLISECONDS);
    log.info(
        "CDC relay {} started on {} (engine {}, {}); it publishes while it holds the engine's"
            + " lease",
        id,
        settings.table(),
        options.name(),
        dialect.name());
  }

  @Override
  public BatchSender.@Nullable InFlight unlessPaused(Supplier<BatchSender.InFlight> send) {
    return pauseSwitch.unlessPaused(send);
  }

  @Override
  public boolean paused() {
    return pauseSwitch.paused();
  }

  @Override
  public boolean open() {
    RelayStatus.State s = state.get();
    return s == RelayStatus.State.RUNNING || s == RelayStatus.State.PAUSED;
  }

  /** Whether this instance's engine is running and not being stopped. */
  boolean engineLive() {
    CdcEngineRunner runner = this.runner;
    return runner != null && runner.engineLive();
  }

  @Override
  public void wakeUp() {
    // The engine streams; nothing to wake.
  }

  @Override
  public void pause() {
    if (state.compareAndSet(RelayStatus.State.RUNNING, RelayStatus.State.PAUSED)) {
      pauseSwitch.pause();
    }
  }

  @Override
  public void resume() {
    if (state.compareAndSet(RelayStatus.State.PAUSED, RelayStatus.State.RUNNING)) {
      pauseSwitch.resume();
    }
  }

  /** Whether this instance runs the engine now (the others stand by). */
  boolean isActive() {
    CdcLease lease = this.lease;
    return engineLive() && lease != null && lease.held();
  }

  @Override
  public RelayStatus status() {
    CdcMetrics metrics = this.metrics;
    Set<Integer> owned =
        isActive()
            ? IntStream.range(0, settings.partitions())
                .boxed()
                .collect(Collectors.toCollection(LinkedHashSet::new))
            : Set.of();
    DeliveryCore core = this.core;
    CdcEngineRunner runner = this.runner;
    String lastError = runner == null ? null : runner.lastError();
    String error = core == null || core.lastError() == null ? lastError : core.lastError();
    if (failure != null) {
      error = failure;
    }
    return new RelayStatus(
        id,
        state.get(),
        owned,
        metrics == null ? -1 : metrics.relay().backlog(),
        metrics == null ? null : metrics.relay().lag(),
        core == null ? 0 : core.consecutiveFailures(),
        core == null ? "CLOSED" : core.breakerState(),
        error,
        core == null ? null : core.lastBatchAt(),
        metrics == null || state.get() != RelayStatus.State.RUNNING ? null : metrics.stalled());
  }

  /**
   * What the lease holder reports in the state row at each take and renewal, from its {@link
   * #status()}: a stalled relay reports {@code STALLED} rather than {@code RUNNING}.
   */
  private LeaseStore.Reported reported() {
    RelayStatus status = status();
    String relayState = status.stalled() != null ? "STALLED" : status.state().name();
    return new LeaseStore.Reported(relayState, status.circuitState());
  }

  /**
   * Why this instance gives its lease up, for the state row: {@code STOPPED} when it stops (the
   * release is the last step, after the engine and the producer stopped), {@code FAILED} when it
   * fails over, and {@code STANDBY} while it runs on (its engine failed or could not start, and it
   * takes the lease again after a backoff unless a standby does).
   */
  private String releasedAs() {
    return switch (state.get()) {
      case STOPPING, STOPPED -> "STOPPED";
      case FAILED -> "FAILED";
      default -> "STANDBY";
    };
  }

  @Override
  public ParkedEvents parkedEvents() {
    ParkedEvents parked = this.parked;
    if (parked != null) {
      return parked;
    }
    // Before start (an actuator endpoint built with the context): the same table, read directly.
    OutboxDialect d = dialect != null ? dialect : settings.dialect();
    if (d == null) {
      d = jdbc.unchecked("Could not detect the database", OutboxDialect::detect);
    }
    return new JdbcParkedEvents(jdbc, d, settings.table(), () -> {}, settings.clock());
  }

  @Override
  public void close() {
    while (true) {
      RelayStatus.State s = state.get();
      if (s == RelayStatus.State.FAILED) {
        awaitFailover();
        return;
      }
      if (s == RelayStatus.State.STOPPED || s == RelayStatus.State.STOPPING) {
        state.set(RelayStatus.State.STOPPED);
        return;
      }
      if (state.compareAndSet(s, RelayStatus.State.STOPPING)) {
        break;
      }
    }
    shutDown(settings.shutdownTimeout());
    state.set(RelayStatus.State.STOPPED);
    log.info("CDC relay {} stopped", id);
  }

  /**
   * A thread of the relay ended with a throwable its code does not handle (an {@link Error}, or a
   * bug): the lease thread (its tick) or the measuring thread. A dead lease thread would leave the
   * engine streaming without renewals, and a standby waiting for the lease, while the status says
   * RUNNING. The relay fails over as {@link #close} stops (the engine, then the producer, then the
   * lease is released so that a standby takes over at once), on a thread of its own, and its status
   * says {@link RelayStatus.State#FAILED} with the cause.
   */
  private void threadDied(Thread thread, Throwable error) {
    RelayStatus.State s = state.get();
    if ((s != RelayStatus.State.RUNNING && s != RelayStatus.State.PAUSED)
        || !state.compareAndSet(s, RelayStatus.State.FAILED)) {
      log.warn("CDC relay {}: thread {} died while the relay stopped", id, thread.getName(), error);
      return;
    }
    failure = "Thread " + thread.getName() + " died: " + error;
    log.error(
        "CDC relay {}: thread {} died; the relay stops its engine and releases its lease so that a"
            + " standby takes over. Close it and start a new one (or restart the process).",
        id,
        thread.getName(),
        error);
    ThreadDeaths.failOverOnNewThread(
        "outboxkit-cdc-failover-" + id,
        () -> {
          try {
            shutDown(settings.shutdownTimeout());
            log.error("CDC relay {} failed over: it holds no lease and publishes nothing", id);
          } finally {
            failedOver.countDown();
          }
        });
  }

  /** After a fail-over: waits until it released the lease; the state stays FAILED. */
  private void awaitFailover() {
    try {
      if (!failedOver.await(
          settings.shutdownTimeout().toMillis() + 10_000, TimeUnit.MILLISECONDS)) {
        log.warn("CDC relay {} is still failing over", id);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /**
   * Stops what {@link #startUp} had started: the lease loop, the engine (waiting up to the shutdown
   * timeout for its batch handler), the producer (waiting up to {@code publisherTimeout} for
   * buffered records; a closed publisher sends nothing more), and only then the lease, so that a
   * standby cannot take over while a record of this instance may still be sent; last the meters.
   */
  private void shutDown(Duration publisherTimeout) {
    stopThread(scheduler);
    stopThread(housekeeping);
    CdcEngineRunner runner = this.runner;
    if (runner != null) {
      runner.stop();
    }
    ManagedBatchSender publisher = this.publisher;
    if (publisher != null) {
      publisher.close(publisherTimeout);
    }
    CdcLease lease = this.lease;
    if (lease != null) {
      lease.release();
      lease.closeSessionLock();
    }
    CdcMetrics metrics = this.metrics;
    if (metrics != null) {
      metrics.close();
    }
  }

  private static void stopThread(@Nullable ScheduledExecutorService thread) {
    if (thread != null) {
      thread.shutdownNow();
      try {
        thread.awaitTermination(5, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  private static ScheduledExecutorService daemonThread(String name) {
    return Executors.newSingleThreadScheduledExecutor(
        r -> {
          Thread t = new Thread(r, name);
          t.setDaemon(true);
          return t;
        });
  }
}
