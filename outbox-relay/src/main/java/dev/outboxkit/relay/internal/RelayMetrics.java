package dev.outboxkit.relay.internal;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.IntSupplier;
import org.jspecify.annotations.Nullable;

/**
 * The relay's meters. Their names are public contract (see docs/monitoring.md); the only tag is the
 * outbox table, plus {@code kind} on failures, so cardinality stays fixed.
 */
public final class RelayMetrics {

  private final MeterRegistry registry;
  private final List<Meter> meters = new ArrayList<>();
  private final String table;
  private final AtomicLong backlog = new AtomicLong(-1);
  private final AtomicLong lagMillis = new AtomicLong(-1);
  private final AtomicLong progress = new AtomicLong();
  private final AtomicInteger owned = new AtomicInteger();
  private final AtomicLong parkedCount = new AtomicLong(-1);
  private final AtomicLong oldestParkedMillis = new AtomicLong(-1);
  private final Timer latency;
  private final Counter published;
  private final Counter retriableFailures;
  private final Counter permanentFailures;
  private final Counter dead;
  private final Counter deadLetterFailures;
  private final DistributionSummary batchSize;
  private final Counter measurementFailures;
  private final Counter cleanupFailures;
  private final Timer backlogMeasurements;
  private final Timer parkedMeasurements;
  private final AtomicLong lastRenewalNanos = new AtomicLong();
  private volatile boolean renewedOnce;
  private @Nullable Timer heartbeatsSucceeded;
  private @Nullable Timer heartbeatsFailed;

  public RelayMetrics(MeterRegistry registry, String table) {
    this.registry = registry;
    this.table = table;
    Tags tags = Tags.of("table", table);
    meters.add(
        Gauge.builder("outbox.backlog", backlog, b -> b.get() < 0 ? Double.NaN : b.get())
            .tags(tags)
            .description("Pending events in the outbox")
            .baseUnit("events")
            .register(registry));
    meters.add(
        Gauge.builder("outbox.lag", lagMillis, l -> l.get() < 0 ? Double.NaN : l.get() / 1000.0)
            .tags(tags)
            .description(
                "Age of the oldest pending event; zero when none is pending; NaN when unknown")
            .baseUnit("seconds")
            .register(registry));
    meters.add(
        Gauge.builder("outbox.events.parked", parkedCount, b -> b.get() < 0 ? Double.NaN : b.get())
            .tags(tags)
            .description(
                "Parked events (status DEAD) waiting for an operator to replay or purge them; NaN"
                    + " when unknown")
            .register(registry));
    meters.add(
        Gauge.builder(
                "outbox.events.parked.oldest.age",
                oldestParkedMillis,
                l -> l.get() < 0 ? Double.NaN : l.get() / 1000.0)
            .tags(tags)
            .description(
                "Age of the oldest parked event (since its append); zero when none is parked; NaN"
                    + " when unknown")
            .baseUnit("seconds")
            .register(registry));
    meters.add(
        Gauge.builder("outbox.relay.partitions.owned", owned, AtomicInteger::get)
            .tags(tags)
            .description("Outbox partitions this relay instance holds leases on")
            .register(registry));
    latency =
        add(
            Timer.builder("outbox.delivery.latency")
                .tags(tags)
                .description("From appending an event to the broker's acknowledgement")
                .publishPercentiles(0.5, 0.95, 0.99)
                .publishPercentileHistogram()
                .minimumExpectedValue(Duration.ofMillis(1))
                .maximumExpectedValue(Duration.ofMinutes(10))
                .register(registry));
    published =
        add(
            Counter.builder("outbox.events.published")
                .tags(tags)
                .description("Events acknowledged by the broker")
                .register(registry));
    retriableFailures =
        add(
            Counter.builder("outbox.publish.failures")
                .tags(tags.and("kind", "retriable"))
                .description("Failed publish attempts")
                .register(registry));
    permanentFailures =
        add(
            Counter.builder("outbox.publish.failures")
                .tags(tags.and("kind", "permanent"))
                .description("Failed publish attempts")
                .register(registry));
    dead =
        add(
            Counter.builder("outbox.events.dead")
                .tags(tags)
                .description("Events parked after their last attempt or a permanent error")
                .register(registry));
    deadLetterFailures =
        add(
            Counter.builder("outbox.deadletter.failures")
                .tags(tags)
                .description(
                    "Copies of parked events that did not reach the dead-letter topic (the events"
                        + " stay parked in the outbox)")
                .register(registry));
    batchSize =
        add(
            DistributionSummary.builder("outbox.relay.batch.size")
                .tags(tags)
                .description("Events sent per batch")
                .register(registry));
    measurementFailures =
        add(
            Counter.builder("outbox.relay.measurement.failures")
                .tags(tags)
                .description(
                    "Backlog or lag measurements that failed; the gauges read NaN until one"
                        + " succeeds")
                .register(registry));
    backlogMeasurements = add(measurementTimer(tags.and("measured", "backlog")));
    parkedMeasurements = add(measurementTimer(tags.and("measured", "parked")));
    cleanupFailures =
        add(
            Counter.builder("outbox.relay.cleanup.failures")
                .tags(tags)
                .description(
                    "Published rows the CDC relay could not delete or mark published (refused or"
                        + " failed statement); they stay in the table, their events are not sent"
                        + " again")
                .baseUnit("rows")
                .register(registry));
  }

