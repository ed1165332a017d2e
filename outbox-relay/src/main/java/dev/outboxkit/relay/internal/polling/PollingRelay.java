package dev.outboxkit.relay.internal.polling;

import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.relay.OutboxRelay;
import dev.outboxkit.relay.ParkedEvents;
import dev.outboxkit.relay.RelayDefaults;
import dev.outboxkit.relay.RelayStatus;
import dev.outboxkit.relay.internal.Jdbc;
import dev.outboxkit.relay.internal.JdbcParkedEvents;
import dev.outboxkit.relay.internal.LeaseStore;
import dev.outboxkit.relay.internal.OutboxRows;
import dev.outboxkit.relay.internal.PauseSwitch;
import dev.outboxkit.relay.internal.RelayMetrics;
import dev.outboxkit.relay.internal.RelaySettings;
import dev.outboxkit.relay.internal.ThreadDeaths;
import dev.outboxkit.relay.internal.delivery.DeliveryCore;
import dev.outboxkit.relay.internal.delivery.KeyHolds;
import dev.outboxkit.relay.internal.delivery.ManagedBatchSender;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The polling relay: the lifecycle around a {@link PublishLoop} (publishing thread), a {@link
 * LeaseManager} heartbeat (lease thread), the {@link PollingHousekeeping} gauges and purging (a
 * thread of their own), and on PostgreSQL a {@link PgNotificationListener}; {@link PollingStartUp}
 * checks the tables and builds the leases and producers. Every state change is one compare-and-set
 * on {@link #state}. With the default thread count, {@link PublishSlots} lets as many of the
 * publishing threads read as the backlog needs.
 */
final class PollingRelay implements OutboxRelay {

  private static final Logger log = LoggerFactory.getLogger(PollingRelay.class);

  /** How many times the batch size a batch reads with transactional fencing; see batchEvents. */
  static final int FENCED_BATCH_FACTOR = 4;

  private static final int MAX_FENCED_BATCH = 10_000;

  private final RelaySettings settings;
  private final AtomicReference<RelayStatus.State> state =
      new AtomicReference<>(RelayStatus.State.NEW);
  private final List<WakeUpSignal> signals = new CopyOnWriteArrayList<>();
  private final List<PublishLoop> loops = new CopyOnWriteArrayList<>();
  private final List<ManagedBatchSender> publishers = new CopyOnWriteArrayList<>();
  private final List<Thread> workers = new CopyOnWriteArrayList<>();
  private final Jdbc jdbc;
  private final PauseSwitch pause = new PauseSwitch();
  private final java.util.concurrent.CountDownLatch failedOver =
      new java.util.concurrent.CountDownLatch(1);
  private volatile @Nullable String failure;

  private @Nullable OutboxDialect dialect;
  private @Nullable RelayMetrics metrics;
  private @Nullable LeaseManager leases;
  private @Nullable CircuitBreaker breaker;
  private @Nullable ScheduledExecutorService scheduler;
  private @Nullable ScheduledExecutorService housekeeping;
  private @Nullable PgNotificationListener listener;
  private @Nullable ParkedEvents parked;
  private volatile @Nullable PollingHousekeeping housekeepingJobs;

  PollingRelay(RelaySettings settings) {
    this.settings = settings;
    this.jdbc = new Jdbc(settings.dataSource());
  }

  @Override
  public void start() {
    if (!state.compareAndSet(RelayStatus.State.NEW, RelayStatus.State.RUNNING)) {
      throw new IllegalStateException("The relay was already started (state " + state.get() + ")");
    }
    try {
      doStart();
    } catch (SQLException | RuntimeException | Error e) {
      abandonStart(e);
      if (e instanceof RuntimeException runtime) {
        throw runtime;
      }
      if (e instanceof Error error) {
        throw error;
      }
      throw new dev.outboxkit.outbox.OutboxStoreException(
          "The relay could not start on " + settings.table(), (SQLException) e);
    }
  }

  /**
   * Undoes a start that failed part-way. Once the first heartbeat ran, this instance is a member
   * and holds leases: it leaves, so that the others take its partitions at their next heartbeat
   * rather than after the lease TTL. Threads and producers stop first, as in {@link #close}, so no
   * send of ours can still land once the leases are free.
   */
  private void abandonStart(Throwable failure) {
    state.set(RelayStatus.State.STOPPED);
    try {
      wakeUp();
      for (Thread worker : workers) {
        worker.interrupt();
        worker.join(TimeUnit.SECONDS.toMillis(5));
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    try {
      shutdownThreads();
      publishers.forEach(p -> p.close(Duration.ZERO));
      if (leases != null) {
        leases.leave();
      }
      if (metrics != null) {
        metrics.close();
      }
    } catch (RuntimeException e) {
      failure.addSuppressed(e);
    }
  }

  private void doStart() throws SQLException {
    String id = settings.instanceId();
    OutboxDialect dialect = settings.dialect();
    if (dialect == null) {
      dialect = jdbc.autoCommit(OutboxDialect::detect);
    }
    this.dialect = dialect;
    OutboxRows rows = PollingStartUp.verify(settings, jdbc, dialect);
    RelayMetrics metrics = new RelayMetrics(settings.meterRegistry(), settings.table().name());
    this.metrics = metrics;
    KeyHolds holds = new KeyHolds(settings.retryMaxInterval(), settings.clock());
    LeaseManager leases = PollingStartUp.leases(settings, jdbc, dialect, rows, holds, metrics, id);
    this.leases = leases;
    leases.init();
    CircuitBreaker breaker =
        CircuitBreaker.of("outboxkit-relay-" + settings.table().name(), settings.circuitBreaker());
    this.breaker = breaker;
    this.parked =
        new JdbcParkedEvents(jdbc, dialect, settings.table(), this::wakeUp, settings.clock());
    DeliveryCore.Policy policy = DeliveryCore.Policy.of(settings);
    PollingStore store =
        new JdbcPollingStore(
            jdbc,
            rows,
            settings.keepPublishedFor(),
            settings.clock(),
            n -> {
              for (int i = 0; i < n; i++) {
                metrics.parked();
              }
            });
    PublishLoop.Pacing pacing =
        new PublishLoop.Pacing(
            batchEvents(settings.batchSize(), settings.transactionalIdPrefix() != null),
            Math.max(
                batchEvents(settings.batchSize(), settings.transactionalIdPrefix() != null),
                RelayDefaults.maxBatchSize(settings.batchSize())),
            settings.batchBytes(),
            settings.minPollInterval(),
            settings.maxPollInterval());
    ReadFloorCheck floorCheck =
        new ReadFloorCheck(
            jdbc, dev.outboxkit.relay.internal.dialect.RelaySql.of(dialect), settings.table());
    floorCheck.check();
    PublishSlots adaptive = adaptiveThreads(leases, id);
    PartitionLeases slotLeases = adaptive == null ? leases : adaptive;
    PollingStore reads =
        adaptive == null ? store : adaptive.observing(store, settings.batchBytes());
    int threads = adaptive == null ? settings.publishThreads() : adaptive.max();
    metrics.publishThreads(adaptive == null ? () -> threads : adaptive::active);
    for (int slot = 0; slot < threads; slot++) {
      ManagedBatchSender publisher = PollingStartUp.publisher(settings, id, slot, threads);
      publishers.add(publisher);
      publisher.start();
      WakeUpSignal signal = new WakeUpSignal();
      signals.add(signal);
      loops.add(
          new PublishLoop(
              reads,
              slotLeases,
              new DeliveryCore(policy, holds, breaker, metrics, publisher),
              publisher,
              signal,
              () -> state.get() == RelayStatus.State.RUNNING,
              pause,
              pacing,
              slot,
              threads,
              floorCheck));
    }

    leases.report(this::reported);
    leases.heartbeat();
    ScheduledExecutorService scheduler =
        Executors.newSingleThreadScheduledExecutor(r -> daemon(r, "outboxkit-relay-leases-" + id));
    this.scheduler = scheduler;
    leases.schedule(scheduler, this::threadDied);
    // Gauges and purging get a thread of their own: with millions of events pending (after a
    // broker outage) their queries take long, and the heartbeat must not wait behind them, or the
    // leases lapse exactly while the backlog drains.
    ScheduledExecutorService housekeeping =
        Executors.newSingleThreadScheduledExecutor(r -> daemon(r, "outboxkit-relay-metrics-" + id));
    this.housekeeping = housekeeping;
    PollingHousekeeping jobs =
        new PollingHousekeeping(
            settings,
            jdbc,
            rows,
            metrics,
            () -> state.get() == RelayStatus.State.RUNNING && !pause.paused(),
            floorCheck::check);
    this.housekeepingJobs = jobs;
    jobs.schedule(housekeeping, this::threadDied);
    if (settings.listenNotify()
        && dialect.supportsListenNotify()
        && PgNotificationListener.driverPresent()) {
      PgNotificationListener listener =
          new PgNotificationListener(
              settings.sessionDataSource(), settings.table().name(), this::wakeUp);
      this.listener = listener;
      Thread listening = daemon(listener, "outboxkit-relay-notify-" + id);
      listening.setUncaughtExceptionHandler(this::threadDied);
      listening.start();
    }
    for (int slot = 0; slot < loops.size(); slot++) {
      Thread worker =
          daemon(loops.get(slot), "outboxkit-relay-" + id + (loops.size() == 1 ? "" : "-" + slot));
      worker.setUncaughtExceptionHandler(this::threadDied);
      workers.add(worker);
      worker.start();
    }
    log.info(
        "Outbox relay {} started on {} ({} partitions, batch {}, publishing threads {}), owning {}",
        id,
        settings.table(),
        settings.partitions(),
        batchEvents(settings.batchSize(), settings.transactionalIdPrefix() != null),
        adaptive == null ? threads : "1 to " + threads + " by backlog",
        leases.owned());
  }

  /**
   * With the default number of publishing threads and no transactional fencing, the slots that let
   * as many of them read as the backlog needs; null for a fixed number. Fenced producers stay with
   * one thread per partition share: a transactional id is per partition, and moving a partition to
   * another thread's producer would fence the first one.
   */
  private @Nullable PublishSlots adaptiveThreads(PartitionLeases leases, String id) {
    int max = RelayDefaults.maxPublishThreads(settings.publishThreads(), settings.partitions());
    if (settings.publishThreads() != RelayDefaults.PUBLISH_THREADS
        || settings.transactionalIdPrefix() != null
        || max == 1) {
      return null;
    }
    ThreadScaling scaling =
        new ThreadScaling(
            max, ThreadScaling.GROW_AFTER, ThreadScaling.IDLE_AFTER, System.nanoTime());
    return new PublishSlots(leases, scaling, System::nanoTime, this::wakeUp, id);
  }

  /**
   * The events a batch reads. With transactional fencing each batch costs one Kafka transaction (a
   * commit, its markers, a new transaction per producer) for every outbox partition it touches,
   * whatever its size, so a batch reads {@value #FENCED_BATCH_FACTOR} times the batch size (at most
   * 10,000; the byte budget still applies): under a backlog each transaction carries that many more
   * events. An outbox that keeps up reads what is pending, so small batches stay small.
   */
  static int batchEvents(int batchSize, boolean fenced) {
    return fenced ? Math.min(MAX_FENCED_BATCH, batchSize * FENCED_BATCH_FACTOR) : batchSize;
  }

  private static Thread daemon(Runnable r, String name) {
    Thread thread = new Thread(r, name);
    thread.setDaemon(true);
    return thread;
  }

  @Override
  public void wakeUp() {
    signals.forEach(WakeUpSignal::signal);
  }

  @Override
  public void pause() {
    pause.pause();
  }

  @Override
  public void resume() {
    pause.resume();
    wakeUp();
  }

  @Override
  public RelayStatus status() {
    RelayStatus.State current = state.get();
    if (current == RelayStatus.State.RUNNING && pause.paused()) {
      current = RelayStatus.State.PAUSED;
    }
    RelayMetrics metrics = this.metrics;
    LeaseManager leases = this.leases;
    int failures = 0;
    String lastError = null;
    Instant lastBatchAt = null;
    for (PublishLoop loop : loops) {
      DeliveryCore core = loop.core();
      failures = Math.max(failures, core.consecutiveFailures());
      lastError = core.lastError() != null ? core.lastError() : lastError;
      Instant at = core.lastBatchAt();
      if (at != null && (lastBatchAt == null || at.isAfter(lastBatchAt))) {
        lastBatchAt = at;
      }
    }
    if (failure != null) {
      lastError = failure;
    }
    CircuitBreaker breaker = this.breaker;
    PollingHousekeeping jobs = this.housekeepingJobs;
    return new RelayStatus(
        settings.instanceId(),
        current,
        leases == null ? java.util.Set.of() : leases.owned(),
        metrics == null ? -1 : metrics.backlog(),
        metrics == null ? null : metrics.lag(),
        failures,
        breaker == null ? "CLOSED" : breaker.getState().name(),
        lastError,
        lastBatchAt,
        jobs == null || current != RelayStatus.State.RUNNING ? null : jobs.stalled());
  }

  /**
   * What this instance reports in its member row at each heartbeat, from its {@link #status()}: a
   * stalled relay reports {@code STALLED} rather than {@code RUNNING}.
   */
  private LeaseStore.Reported reported() {
    RelayStatus status = status();
    String relayState = status.stalled() != null ? "STALLED" : status.state().name();
    return new LeaseStore.Reported(relayState, status.circuitState());
  }

  @Override
  public ParkedEvents parkedEvents() {
    ParkedEvents parked = this.parked;
    if (parked != null) {
      return parked;
    }
    OutboxDialect dialect = this.dialect;
    if (dialect == null) {
      dialect = settings.dialect();
    }
    if (dialect == null) {
      dialect = jdbc.unchecked("Could not detect the database", OutboxDialect::detect);
    }
    return new JdbcParkedEvents(jdbc, dialect, settings.table(), this::wakeUp, settings.clock());
  }

  /**
   * A long-lived thread of the relay ended with a throwable its code does not handle (an {@link
   * Error}: out of memory, a stack overflow, a class missing at run time): a publishing thread, the
   * lease thread (its heartbeat job), the measuring thread or the LISTEN thread. Left alone, a dead
   * publishing thread's partitions would stay leased, renewed by the heartbeat, while nothing
   * publishes them; a dead lease thread would let the leases lapse while the status says RUNNING.
   * The relay fails over as {@link #close} stops (the other threads end, the producers close, then
   * the leases are released), on a thread of its own, and its status says {@link
   * RelayStatus.State#FAILED} with the cause.
   */
  private void threadDied(Thread thread, Throwable error) {
    if (!state.compareAndSet(RelayStatus.State.RUNNING, RelayStatus.State.FAILED)) {
      log.warn(
          "Outbox relay {}: thread {} died while the relay stopped",
          settings.instanceId(),
          thread.getName(),
          error);
      return;
    }
    failure = "Thread " + thread.getName() + " died: " + error;
    log.error(
        "Outbox relay {}: thread {} died; the relay stops and releases its leases so that other"
            + " instances take over. Close it and start a new one (or restart the process).",
        settings.instanceId(),
        thread.getName(),
        error);
    ThreadDeaths.failOverOnNewThread(
        "outboxkit-relay-failover-" + settings.instanceId(),
        () -> {
          try {
            stopPublishing();
            log.error(
                "Outbox relay {} failed over: it holds no lease and publishes nothing",
                settings.instanceId());
          } finally {
            failedOver.countDown();
          }
        });
  }

  @Override
  public void close() {
    if (!state.compareAndSet(RelayStatus.State.RUNNING, RelayStatus.State.STOPPING)) {
      state.compareAndSet(RelayStatus.State.NEW, RelayStatus.State.STOPPED);
      if (state.get() == RelayStatus.State.FAILED) {
        closeFailed();
      }
      return;
    }
    stopPublishing();
    if (metrics != null) {
      metrics.close();
    }
    state.set(RelayStatus.State.STOPPED);
    log.info("Outbox relay {} stopped", settings.instanceId());
  }

  /** After a fail-over: waits until it released the leases; the state stays FAILED. */
  private void closeFailed() {
    try {
      if (!failedOver.await(
          settings.shutdownTimeout().toMillis() + 10_000, TimeUnit.MILLISECONDS)) {
        log.warn("Outbox relay {} is still failing over", settings.instanceId());
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    if (metrics != null) {
      metrics.close();
    }
  }

  /**
   * Stops the publishing threads (but the caller's own), the lease and measuring threads and the
   * producers, then releases the leases.
   */
  private void stopPublishing() {
    Thread self = Thread.currentThread();
    long deadline = System.nanoTime() + settings.shutdownTimeout().toNanos();
    wakeUp();
    for (Thread worker : workers) {
      if (worker == self) {
        continue;
      }
      try {
        worker.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())));
        if (worker.isAlive()) {
          log.warn(
              "Outbox relay {} did not finish its batch within {}; its events stay pending and are"
                  + " sent again (duplicates, never losses)",
              settings.instanceId(),
              settings.shutdownTimeout());
          worker.interrupt();
          worker.join(1000);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    shutdownThreads();
    // Producers first: closing one waits for its records in flight (or fails them), and only then
    // may the leases go to others. Releasing first would let a successor send while an
    // interrupted batch of ours still lands (finding 2 of the correctness review).
    for (ManagedBatchSender publisher : publishers) {
      long left = Math.max(0, deadline - System.nanoTime());
      publisher.close(Duration.ofNanos(Math.min(left, TimeUnit.SECONDS.toNanos(5))));
    }
    if (leases != null) {
      leases.leave();
    }
  }

  private void shutdownThreads() {
    if (listener != null) {
      listener.stop();
    }
    for (ScheduledExecutorService executor :
        new ScheduledExecutorService[] {scheduler, housekeeping}) {
      if (executor != null) {
        executor.shutdownNow();
        try {
          executor.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
    }
  }

  @Override
  public String toString() {
    return "OutboxRelay[" + settings.instanceId() + ", table=" + settings.table() + "]";
  }
}
