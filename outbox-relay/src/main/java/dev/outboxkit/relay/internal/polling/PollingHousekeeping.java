package dev.outboxkit.relay.internal.polling;

import dev.outboxkit.relay.RelayDefaults;
import dev.outboxkit.relay.internal.Jdbc;
import dev.outboxkit.relay.internal.OutboxRows;
import dev.outboxkit.relay.internal.OutboxStats;
import dev.outboxkit.relay.internal.ParkedGauges;
import dev.outboxkit.relay.internal.RelayMetrics;
import dev.outboxkit.relay.internal.RelaySettings;
import dev.outboxkit.relay.internal.StallDetector;
import dev.outboxkit.relay.internal.ThreadDeaths;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import java.util.function.BooleanSupplier;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The polling relay's jobs besides publishing and leases: the backlog and lag gauges ({@link
 * OutboxStats#stats}) every metrics interval, and purging published events when they are kept for a
 * while. They run on a thread of their own: with millions of events pending (after a broker outage)
 * their queries take long, and the heartbeat must not wait behind them, or the leases lapse exactly
 * while the backlog drains.
 *
 * <p>Each measurement also feeds the {@link StallDetector}: a backlog waits; progress is an event
 * published or parked here, or the oldest pending event changing (another instance published it, so
 * an instance that owns nothing is not stalled while the others drain). A measurement that fails
 * sets the gauges to NaN, counts the failure and counts as waiting without progress: a relay that
 * cannot see its outbox for the stall timeout is DOWN, not frozen at its last good values.
 */
final class PollingHousekeeping {

  /** Logged under {@link PollingRelay}, as before it was split, so log settings keep working. */
  private static final Logger log = LoggerFactory.getLogger(PollingRelay.class);

  private final RelaySettings settings;
  private final Jdbc jdbc;
  private final OutboxStats stats;
  private final RelayMetrics metrics;
  private final BooleanSupplier publishing;
  private final StallDetector stall;
  private final ParkedGauges parked;
  private long oldestMark;
  private final Runnable checks;

  /**
   * @param publishing whether the relay is running and not paused (a paused relay is not stalled)
   */
  PollingHousekeeping(
      RelaySettings settings,
      Jdbc jdbc,
      OutboxRows rows,
      RelayMetrics metrics,
      BooleanSupplier publishing) {
    this(settings, jdbc, rows, metrics, publishing, () -> {});
  }

  /**
   * @param checks what else to run at every measurement: the read floor's catalog check (the
   *     trigger it needs may be dropped or disabled at run time)
   */
  PollingHousekeeping(
      RelaySettings settings,
      Jdbc jdbc,
      OutboxRows rows,
      RelayMetrics metrics,
      BooleanSupplier publishing,
      Runnable checks) {
    this.checks = checks;
    this.settings = settings;
    this.jdbc = jdbc;
    this.stats = new OutboxStats(rows.dialect(), settings.table());
    this.metrics = metrics;
    this.publishing = publishing;
    this.stall = new StallDetector(settings.clock(), settings.stallTimeout());
    this.parked = new ParkedGauges(stats, metrics, settings.clock(), ParkedGauges.INTERVAL);
  }

  /** Why the relay is stalled, or {@code null} (see {@link StallDetector#stalled}). */
  @Nullable String stalled() {
    return stall.stalled();
  }

  /**
   * Measures now and every metrics interval, and purges (if configured), on {@code thread}; a job
   * that ends by a throwable it does not handle is reported to {@code died}.
   */
  void schedule(ScheduledExecutorService thread, BiConsumer<Thread, Throwable> died) {
    long beat = settings.heartbeatInterval().toMillis();
    long measure = settings.metricsInterval().toMillis();
    thread.scheduleWithFixedDelay(
        ThreadDeaths.guard(this::measure, died), 0, measure, TimeUnit.MILLISECONDS);
    if (settings.keepPublishedFor() != null) {
      long purge = Math.max(beat, Math.min(60_000, settings.keepPublishedFor().toMillis() / 2));
      thread.scheduleWithFixedDelay(
          ThreadDeaths.guard(this::purgePublished, died), purge, purge, TimeUnit.MILLISECONDS);
    }
  }

  void measure() {
    checks.run(); // first: a failure of the measurements below must not skip it
    String waiting;
    long start = System.nanoTime();
    try {
      OutboxStats.Stats now = jdbc.autoCommit(stats::stats);
      Instant oldest = now.oldest();
      Duration lag =
          oldest == null ? Duration.ZERO : Duration.between(oldest, settings.clock().instant());
      metrics.outbox(now.backlog(), lag.isNegative() ? Duration.ZERO : lag);
      oldestMark = oldest == null ? 0 : oldest.toEpochMilli();
      waiting =
          now.backlog() == 0
              ? null
              : now.backlog()
                  + (now.backlog() == 1 ? " event waits" : " events wait")
                  + " in the outbox";
    } catch (SQLException | RuntimeException e) {
      metrics.measurementFailed();
      waiting = "the outbox could not be measured (" + e.getClass().getSimpleName() + ")";
      log.debug("Could not measure the outbox backlog", e);
    }
    metrics.backlogMeasured(start);
    stall.observe(publishing.getAsBoolean() ? waiting : null, 31 * metrics.progress() + oldestMark);
    parked.measureIfDue(jdbc);
  }

  private void purgePublished() {
    Duration retention = settings.keepPublishedFor();
    if (retention == null) {
      return;
    }
    Instant before = settings.clock().instant().minus(retention);
    try {
      for (int i = 0; i < 100; i++) {
        int deleted =
            jdbc.autoCommit(c -> stats.purgePublished(c, before, RelayDefaults.PURGE_BATCH_SIZE));
        if (deleted < RelayDefaults.PURGE_BATCH_SIZE) {
          break;
        }
      }
    } catch (SQLException | RuntimeException e) {
      log.warn("Could not purge published events: {}", e.toString());
    }
  }
}