  private <M extends Meter> M add(M meter) {
    meters.add(meter);
    return meter;
  }

  public void delivered(Duration latency) {
    this.latency.record(latency.isNegative() ? Duration.ZERO : latency);
    published.increment();
    progress.incrementAndGet();
  }

  public void failed(boolean permanent) {
    (permanent ? permanentFailures : retriableFailures).increment();
  }

  public void parked() {
    dead.increment();
    progress.incrementAndGet();
  }

  /** Events this relay has parked since it started. */
  public long parkedHere() {
    return (long) dead.count();
  }

  /** Progress other than an event published or parked (CDC: a batch's position stored). */
  public void progressed() {
    progress.incrementAndGet();
  }

  /**
   * A number that grows with every event published or parked and every {@link #progressed}: the
   * progress mark of {@link StallDetector#observe}.
   */
  public long progress() {
    return progress.get();
  }

  /** A dead-letter copy that failed; called from the copying thread. */
  public void deadLetterFailed() {
    deadLetterFailures.increment();
  }

  /** Published rows whose delete (or mark) failed: they stay in the table. */
  public void cleanupFailed(int rows) {
    cleanupFailures.increment(rows);
  }

  public void batch(int size) {
    batchSize.record(size);
  }

  public void owned(int partitions) {
    owned.set(partitions);
  }

  /**
   * Sets the backlog and lag gauges.
   *
   * @param pending pending events, or -1 when unknown
   * @param lag the lag, or {@code null} when unknown (the gauge reads NaN, never a stale value)
   */
  public void outbox(long pending, @Nullable Duration lag) {
    backlog.set(pending);
    lagMillis.set(lag == null ? -1 : Math.max(0, lag.toMillis()));
  }

  /**
   * Sets the parked gauges.
   *
   * @param count parked events, or -1 when unknown
   * @param oldestAge the oldest parked event's age, zero when none is parked, {@code null} when
   *     unknown (the gauges read NaN, never a stale value)
   */
  public void parked(long count, @Nullable Duration oldestAge) {
    parkedCount.set(count);
    oldestParkedMillis.set(oldestAge == null ? -1 : Math.max(0, oldestAge.toMillis()));
  }

  /**
   * A measurement failed: the gauges read NaN (not the last value, which would look like a relay
   * that is fine) and the failure is counted.
   */
  public void measurementFailed() {
    outbox(-1, null);
    measurementFailures.increment();
  }

  public long backlog() {
    return backlog.get();
  }

  private Timer measurementTimer(Tags tags) {
    return Timer.builder("outbox.relay.measurements")
        .tags(tags)
        .description(
            "Duration of each measurement of the outbox for the gauges, failed ones included:"
                + " measured=backlog (backlog and lag, every metrics interval), measured=parked"
                + " (parked events, at most once a minute)")
        .register(registry);
  }

