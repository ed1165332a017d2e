package dev.outboxkit.relay.internal.cdc;

import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.relay.cdc.CdcOptions;
import dev.outboxkit.relay.internal.Jdbc;
import dev.outboxkit.relay.internal.OutboxStats;
import dev.outboxkit.relay.internal.ParkedGauges;
import dev.outboxkit.relay.internal.RelayMetrics;
import dev.outboxkit.relay.internal.RelaySettings;
import dev.outboxkit.relay.internal.StallDetector;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicLong;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The CDC relay's meters: the relay's common ones ({@link RelayMetrics}), and on PostgreSQL the WAL
 * its replication slot retains. Lag is the source lag: the age of the oldest change of the batch in
 * flight, or, when the reader has seen nothing (not even a heartbeat) for three heartbeat
 * intervals, the age of the last commit it saw. The lag is unknown (NaN, {@code null} in the
 * status), never zero, while no engine runs here or the engine has read nothing yet: a standby, or
 * an engine that fails at every start, has no lag to report. The batch handler reports what it
 * reads; a scheduled {@link #measure} turns that into gauges.
 *
 * <p>Each measurement also feeds the {@link StallDetector}. While the relay runs (not paused) the
 * change stream waits to be read; progress is an event published or parked here, a batch settled
 * here (heartbeats included, so an idle stream progresses once per engine heartbeat), or the state
 * row's {@code updated_at} moving: the active instance stored a position, which keeps a standby
 * behind a healthy holder UP. With offsets in Kafka that row is not written, so a standby takes a
 * renewed lease of another holder as progress instead. An engine that fails at every start moves
 * none of these, so every instance is stalled after the timeout.
 *
 * <p>{@link #close} takes every meter off the registry again: Micrometer hands a gauge registered
 * under the same name and tags back to the next relay on that registry, so meters left behind (by a
 * failed start, or a relay closed and replaced) would report a dead relay's values for good.
 */
final class CdcMetrics implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(CdcMetrics.class);

  private final RelayMetrics relay;
  private final MeterRegistry registry;
  private final CdcOptions options;
  private final Clock clock;
  private final AtomicLong slotLagBytes = new AtomicLong(-1);
  private final AtomicLong inFlightSince = new AtomicLong();
  private final AtomicLong lastSeenNanos = new AtomicLong();
  private final AtomicLong lastSeenCommitMillis = new AtomicLong();
  private volatile boolean readSinceStart;
  private final @Nullable Gauge slotGauge;
  private final Counter engineFailures;
  private final OutboxDialect dialect;
  private final StallDetector stall;
  private @Nullable ParkedGauges parked;
  // The prefix of this process's owner names in the state table (SessionLock.ownerName).
  private final String self;
  private long sharedMark;

  private CdcMetrics(
      RelaySettings settings,
      CdcOptions options,
      OutboxDialect dialect,
      RelayMetrics relay,
      boolean slotGauge) {
    this.relay = relay;
    this.dialect = dialect;
    this.stall = new StallDetector(settings.clock(), settings.stallTimeout());
    this.self = settings.instanceId() + "~";
    this.registry = settings.meterRegistry();
    this.options = options;
    this.clock = settings.clock();
    this.slotGauge =
        slotGauge
            ? Gauge.builder(
                    "outbox.cdc.slot.lag.bytes",
                    slotLagBytes,
                    v -> v.get() < 0 ? Double.NaN : v.get())
                .description("WAL the server retains for the relay's replication slot")
                .baseUnit("bytes")
                .tag("table", settings.table().name())
                .register(registry)
            : null;
    this.engineFailures =
        Counter.builder("outbox.cdc.engine.failures")
            .description(
                "CDC engine runs on this instance that ended in an error or could not start")
            .tag("table", settings.table().name())
            .register(registry);
  }

  /** Registers the meters of a relay on {@code dialect}; undone by {@link #close}. */
  static CdcMetrics register(RelaySettings settings, CdcOptions options, OutboxDialect dialect) {
    RelayMetrics relay = new RelayMetrics(settings.meterRegistry(), settings.table().name());
    try {
      relay.leaseHeartbeats();
      return new CdcMetrics(
          settings, options, dialect, relay, ChangeLogSource.of(dialect).replicationSlot());
    } catch (RuntimeException e) {
      relay.close();
      throw e;
    }
  }

  /** The meters shared with the delivery decisions and the row store. */
  RelayMetrics relay() {
    return relay;
  }

  /** An engine started: nothing in flight, and its silence is counted from now. */
  void engineStarted() {
    inFlightSince.set(0);
    readSinceStart = false;
    lastSeenNanos.set(System.nanoTime());
  }

  /** The reader handed over a batch (possibly of heartbeats only). */
  void batchRead() {
    lastSeenNanos.set(System.nanoTime());
    readSinceStart = true;
  }

  /** A change committed at {@code commitMillis} was read. */
  void commitSeen(long commitMillis) {
    if (commitMillis > 0) {
      lastSeenCommitMillis.set(commitMillis);
    }
  }

  /** Events are in flight; the oldest was committed at {@code oldestCommitMillis} (0: unknown). */
  void inFlight(long oldestCommitMillis) {
    inFlightSince.set(oldestCommitMillis > 0 ? oldestCommitMillis : clock.millis());
  }

  /** An engine run here ended in an error or could not start. */
  void engineFailed() {
    engineFailures.increment();
  }

  /** The batch in flight is settled and its position stored. */
  void settled() {
    inFlightSince.set(0);
    relay.progressed();
  }

  /** Why the relay is stalled, or {@code null} (see {@link StallDetector#stalled}). */
  @Nullable String stalled() {
    return stall.stalled();
  }

  /**
   * Updates the backlog, lag and slot gauges and judges progress; a database that cannot be reached
   * leaves the backlog unknown (NaN) and counts a measurement failure instead of failing the
   * schedule.
   *
   * @param engineRunning whether an engine runs here now (lag is known only then)
   * @param reading whether the relay is running and not paused (the stream waits to be read)
   * @param repeatedFailure why the engine keeps failing here, or {@code null} (for the reason)
   */
  void measure(
      Jdbc jdbc,
      OutboxStats stats,
      boolean engineRunning,
      boolean reading,
      @Nullable String repeatedFailure) {
    long now = clock.millis();
    long since = inFlightSince.get();
    // A standby, or an engine that could not start or has read nothing yet, has no lag to report:
    // unknown, never zero.
    @Nullable Duration lag = null;
    if (engineRunning && since > 0) {
      lag = Duration.ofMillis(Math.max(0, now - since));
    } else if (engineRunning
        && System.nanoTime() - lastSeenNanos.get() > options.heartbeatInterval().toNanos() * 3) {
      // Nothing read, not even a heartbeat, for three heartbeat intervals: the reader is stuck.
      long lastCommit = lastSeenCommitMillis.get();
      lag = lastCommit > 0 ? Duration.ofMillis(Math.max(0, now - lastCommit)) : null;
    } else if (engineRunning && readSinceStart) {
      lag = Duration.ZERO;
    }
    long backlog = -1;
    boolean failed = false;
    long start = System.nanoTime();
    try {
      backlog = jdbc.autoCommit(stats::backlog);
      sharedMark = jdbc.autoCommit(this::sharedProgress);
      if (slotGauge != null) {
        slotLagBytes.set(jdbc.autoCommit(this::retainedWal));
      }
    } catch (SQLException | RuntimeException e) {
      failed = true;
      log.debug("Could not measure the CDC relay", e);
    }
    relay.backlogMeasured(start);
    if (failed) {
      relay.measurementFailed();
    }
    relay.outbox(backlog, lag);
    String waiting =
        !reading
            ? null
            : "the change stream waits to be read ("
                + (engineRunning ? "engine running here" : "no engine runs here")
                + (repeatedFailure == null ? "" : "; " + repeatedFailure)
                + ")";
    stall.observe(waiting, 31 * relay.progress() + sharedMark);
    if (parked == null) {
      parked = new ParkedGauges(stats, relay, clock, ParkedGauges.INTERVAL);
    }
    parked.measureIfDue(jdbc);
  }

  /**
   * What moves in the state row when the active instance progresses: {@code updated_at}, written
   * with every stored position; with offsets in Kafka, the expiry of a lease another instance
   * renews.
   */
  private long sharedProgress(Connection c) throws SQLException {
    try (PreparedStatement s =
        c.prepareStatement(
            "SELECT updated_at, owner_id, expires_at FROM "
                + options.stateTable().qualifiedName()
                + " WHERE name = ?")) {
      s.setString(1, options.name());
      try (ResultSet rs = s.executeQuery()) {
        if (!rs.next()) {
          return 0;
        }
        Instant updated = dialect.getInstant(rs, "updated_at");
        long mark = updated == null ? 0 : updated.toEpochMilli();
        String holder = rs.getString("owner_id");
        // Another holder's renewals, never this instance's own: the holder judges itself by
        // what it publishes, and its heartbeat renews the lease while it is stuck on a batch.
        if (options.offsetsInKafka() != null && holder != null && !holder.startsWith(self)) {
          Instant expires = dialect.getInstant(rs, "expires_at");
          mark = 31 * mark + (expires == null ? 0 : expires.toEpochMilli());
        }
        return mark;
      }
    }
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

  /** Takes every meter of this relay off the registry. */
  @Override
  public void close() {
    relay.close();
    registry.remove(engineFailures);
    if (slotGauge != null) {
      registry.remove(slotGauge);
    }
  }
}
