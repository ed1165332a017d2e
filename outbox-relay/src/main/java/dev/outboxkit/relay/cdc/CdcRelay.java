package dev.outboxkit.relay.cdc;

import dev.outboxkit.outbox.OutboxSchema;
import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.relay.OutboxRelay;
import dev.outboxkit.relay.ParkedEvents;
import dev.outboxkit.relay.RelayStatus;
import dev.outboxkit.relay.delivery.DeliveryCore;
import dev.outboxkit.relay.delivery.DeliveryOutcome;
import dev.outboxkit.relay.delivery.KeyHolds;
import dev.outboxkit.relay.internal.Jdbc;
import dev.outboxkit.relay.internal.JdbcParkedEvents;
import dev.outboxkit.relay.internal.OutboxRows;
import dev.outboxkit.relay.internal.PendingEvent;
import dev.outboxkit.relay.internal.RelayMetrics;
import dev.outboxkit.relay.internal.RelaySettings;
import dev.outboxkit.relay.internal.SessionLock;
import dev.outboxkit.relay.kafka.KafkaEventPublisher;
import io.debezium.embedded.Connect;
import io.debezium.engine.DebeziumEngine;
import io.debezium.engine.RecordChangeEvent;
import io.debezium.engine.format.ChangeEventFormat;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.micrometer.core.instrument.Gauge;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.apache.kafka.connect.source.SourceRecord;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The CDC relay: Debezium's embedded engine reads the outbox table's inserts from the PostgreSQL
 * WAL ({@code pgoutput}, a publication limited to the outbox table, a named slot) or the
 * MySQL/MariaDB binlog, and this class publishes each as the very record the polling relay would
 * send ({@link dev.outboxkit.relay.kafka.KafkaRecords}).
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
 */
final class CdcRelay implements OutboxRelay {

  private static final Logger log = LoggerFactory.getLogger(CdcRelay.class);

  private final RelaySettings settings;
  private final CdcOptions options;
  private final String id;

  /** The owner name in the state table: the id plus a per-process suffix (session locks). */
  private final String owner;

  private final Jdbc jdbc;
  private final AtomicReference<RelayStatus.State> state =
      new AtomicReference<>(RelayStatus.State.NEW);
  private final AtomicLong slotLagBytes = new AtomicLong(-1);
  private final AtomicLong inFlightSince = new AtomicLong();
  private final AtomicLong lastSeenNanos = new AtomicLong();
  private final AtomicLong lastSeenCommitMillis = new AtomicLong();
  private volatile boolean paused;
  private volatile @Nullable String lastError;
  private volatile long backoffUntilNanos;

  private @Nullable OutboxDialect dialect;

  /** The server the engine reads, as the CDC connection reports it (picks the connector). */
  private @Nullable OutboxDialect source;

  private @Nullable OutboxRows rows;
  private @Nullable RelayMetrics metrics;
  private @Nullable KafkaEventPublisher publisher;
  private @Nullable DeliveryCore core;
  private @Nullable CdcRowStore rowStore;
  private @Nullable CdcLease lease;
  private @Nullable ParkedEvents parked;
  private @Nullable ChangeDecoder decoder;
  private @Nullable ScheduledExecutorService scheduler;
  private @Nullable Gauge slotGauge;
  private final Object engineLock = new Object();
  private @Nullable Running engine;

  /** An engine run: the engine, its thread's end, and whether it failed. */
  private static final class Running {
    final DebeziumEngine<RecordChangeEvent<SourceRecord>> engine;
    final CountDownLatch done = new CountDownLatch(1);
    final String bindingKey;
    volatile boolean stopping;
    volatile @Nullable String failure;

    Running(DebeziumEngine<RecordChangeEvent<SourceRecord>> engine, String bindingKey) {
      this.engine = engine;
      this.bindingKey = bindingKey;
    }
  }

  /** Thrown in the engine's thread when this instance may no longer publish. */
  private static final class LeaseLost extends RuntimeException {
    LeaseLost(String message) {
      super(message);
    }
  }

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

  @Override
  public void start() {
    if (!state.compareAndSet(RelayStatus.State.NEW, RelayStatus.State.RUNNING)) {
      throw new IllegalStateException("The relay was started before");
    }
    try {
      startUp();
    } catch (SQLException e) {
      state.set(RelayStatus.State.STOPPED);
      throw new IllegalStateException("CDC relay could not start: " + e.getMessage(), e);
    } catch (RuntimeException e) {
      state.set(RelayStatus.State.STOPPED);
      throw e;
    }
  }