  /**
   * A measurement of the backlog and lag that began at {@code startNanos} ({@link System#nanoTime})
   * has ended now, successfully or not.
   */
  public void backlogMeasured(long startNanos) {
    backlogMeasurements.record(System.nanoTime() - startNanos, TimeUnit.NANOSECONDS);
  }

  /** A measurement of the parked events that began at {@code startNanos} has ended now. */
  public void parkedMeasured(long startNanos) {
    parkedMeasurements.record(System.nanoTime() - startNanos, TimeUnit.NANOSECONDS);
  }

  /** The lag at the last measurement, or {@code null} when unknown. */
  public @Nullable Duration lag() {
    long millis = lagMillis.get();
    return millis < 0 ? null : Duration.ofMillis(millis);
  }

  /**
   * Registers {@code outbox.relay.publish.threads}: the polling relay's publishing threads that
   * read now, as {@code active} reports them (fixed, or adapted to the backlog).
   */
  public void publishThreads(IntSupplier active) {
    meters.add(
        Gauge.builder("outbox.relay.publish.threads", active::getAsInt)
            .tags(Tags.of("table", table))
            .description("Publishing threads of this polling relay instance that read now")
            .register(registry));
  }

  /**
   * Registers the lease heartbeat meters: {@code outbox.relay.lease.heartbeats}, a timer of each
   * heartbeat's duration with tag {@code outcome} ({@code succeeded} or {@code failed}), and {@code
   * outbox.relay.lease.heartbeat.age}, the seconds since the last heartbeat that renewed the leases
   * began (NaN before the first, and in CDC while this instance holds no lease). Heartbeats run at
   * a fixed rate, so an age well above the heartbeat interval means late or failing heartbeats,
   * before the leases lapse.
   */
  public void leaseHeartbeats() {
    Tags tags = Tags.of("table", table);
    heartbeatsSucceeded = add(heartbeatTimer(tags.and("outcome", "succeeded")));
    heartbeatsFailed = add(heartbeatTimer(tags.and("outcome", "failed")));
    meters.add(
        Gauge.builder("outbox.relay.lease.heartbeat.age", this, RelayMetrics::heartbeatAgeSeconds)
            .tags(tags)
            .description(
                "Seconds since the last lease heartbeat that renewed this instance's leases began;"
                    + " NaN before the first (CDC: while this instance holds no lease)")
            .baseUnit("seconds")
            .register(registry));
  }

  private Timer heartbeatTimer(Tags tags) {
    return Timer.builder("outbox.relay.lease.heartbeats")
        .tags(tags)
        .description(
            "Duration of each lease heartbeat (polling: renew, read the leases, rebalance;"
                + " CDC: renew the engine's lease, or try to take it)")
        .register(registry);
  }

  private double heartbeatAgeSeconds() {
    return renewedOnce ? (System.nanoTime() - lastRenewalNanos.get()) / 1e9 : Double.NaN;
  }

  /**
   * A lease heartbeat that began at {@code startNanos} ({@link System#nanoTime}) has ended now,
   * {@code succeeded} or with an error. Ignored unless {@link #leaseHeartbeats} registered the
   * meters.
   */
  public void heartbeat(long startNanos, boolean succeeded) {
    Timer timer = succeeded ? heartbeatsSucceeded : heartbeatsFailed;
    if (timer != null) {
      timer.record(System.nanoTime() - startNanos, TimeUnit.NANOSECONDS);
    }
  }

  /** The heartbeat that began at {@code startNanos} renewed this instance's leases. */
  public void leasesRenewed(long startNanos) {
    lastRenewalNanos.set(startNanos);
    renewedOnce = true;
  }

  /**
   * This instance holds no lease (a CDC standby, or a CDC lease released or lost to another
   * instance): the heartbeat age is NaN until a heartbeat takes or renews one, so an instance with
   * nothing to renew never reads as late.
   */
  public void noLeaseHeld() {
    renewedOnce = false;
  }

  /** Removes this relay's meters, so a new relay on the same registry starts afresh. */
  public void close() {
    meters.forEach(registry::remove);
  }
}
