package dev.outboxkit.relay.cdc;

import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.relay.internal.Jdbc;
import dev.outboxkit.relay.internal.OutboxStats;
import dev.outboxkit.relay.internal.RelayMetrics;
import dev.outboxkit.relay.internal.RelaySettings;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The CDC relay's meters: the relay's common ones ({@link RelayMetrics}), and on PostgreSQL the WAL
 * its replication slot retains. Lag is the source lag: the age of the oldest change of the batch in
 * flight, or, when the reader has seen nothing (not even a heartbeat) for three heartbeat
 * intervals, the age of the last commit it saw. The batch handler reports what it reads; a
 * scheduled {@link #measure} turns that into gauges.
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
  private final @Nullable Gauge slotGauge;

  private CdcMetrics(
      RelaySettings settings, CdcOptions options, RelayMetrics relay, boolean slotGauge) {
    this.relay = relay;
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
  }

  /** Registers the meters of a relay on {@code dialect}; undone by {@link #close}. */
  static CdcMetrics register(RelaySettings settings, CdcOptions options, OutboxDialect dialect) {
    RelayMetrics relay = new RelayMetrics(settings.meterRegistry(), settings.table().name());
    try {
      return new CdcMetrics(settings, options, relay, dialect.name().equals("postgresql"));
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
    lastSeenNanos.set(System.nanoTime());
  }

  /** The reader handed over a batch (possibly of heartbeats only). */
  void batchRead() {
    lastSeenNanos.set(System.nanoTime());
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

  /** The batch in flight is settled and its position stored. */
  void settled() {
    inFlightSince.set(0);
  }

  /**
   * Updates the backlog, lag and slot gauges; a database that cannot be reached leaves the backlog
   * unknown (NaN) instead of failing the schedule.
   *
   * @param engineRunning whether an engine runs here now (a silent reader counts as lag only then)
   */
  void measure(Jdbc jdbc, OutboxStats stats, boolean engineRunning) {
    long now = clock.millis();
    long since = inFlightSince.get();
    Duration lag = Duration.ZERO;
    if (since > 0) {
      lag = Duration.ofMillis(Math.max(0, now - since));
    } else if (engineRunning
        && System.nanoTime() - lastSeenNanos.get() > options.heartbeatInterval().toNanos() * 3
        && lastSeenCommitMillis.get() > 0) {
      // Nothing read, not even a heartbeat, for three heartbeat intervals: the reader is stuck.
      lag = Duration.ofMillis(Math.max(0, now - lastSeenCommitMillis.get()));
    }
    long backlog = -1;
    try {
      backlog = jdbc.autoCommit(stats::backlog);
      if (slotGauge != null) {
        slotLagBytes.set(jdbc.autoCommit(this::retainedWal));
      }
    } catch (SQLException | RuntimeException e) {
      log.debug("Could not measure the CDC relay", e);
    }
    relay.outbox(backlog, lag);
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
    if (slotGauge != null) {
      registry.remove(slotGauge);
    }
  }
}