  private void startUp() throws SQLException {
    OutboxDialect d = settings.dialect();
    if (d == null) {
      d = jdbc.autoCommit(OutboxDialect::detect);
    }
    OutboxDialect dialect = d;
    this.dialect = dialect;
    CdcEngineConfig.sourceUrl(options.jdbcUrl());
    // TLS first: a parameter the connector cannot honour, or a certificate the server refuses, is
    // named as such before anything else connects.
    CdcTls.properties(options.jdbcUrl(), options.connectorClass(dialect.name()));
    CdcTls.verifyConnection(options);
    // The connector and the checks follow the server the CDC connection talks to, asked over that
    // connection as the CDC user: a jdbc:mariadb: URL may point at MySQL and the other way round.
    try (Connection cdc = CdcPreflight.connect(options)) {
      OutboxDialect source = CdcPreflight.source(cdc, dialect);
      this.source = source;
      jdbc.autoCommit(
          c -> {
            OutboxSchema.verify(c, dialect, settings.table());
            CdcPreflight.check(c, cdc, source, options, settings.table(), options.username());
            if (options.autoCreate()) {
              CdcSchema.create(c, dialect, options.stateTable());
            }
            verifyStateTable(c, dialect);
            return null;
          });
    }
    this.rows = new OutboxRows(dialect, settings.table());
    this.decoder = new ChangeDecoder(settings.table().name());
    RelayMetrics metrics = new RelayMetrics(settings.meterRegistry(), settings.table().name());
    this.metrics = metrics;
    if (dialect.name().equals("postgresql")) {
      slotGauge =
          Gauge.builder(
                  "outbox.cdc.slot.lag.bytes",
                  slotLagBytes,
                  v -> v.get() < 0 ? Double.NaN : v.get())
              .description("WAL the server retains for the relay's replication slot")
              .baseUnit("bytes")
              .tag("table", settings.table().name())
              .register(settings.meterRegistry());
    }
    this.rowStore = new CdcRowStore(settings, jdbc, dialect, rows, metrics);
    this.parked = new JdbcParkedEvents(jdbc, dialect, settings.table(), () -> {}, true);
    this.publisher =
        new KafkaEventPublisher(
            settings.producerProperties(),
            "outboxkit-cdc-" + id,
            settings.sendTimeout(),
            settings.topicRouter(),
            settings.verifyTopics(),
            settings.clock(),
            settings.transactionalIdPrefix());
    publisher.start();
    this.core =
        new DeliveryCore(
            DeliveryCore.Policy.of(settings),
            new KeyHolds(),
            CircuitBreaker.of("outboxkit-cdc-" + options.name(), settings.circuitBreaker()),
            metrics,
            publisher);
    this.lease =
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
                : null);
    ScheduledExecutorService scheduler =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "outboxkit-cdc-lease-" + id);
              t.setDaemon(true);
              return t;
            });
    this.scheduler = scheduler;
    long beat = settings.heartbeatInterval().toMillis();
    // At a fixed rate: a standby judges a missed renewal by 1.5 intervals between renewals.
    scheduler.scheduleAtFixedRate(this::tick, 0, beat, TimeUnit.MILLISECONDS);
    scheduler.scheduleWithFixedDelay(
        this::measure, 0, settings.metricsInterval().toMillis(), TimeUnit.MILLISECONDS);
    log.info(
        "CDC relay {} started on {} (engine {}, {}); it publishes while it holds the engine's"
            + " lease",
        id,
        settings.table(),
        options.name(),
        dialect.name());
  }

  /** The state table, and on MySQL/MariaDB the schema history table next to it, must exist. */
  private void verifyStateTable(Connection c, OutboxDialect dialect) {
    List<OutboxTable> tables =
        dialect.name().equals("postgresql")
            ? List.of(options.stateTable())
            : List.of(options.stateTable(), CdcSchema.historyTable(options.stateTable()));
    for (OutboxTable table : tables) {
      verifyTable(c, dialect, table);
    }
  }

  private void verifyTable(Connection c, OutboxDialect dialect, OutboxTable table) {
    try (PreparedStatement s =
        c.prepareStatement("SELECT name FROM " + table.qualifiedName() + " WHERE 1 = 0")) {
      s.executeQuery().close();
    } catch (SQLException e) {
      throw new IllegalStateException(
          "The CDC table "
              + table
              + " is missing. Apply "
              + CdcSchema.scriptLocation(dialect)
              + " (Flyway) or outboxkit-cdc-changelog.xml (Liquibase), or set"
              + " outbox.relay.cdc.auto-create=true.",
          e);
    }
  }

  /** The lease loop: keep or take the lease, start or stop the engine accordingly. */
  private void tick() {
    CdcLease lease = this.lease;
    if (lease == null) {
      return;
    }
    try {
      lease.keepSessionLock();
      Running running = currentEngine();
      if (running != null && running.done.getCount() == 0) {
        // The engine ended on its own (an error): give the lease up so a standby may try, and
        // wait a little before trying again here.
        lastError = running.failure;
        stopEngine();
        lease.release();
        backoffUntilNanos = System.nanoTime() + settings.retryInitialInterval().toNanos() * 5;
        return;
      }
      if (lease.epoch() >= 0) {
        if (!lease.renew()) {
          log.warn("CDC relay {} lost the lease of engine {}; stopping it", id, options.name());
          stopEngine();
        } else if (running == null) {
          // Held without an engine (its start failed): a lease nobody publishes under would keep
          // the standby out for ever while lag reads zero. Give it up.
          lease.release();
          backoffUntilNanos = System.nanoTime() + settings.retryInitialInterval().toNanos() * 5;
        }
      } else if (isActiveState() && System.nanoTime() - backoffUntilNanos >= 0) {
        if (lease.tryAcquire()) {
          log.info(
              "CDC relay {} took the lease of engine {} (epoch {}); starting it",
              id,
              options.name(),
              lease.epoch());
          try {
            startEngine(lease.epoch());
          } catch (RuntimeException e) {
            lastError = "The CDC engine could not start: " + e;
            log.error(
                "CDC relay {} could not start engine {}; releasing its lease: {}",
                id,
                options.name(),
                e.toString());
            stopEngine();
            lease.release();
            backoffUntilNanos = System.nanoTime() + settings.retryInitialInterval().toNanos() * 5;
          }
        }
      }
    } catch (SQLException | RuntimeException e) {
      lastError = e.toString();
      log.warn("CDC relay {} lease check failed: {}", id, e.toString());
      if (!lease.held()) {
        stopEngine();
        lease.drop();
      }
    }
  }

  private boolean isActiveState() {
    RelayStatus.State s = state.get();
    return s == RelayStatus.State.RUNNING || s == RelayStatus.State.PAUSED;
  }

  private @Nullable Running currentEngine() {
    synchronized (engineLock) {
      return engine;
    }
  }

  private void startEngine(long epoch) {
    String key = options.name() + "-" + id + "-" + epoch;
    DatabaseOffsetStore.bind(
        key,
        new DatabaseOffsetStore.Binding(
            settings.dataSource(),
            dialect,
            options.stateTable(),
            options.name(),
            owner,
            () -> epoch,
            settings.clock()));
    AtomicReference<Running> self = new AtomicReference<>();
    DebeziumEngine<RecordChangeEvent<SourceRecord>> built =
        DebeziumEngine.create(ChangeEventFormat.of(Connect.class))
            .using(CdcEngineConfig.of(settings, options, source, key))
            .notifying(this::handleBatch)
            .using(
                (success, message, error) -> {
                  Running r = self.get();
                  if (r != null) {
                    if (!success && !r.stopping) {
                      r.failure = message + (error == null ? "" : ": " + error);
                      log.error("CDC engine {} stopped: {}", options.name(), r.failure, error);
                    }
                    r.done.countDown();
                  }
                })
            .build();
    Running running = new Running(built, key);
    self.set(running);
    synchronized (engineLock) {
      engine = running;
    }
    Thread thread = new Thread(built, "outboxkit-cdc-engine-" + id);
    thread.setDaemon(true);
    thread.start();
    inFlightSince.set(0);
    lastSeenNanos.set(System.nanoTime());
    metrics.owned(settings.partitions());
  }

  private void stopEngine() {
    Running running;
    synchronized (engineLock) {
      running = engine;
      engine = null;
    }
    if (metrics != null) {
      metrics.owned(0);
    }
    if (running == null) {
      return;
    }
    running.stopping = true;
    long deadline = System.nanoTime() + settings.shutdownTimeout().toNanos();
    while (running.done.getCount() > 0) {
      try {
        running.engine.close();
        break;
      } catch (IllegalStateException e) {
        // "Cannot stop engine while tasks are starting" or already stopping: try again shortly.
        if (System.nanoTime() - deadline > 0
            || e.getMessage() == null
            || !e.getMessage().contains("starting")) {
          break;
        }
        sleepQuietly(100);
      } catch (Exception e) {
        log.warn("Closing CDC engine {} failed: {}", options.name(), e.toString());
        break;
      }
    }
    try {
      if (!running.done.await(
          Math.max(1, settings.shutdownTimeout().toMillis()), TimeUnit.MILLISECONDS)) {
        log.warn(
            "CDC engine {} did not stop within {}", options.name(), settings.shutdownTimeout());
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    DatabaseOffsetStore.unbind(running.bindingKey);
  }

  /** Publishes one batch of changes, then lets Debezium store the position after it. */
  private void handleBatch(
      List<RecordChangeEvent<SourceRecord>> records,
      DebeziumEngine.RecordCommitter<RecordChangeEvent<SourceRecord>> committer)
      throws InterruptedException {
    lastSeenNanos.set(System.nanoTime());
    List<ChangeDecoder.Change> changes = new ArrayList<>();
    for (RecordChangeEvent<SourceRecord> record : records) {
      SourceRecord r = record.record();
      long commit = ChangeDecoder.commitMillis(r);
      if (commit > 0) {
        lastSeenCommitMillis.set(commit);
      }
      ChangeDecoder.Change change;
      try {
        change = decoder.decode(r);
      } catch (RuntimeException e) {
        // A row that cannot be read as an event must not stop the stream (nor restart the engine
        // in a loop): it is parked, and the rest flows.
        rowStore.parkUndecodable(r, e);
        change = null;
      }
      if (change != null) {
        changes.add(change);
      }
    }
    if (!changes.isEmpty()) {
      long oldest = changes.stream().mapToLong(ChangeDecoder.Change::commitMillis).min().orElse(0);
      inFlightSince.set(oldest > 0 ? oldest : settings.clock().millis());
      List<Long> published = publish(changes.stream().map(ChangeDecoder.Change::event).toList());
      if (options.deletePublished() && !published.isEmpty()) {
        rowStore.markPublished(published);
      }
    }
    requireLease();
    for (RecordChangeEvent<SourceRecord> record : records) {
      committer.markProcessed(record);
    }
    committer.markBatchFinished();
    inFlightSince.set(0);
  }

  /**
   * Sends until every event is acknowledged or parked, with the same decisions as the polling relay
   * ({@link DeliveryCore}): a failing event holds back the later events of its key, retried with
   * backoff and jitter, and is parked after its attempts; other keys of the batch go on. A broker
   * outage or an access error counts no attempt and opens the breaker. The position is stored only
   * once the whole batch is settled.
   *
   * @return the sequence numbers of the acknowledged events
   */
  private List<Long> publish(List<PendingEvent> batch) throws InterruptedException {
    DeliveryCore core = this.core;
    // Holds left by a batch cut short (a lost lease) would stop this one's events for good.
    core.holds().clear();
    List<Long> acked = new ArrayList<>();
    List<PendingEvent> todo = new ArrayList<>(batch);
    while (!todo.isEmpty()) {
      while (paused) {
        if (!isActiveState()) {
          // Closed while paused: what was held back stays unpublished (and unmarked) for the next
          // owner; leaving the wait here would send it between close() and the engine's stop.
          throw new LeaseLost("CDC relay " + id + " was closed while paused");
        }
        requireLease();
        Thread.sleep(50);
      }
      requireLease();
      if (!core.tryAcquire()) {
        Thread.sleep(settings.maxPollInterval().toMillis());
        continue;
      }
      List<PendingEvent> selected = core.select(todo);
      if (selected.isEmpty()) {
        core.release();
        Instant due = core.holds().nextDue();
        long wait = due == null ? 10 : Duration.between(settings.clock().instant(), due).toMillis();
        Thread.sleep(Math.max(10, Math.min(wait, 1000)));
        continue;
      }
      long started = System.nanoTime();
      List<dev.outboxkit.relay.delivery.PublishResult> results;
      try {
        results = publisher.send(selected).await();
      } catch (RuntimeException e) {
        core.release(); // or the breaker's trial permission would be gone for good
        throw e;
      }
      DeliveryOutcome outcome = core.decide(results, System.nanoTime() - started);
      Map<UUID, PendingEvent> replaced = new HashMap<>();
      Set<UUID> done = new HashSet<>();
      for (PendingEvent e : outcome.acked()) {
        acked.add(e.seq());
        done.add(e.event().id());
      }
      for (DeliveryOutcome.Failure f : outcome.parked()) {
        rowStore.park(f.event(), f.error(), f.attempts());
        done.add(f.event().event().id());
      }
      for (DeliveryOutcome.Failure f : outcome.retries()) {
        replaced.put(f.event().event().id(), f.updated());
      }
      List<PendingEvent> next = new ArrayList<>(todo.size());
      for (PendingEvent e : todo) {
        if (!done.contains(e.event().id())) {
          next.add(replaced.getOrDefault(e.event().id(), e));
        }
      }
      todo = next;
    }
    return acked;
  }

  private void requireLease() throws InterruptedException {
    // A send starts only while the lease outlives it (the producer's delivery timeout plus half a
    // heartbeat), so a deposed engine's records are acknowledged or given up before a successor
    // may take over. A renewal that is late (not failed) is waited for, up to the lease's end.
    Duration window = settings.sendTimeout().plus(settings.heartbeatInterval().dividedBy(2));
    while (true) {
      CdcLease lease = this.lease;
      Running running = currentEngine();
      if (lease == null || !lease.validByTtl() || running == null || running.stopping) {
        throw new LeaseLost(
            "CDC relay " + id + " no longer holds the lease of engine " + options.name());
      }
      if (lease.heldFor(window)) {
        return;
      }
      Thread.sleep(10);
    }
  }

  private void measure() {
    RelayMetrics metrics = this.metrics;
    if (metrics == null) {
      return;
    }
    long now = settings.clock().millis();
    long since = inFlightSince.get();
    Duration lag = Duration.ZERO;
    Running running = currentEngine();
    if (since > 0) {
      lag = Duration.ofMillis(Math.max(0, now - since));
    } else if (running != null
        && System.nanoTime() - lastSeenNanos.get() > options.heartbeatInterval().toNanos() * 3
        && lastSeenCommitMillis.get() > 0) {
      // Nothing read, not even a heartbeat, for three heartbeat intervals: the reader is stuck.
      lag = Duration.ofMillis(Math.max(0, now - lastSeenCommitMillis.get()));
    }
    long backlog = -1;
    try {
      backlog = jdbc.autoCommit(c -> rows.stats(c).backlog());
      if (slotGauge != null) {
        slotLagBytes.set(jdbc.autoCommit(this::retainedWal));
      }
    } catch (SQLException | RuntimeException e) {
      log.debug("Could not measure the CDC relay", e);
    }
    metrics.outbox(backlog, lag);
  }

  private long retainedWal(Connection c) throws SQLException {
    try (PreparedStatement s =
        c.prepareStatement(
            "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn) FROM pg_replication_slots"
                + " WHERE slot_name = ?")) {
      s.setString(1, options.name());
      try (ResultSet rs = s.executeQuery()) {
        return rs.next() ? rs.getLong(1) : -1;
      }
    }
  }

  @Override
  public void wakeUp() {
    // The engine streams; nothing to wake.
  }

  @Override
  public void pause() {
    if (state.compareAndSet(RelayStatus.State.RUNNING, RelayStatus.State.PAUSED)) {
      paused = true;
    }
  }

  @Override
  public void resume() {
    if (state.compareAndSet(RelayStatus.State.PAUSED, RelayStatus.State.RUNNING)) {
      paused = false;
    }
  }

  /** Whether this instance runs the engine now (the others stand by). */
  boolean isActive() {
    Running running = currentEngine();
    return running != null && !running.stopping && lease != null && lease.held();
  }

  @Override
  public RelayStatus status() {
    RelayMetrics m = metrics;
    Set<Integer> owned =
        isActive()
            ? IntStream.range(0, settings.partitions())
                .boxed()
                .collect(Collectors.toCollection(LinkedHashSet::new))
            : Set.of();
    DeliveryCore core = this.core;
    String error = core == null || core.lastError() == null ? lastError : core.lastError();
    return new RelayStatus(
        id,
        state.get(),
        owned,
        m == null ? -1 : m.backlog(),
        m == null ? Duration.ZERO : m.lag(),
        core == null ? 0 : core.consecutiveFailures(),
        core == null ? "CLOSED" : core.breakerState(),
        error,
        core == null ? null : core.lastBatchAt());
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
    return new JdbcParkedEvents(jdbc, d, settings.table(), () -> {}, true);
  }

  @Override
  public void close() {
    RelayStatus.State s = state.getAndSet(RelayStatus.State.STOPPING);
    if (s == RelayStatus.State.STOPPED || s == RelayStatus.State.STOPPING) {
      state.set(RelayStatus.State.STOPPED);
      return;
    }
    if (scheduler != null) {
      scheduler.shutdownNow();
      try {
        scheduler.awaitTermination(5, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    stopEngine();
    if (lease != null) {
      lease.release();
      lease.closeSessionLock();
    }
    if (publisher != null) {
      publisher.close(settings.shutdownTimeout());
    }
    if (metrics != null) {
      metrics.close();
    }
    if (slotGauge != null) {
      settings.meterRegistry().remove(slotGauge);
    }
    state.set(RelayStatus.State.STOPPED);
    log.info("CDC relay {} stopped", id);
  }

  private static void sleepQuietly(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
