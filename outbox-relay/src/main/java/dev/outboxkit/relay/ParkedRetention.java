package dev.outboxkit.relay;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Deletes parked events older than a retention period, on a schedule, in bounded batches: each
 * batch is one short transaction that also writes its {@link AuditEntry.Operation#RETENTION_PURGE}
 * record naming the ids it deleted. Off unless configured ({@code outbox.relay.parked.retention}).
 *
 * <p>Age counts from the event's {@code created_at} (its append, or its last replay): the outbox
 * keeps no parking time. An event that spent long pending (held back behind its key, or retried for
 * days) before it was parked may therefore be purged soon after parking; choose a retention well
 * above the longest time an event can take to be parked, and alert on {@code outbox.events.dead} so
 * that operators look first.
 *
 * <p>Metrics: {@code outbox.parked.retention.purged} (events deleted) and {@code
 * outbox.parked.retention.failures} (runs that failed; the audit trail holds a FAILED record).
 *
 * @since 0.7
 */
public final class ParkedRetention implements AutoCloseable {

  /** Default time between runs. */
  public static final Duration DEFAULT_INTERVAL = Duration.ofHours(1);

  /** Default number of events deleted per transaction. */
  public static final int DEFAULT_BATCH_SIZE = 500;

  /** The most batches one run deletes; the rest waits for the next run. */
  public static final int MAX_BATCHES_PER_RUN = 200;

  private static final Logger log = LoggerFactory.getLogger(ParkedRetention.class);

  private final Supplier<ParkedEvents> parked;
  private final Duration retention;
  private final Duration interval;
  private final int batchSize;
  private final Clock clock;
  private final Counter purged;
  private final Counter failures;
  private final AtomicReference<@Nullable ScheduledExecutorService> scheduler =
      new AtomicReference<>();

  private ParkedRetention(
      Supplier<ParkedEvents> parked,
      Duration retention,
      Duration interval,
      int batchSize,
      Clock clock,
      MeterRegistry registry,
      String table) {
    this.parked = Objects.requireNonNull(parked, "parked");
    this.retention = positive("outbox.relay.parked.retention", retention, Duration.ofMinutes(1));
    this.interval = positive("outbox.relay.parked.check-interval", interval, Duration.ofSeconds(1));
    if (batchSize < 1 || batchSize > 10_000) {
      throw new IllegalArgumentException(
          "outbox.relay.parked.batch-size must be between 1 and 10000 but was " + batchSize);
    }
    this.batchSize = batchSize;
    this.clock = Objects.requireNonNull(clock, "clock");
    this.purged =
        Counter.builder("outbox.parked.retention.purged")
            .description("Parked events deleted by the retention purge")
            .tag("table", table)
            .register(registry);
    this.failures =
        Counter.builder("outbox.parked.retention.failures")
            .description("Retention purge runs that failed")
            .tag("table", table)
            .register(registry);
  }

  /**
   * A retention purge; nothing runs until {@link #start()}.
   *
   * @param parked the parked events, asked for at each run
   * @param retention how long parked events are kept, counted from their creation; at least 1
   *     minute
   * @param interval time between runs (default {@link #DEFAULT_INTERVAL}); at least 1 second
   * @param batchSize events per transaction, 1 to 10000 (default {@link #DEFAULT_BATCH_SIZE})
   * @param clock judges the age of events
   * @param registry receives the metrics
   * @param table the outbox table's name, the metrics' {@code table} tag
   * @throws IllegalArgumentException naming the property when a value is out of range
   */
  public static ParkedRetention of(
      Supplier<ParkedEvents> parked,
      Duration retention,
      Duration interval,
      int batchSize,
      Clock clock,
      MeterRegistry registry,
      String table) {
    return new ParkedRetention(parked, retention, interval, batchSize, clock, registry, table);
  }

  /**
   * Deletes the parked events older than the retention, batch by batch, at most {@link
   * #MAX_BATCHES_PER_RUN} batches. Runs on the caller's thread.
   *
   * @return how many events were deleted
   * @throws dev.outboxkit.outbox.OutboxStoreException when a batch fails (earlier batches stay
   *     deleted, each with its record)
   */
  public int runOnce() {
    ParkedEvents events = parked.get().as(AuditActor.RETENTION);
    int total = 0;
    for (int batch = 0; batch < MAX_BATCHES_PER_RUN; batch++) {
      int deleted = events.purgeCreatedBefore(clock.instant().minus(retention), batchSize);
      total += deleted;
      purged.increment(deleted);
      if (deleted < batchSize) {
        break;
      }
    }
    return total;
  }

  /** Starts the schedule on a daemon thread named {@code outboxkit-parked-retention}. */
  public void start() {
    ScheduledExecutorService executor =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread thread = new Thread(r, "outboxkit-parked-retention");
              thread.setDaemon(true);
              return thread;
            });
    if (!scheduler.compareAndSet(null, executor)) {
      executor.shutdown();
      return;
    }
    long first = Math.min(interval.toMillis(), Duration.ofMinutes(1).toMillis());
    executor.scheduleWithFixedDelay(this::run, first, interval.toMillis(), TimeUnit.MILLISECONDS);
  }

  private void run() {
    try {
      int deleted = runOnce();
      if (deleted > 0) {
        log.info("Retention purge deleted {} parked events older than {}", deleted, retention);
      }
    } catch (RuntimeException e) {
      failures.increment();
      log.warn("Retention purge of parked events failed; it runs again in {}", interval, e);
    } catch (Error e) {
      // Not carried on from: the executor ends the schedule. Counted and logged first, so the end
      // is seen (failures metric, ERROR line) instead of retention silently never running again.
      failures.increment();
      log.error(
          "Retention purge of parked events ended by an error; retention stops until a restart", e);
      throw e;
    }
  }

  /** Stops the schedule; a run in progress finishes its current batch. */
  @Override
  public void close() {
    ScheduledExecutorService executor = scheduler.getAndSet(null);
    if (executor != null) {
      executor.shutdown();
      try {
        if (!executor.awaitTermination(10, TimeUnit.SECONDS)) {
          executor.shutdownNow();
        }
      } catch (InterruptedException e) {
        executor.shutdownNow();
        Thread.currentThread().interrupt();
      }
    }
  }

  private static Duration positive(String property, Duration value, Duration minimum) {
    Objects.requireNonNull(value, property);
    if (value.compareTo(minimum) < 0) {
      throw new IllegalArgumentException(
          property + " must be at least " + minimum + " but was " + value);
    }
    return value;
  }
}
