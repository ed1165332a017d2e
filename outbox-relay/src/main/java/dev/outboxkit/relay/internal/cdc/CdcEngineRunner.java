package dev.outboxkit.relay.internal.cdc;

import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.relay.cdc.CdcOptions;
import dev.outboxkit.relay.internal.RelaySettings;
import io.debezium.embedded.Connect;
import io.debezium.engine.DebeziumEngine;
import io.debezium.engine.RecordChangeEvent;
import io.debezium.engine.format.ChangeEventFormat;
import java.sql.SQLException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import org.apache.kafka.connect.source.SourceRecord;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the Debezium embedded engine while this instance holds the engine's lease. The lease loop
 * ({@link #tick}, on the relay's lease thread) keeps or takes the lease and starts or stops the
 * engine accordingly: an engine that ends on its own (an error) or cannot start gives the lease up,
 * so that a standby may try, and is started again here after a backoff. Each run has a thread of
 * its own and an offset-store binding keyed by the lease's epoch, so a deposed run can never write
 * the successor's offsets.
 */
final class CdcEngineRunner {

  private static final Logger log = LoggerFactory.getLogger(CdcEngineRunner.class);

  private final RelaySettings settings;
  private final CdcOptions options;
  private final String id;
  private final String owner;
  private final OutboxDialect dialect;
  private final OutboxDialect source;
  private final CdcLease lease;
  private final CdcMetrics metrics;
  private final CdcBatchHandler batches;
  private final BooleanSupplier open;
  private final Object engineLock = new Object();
  private @Nullable Running engine;
  private volatile @Nullable String lastError;
  private volatile long backoffUntilNanos;
  // Runs in a row that ended in an error (or could not start) with nothing published, parked or
  // settled since the first of them: the engine fails at the same position again and again.
  private volatile int failuresInARow;
  private volatile @Nullable String firstFailure;
  private volatile long progressAtLastFailure = -1;

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

  /**
   * @param owner the owner name in the state table
   * @param dialect the database of the state table (offsets, schema history)
   * @param source the server the engine reads (picks the connector)
   * @param batches where the engine hands its batches of changes
   * @param open whether the relay is running or paused (a closing relay takes no lease)
   */
  CdcEngineRunner(
      RelaySettings settings,
      CdcOptions options,
      String owner,
      OutboxDialect dialect,
      OutboxDialect source,
      CdcLease lease,
      CdcMetrics metrics,
      CdcBatchHandler batches,
      BooleanSupplier open) {
    this.settings = settings;
    this.options = options;
    this.id = settings.instanceId();
    this.owner = owner;
    this.dialect = dialect;
    this.source = source;
    this.lease = lease;
    this.metrics = metrics;
    this.batches = batches;
    this.open = open;
  }

  /**
   * Why the engine keeps failing, for the stall reason, or {@code null} unless its last two or more
   * runs failed with no progress since: how often, and the first and last error (an engine that
   * fails at the same binlog position at every start repeats one error; Debezium's parser on an
   * unknown statement did so 66 times in two minutes in a CI run).
   */
  @Nullable String repeatedFailure() {
    int n = failuresInARow;
    if (n < 2 || metrics.relay().progress() != progressAtLastFailure) {
      return null;
    }
    String last = lastError;
    String first = firstFailure;
    return "the CDC engine failed "
        + n
        + " times in a row without progress (at the same position), last: "
        + last
        + (first != null && !first.equals(last) ? "; first: " + first : "");
  }

  /** The last reason the engine stopped or could not start or hold its lease, or null. */
  @Nullable String lastError() {
    return lastError;
  }

  /** Whether an engine runs here and is not being stopped. */
  boolean engineLive() {
    Running running = currentEngine();
    return running != null && !running.stopping;
  }

  /**
   * The gate of one run's batches: that run is the current one and not being stopped. Once stopped
   * a run is never current again, so its batches never pass after a new run started.
   */
  private boolean isCurrentAndLive(@Nullable Running run) {
    return run != null && !run.stopping && currentEngine() == run;
  }

  /** The lease loop: keep or take the lease, start or stop the engine accordingly. */
  void tick() {
    try {
      lease.keepSessionLock();
      Running running = currentEngine();
      if (running != null && running.done.getCount() == 0) {
        // The engine ended on its own (an error): give the lease up so a standby may try, and
        // wait a little before trying again here.
        lastError = running.failure;
        failed(running.failure);
        stop();
        lease.release();
        backOff();
        return;
      }
      if (lease.epoch() >= 0) {
        if (!lease.renew()) {
          log.warn("CDC relay {} lost the lease of engine {}; stopping it", id, options.name());
          stop();
        } else if (running == null) {
          // Held without an engine (its start failed): a lease nobody publishes under would keep
          // the standby out for ever while lag reads zero. Give it up.
          lease.release();
          backOff();
        }
      } else if (open.getAsBoolean() && System.nanoTime() - backoffUntilNanos >= 0) {
        if (lease.tryAcquire()) {
          log.info(
              "CDC relay {} took the lease of engine {} (epoch {}); starting it",
              id,
              options.name(),
              lease.epoch());
          try {
            start(lease.epoch());
          } catch (RuntimeException e) {
            lastError = "The CDC engine could not start: " + e;
            failed(lastError);
            log.error(
                "CDC relay {} could not start engine {}; releasing its lease: {}",
                id,
                options.name(),
                e.toString());
            stop();
            lease.release();
            backOff();
          }
        }
      }
    } catch (SQLException | RuntimeException e) {
      lastError = e.toString();
      log.warn("CDC relay {} lease check failed: {}", id, e.toString());
      if (!lease.held()) {
        stop();
        lease.drop();
      }
    }
  }

  /**
   * Counts a run that ended on its own: in a row with the previous one when nothing was published,
   * parked or settled in between (the engine starts again from the same stored position), else as
   * the first of a new row. Logged with the count, and counted in {@code
   * outbox.cdc.engine.failures}.
   */
  private void failed(@Nullable String failure) {
    long progress = metrics.relay().progress();
    if (failuresInARow > 0 && progress == progressAtLastFailure) {
      failuresInARow++;
    } else {
      failuresInARow = 1;
      firstFailure = failure;
    }
    progressAtLastFailure = progress;
    metrics.engineFailed();
    if (failuresInARow > 1) {
      log.error(
          "CDC engine {} failed {} times in a row without progress; health turns DOWN after"
              + " outbox.relay.health.stall-timeout ({}) without progress: {}",
          options.name(),
          failuresInARow,
          settings.stallTimeout(),
          failure);
    }
  }

  private void backOff() {
    backoffUntilNanos = System.nanoTime() + settings.retryInitialInterval().toNanos() * 5;
  }

  private @Nullable Running currentEngine() {
    synchronized (engineLock) {
      return engine;
    }
  }

  private void start(long epoch) {
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
            settings.clock(),
            batches.deletesWithOffsets()));
    batches.engineStarting();
    endStaleSlotHolder();
    AtomicReference<Running> self = new AtomicReference<>();
    java.util.Properties config = CdcEngineConfig.of(settings, options, source, key);
    DebeziumEngine<RecordChangeEvent<SourceRecord>> built =
        DebeziumEngine.create(ChangeEventFormat.of(Connect.class))
            .using(config)
            .notifying(batches.forRun(() -> isCurrentAndLive(self.get())))
            .using(
                (success, message, error) -> {
                  Running r = self.get();
                  if (r != null) {
                    if (!success && !r.stopping) {
                      r.failure = ConnectorRefusals.explain(config, message, error);
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
    // An engine thread that dies of a throwable the engine lets through is an engine that ended:
    // the next tick gives the lease up and starts it again after a backoff, as for any failure.
    thread.setUncaughtExceptionHandler(
        (dead, error) -> {
          running.failure = "The CDC engine's thread died: " + error;
          log.error("CDC engine {} thread died", options.name(), error);
          running.done.countDown();
        });
    thread.start();
    metrics.engineStarted();
    metrics.relay().owned(settings.partitions());
  }

  /**
   * Ends the session of a deposed holder that still streams from this engine's replication slot (a
   * process frozen with the slot, which the server would keep for it until {@code
   * wal_sender_timeout}), where the source's change log has slots. Runs only right after this
   * instance took the lease, so the session it ends is never the lease holder's. As the CDC user,
   * who may end its own sessions; a failure only costs time (the engine retries the slot).
   */
  private void endStaleSlotHolder() {
    String sql = ChangeLogSource.of(source).endReplicationSlotHolderSql();
    if (sql == null) {
      return;
    }
    try (java.sql.Connection c = CdcPreflight.connect(options);
        java.sql.PreparedStatement s = c.prepareStatement(sql)) {
      s.setString(1, options.name());
      try (java.sql.ResultSet rs = s.executeQuery()) {
        while (rs.next()) {
          log.warn(
              "CDC relay {} ended the session that still held the replication slot of engine {}"
                  + " (a deposed holder, frozen or cut off)",
              id,
              options.name());
        }
      }
    } catch (SQLException | RuntimeException e) {
      log.warn(
          "CDC relay {} could not end a deposed holder's session on slot {}; the engine waits"
              + " for the slot: {}",
          id,
          options.name(),
          e.toString());
    }
  }

  /** Stops the engine, if one runs, waiting up to the shutdown timeout for its thread to end. */
  void stop() {
    Running running;
    synchronized (engineLock) {
      running = engine;
      engine = null;
    }
    metrics.relay().owned(0);
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

  private static void sleepQuietly(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
