package dev.outboxkit.relay.polling;

import dev.outboxkit.relay.internal.Jdbc;
import dev.outboxkit.relay.internal.OutboxRows;
import dev.outboxkit.relay.internal.OutboxRows.Failure;
import dev.outboxkit.relay.internal.PendingEvent;
import dev.outboxkit.relay.internal.RelayMetrics;
import dev.outboxkit.relay.internal.RelaySettings;
import dev.outboxkit.relay.kafka.KafkaEventPublisher;
import dev.outboxkit.relay.kafka.PublishResult;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.core.IntervalFunction;
import io.github.resilience4j.retry.Retry;
import io.github.resilience4j.retry.RetryConfig;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The publishing thread: read a batch of the owned partitions, send it, wait for the
 * acknowledgements, then mark it in bulk. Reading the next batch overlaps with waiting for the
 * broker; sending never does, so at most one batch is unacknowledged and a batch is sent only once
 * the previous one's failures have been recorded.
 *
 * <p>Waiting: a full batch is followed by the next at once; after an empty poll the wait starts at
 * the minimum poll interval and doubles up to the maximum, unless a wake-up signal ends it.
 */
final class PublishLoop implements Runnable {

  private static final Logger log = LoggerFactory.getLogger(PublishLoop.class);

  private final RelaySettings settings;
  private final Jdbc jdbc;
  private final OutboxRows rows;
  private final LeaseManager leases;
  private final RetryGate gate;
  private final KafkaEventPublisher publisher;
  private final RelayMetrics metrics;
  private final CircuitBreaker breaker;
  private final WakeUpSignal signal;
  private final BooleanSupplier running;
  private final BooleanSupplier paused;
  private final IntervalFunction backoff;
  private final Retry markRetry;

  private final int slot;
  private final int slots;
  private Duration idleWait;
  private volatile int consecutiveFailures;
  private volatile @Nullable String lastError;
  private volatile @Nullable Instant lastBatchAt;

  PublishLoop(
      RelaySettings settings,
      Jdbc jdbc,
      OutboxRows rows,
      LeaseManager leases,
      RetryGate gate,
      KafkaEventPublisher publisher,
      RelayMetrics metrics,
      CircuitBreaker breaker,
      WakeUpSignal signal,
      BooleanSupplier running,
      BooleanSupplier paused,
      int slot,
      int slots) {
    this.slot = slot;
    this.slots = slots;
    this.settings = settings;
    this.jdbc = jdbc;
    this.rows = rows;
    this.leases = leases;
    this.gate = gate;
    this.publisher = publisher;
    this.metrics = metrics;
    this.breaker = breaker;
    this.signal = signal;
    this.running = running;
    this.paused = paused;
    this.backoff =
        IntervalFunction.ofExponentialRandomBackoff(
            settings.retryInitialInterval(),
            settings.retryMultiplier(),
            0.2,
            settings.retryMaxInterval());
    this.markRetry =
        Retry.of(
            "outboxkit-relay-mark",
            RetryConfig.custom()
                .maxAttempts(5)
                .intervalFunction(IntervalFunction.ofExponentialBackoff(Duration.ofMillis(100), 2))
                .retryExceptions(SQLException.class)
                .build());
    this.idleWait = settings.minPollInterval();
  }

  int consecutiveFailures() {
    return consecutiveFailures;
  }

  @Nullable String lastError() {
    return lastError;
  }

  @Nullable Instant lastBatchAt() {
    return lastBatchAt;
  }

  /** A batch read from the outbox, its partitions marked in flight. */
  private record Read(List<PendingEvent> rows, Set<Integer> partitions, boolean more) {}

  /** A batch handed to the producer, awaiting acknowledgements. */
  private record InFlight(
      KafkaEventPublisher.Sending sending, Set<Integer> partitions, long started, boolean more) {}

  private @Nullable InFlight current;

  @Override
  public void run() {
    try {
      while (running.getAsBoolean()) {
        boolean more;
        try {
          more = step();
        } catch (SQLException | RuntimeException e) {
          lastError = e.toString();
          log.warn(
              "Outbox relay batch failed; retrying after {}: {}",
              settings.maxPollInterval(),
              e.toString());
          idleWait = settings.maxPollInterval();
          more = false;
        }
        if (!more && running.getAsBoolean()) {
          idle();
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      finishInFlight();
    }
  }

  /** On stop: the batch already handed to the producer is awaited and marked. */
  private void finishInFlight() {
    InFlight last = current;
    current = null;
    if (last != null) {
      try {
        complete(last);
      } catch (SQLException | RuntimeException e) {
        log.warn("Could not finish the last batch; its events are sent again: {}", e.toString());
      }
    }
  }

  private void idle() throws InterruptedException {
    if (signal.await(idleWait)) {
      idleWait = settings.minPollInterval();
    } else {
      Duration doubled = idleWait.multipliedBy(2);
      idleWait =
          doubled.compareTo(settings.maxPollInterval()) > 0 ? settings.maxPollInterval() : doubled;
    }
  }

  /**
   * One step of the pipeline; returns whether to go on without waiting. With a batch in flight, the
   * next batch is read while the broker acknowledges it (leaving the in-flight rows out), then the
   * in-flight batch is marked, and only then is the next one filtered by the {@link RetryGate} and
   * sent: a batch is never sent before the previous one's failures are known.
   */
  private boolean step() throws SQLException {
    InFlight done = current;
    if (done == null) {
      if (paused.getAsBoolean()) {
        return false;
      }
      if (!breaker.tryAcquirePermission()) {
        idleWait = settings.maxPollInterval();
        return false;
      }
      Read read = read(List.of());
      if (read == null) {
        breaker.releasePermission();
        return false;
      }
      current = send(read, true);
      return current != null;
    }
    current = null;
    Read next = null;
    // Read ahead only when the outbox has a backlog; otherwise completing first and then reading
    // fresh finds the same rows and keeps the cycle short, which is what latency needs.
    if (done.more() && !paused.getAsBoolean()) {
      try {
        next = read(done.sending().batch());
      } catch (SQLException | RuntimeException e) {
        log.debug("Could not read ahead; the next poll reads again", e);
      }
    }
    try {
      complete(done);
    } catch (SQLException | RuntimeException e) {
      if (next != null) {
        leases.endBatch(next.partitions());
      }
      throw e;
    }
    idleWait = settings.minPollInterval();
    if (next == null) {
      return done.more();
    }
    current = send(next, false);
    return current != null || next.more();
  }

  private @Nullable Read read(List<PendingEvent> inFlight) throws SQLException {
    Set<Integer> partitions = leases.beginBatch(slot, slots);
    if (partitions.isEmpty()) {
      return null;
    }
    try {
      Instant now = settings.clock().instant();
      int perPartition = Math.max(1, -Math.floorDiv(-settings.batchSize(), partitions.size()));
      Map<Integer, List<Long>> sent = new HashMap<>();
      for (PendingEvent event : inFlight) {
        sent.computeIfAbsent(event.partition(), p -> new ArrayList<>()).add(event.seq());
      }
      OutboxRows.Fetched fetched =
          jdbc.autoCommit(
              c -> rows.fetch(c, partitions, perPartition, gate.excluded(partitions, now), sent));
      if (fetched.rows().isEmpty()) {
        leases.endBatch(partitions);
        return null;
      }
      return new Read(fetched.rows(), partitions, fetched.more());
    } catch (SQLException | RuntimeException e) {
      leases.endBatch(partitions);
      throw e;
    }
  }

  private @Nullable InFlight send(Read read, boolean permitted) {
    List<PendingEvent> batch = gate.select(read.rows(), settings.clock().instant());
    boolean sendable = !batch.isEmpty() && leases.stillOwns(read.partitions());
    boolean permission = permitted || (sendable && breaker.tryAcquirePermission());
    if (!sendable || !permission) {
      if (permission) {
        breaker.releasePermission();
      } else if (sendable) {
        idleWait = settings.maxPollInterval();
      }
      leases.endBatch(read.partitions());
      return null;
    }
    return new InFlight(publisher.send(batch), read.partitions(), System.nanoTime(), read.more());
  }

  private void complete(InFlight batch) throws SQLException {
    try {
      record(publisher.await(batch.sending()), batch.started());
    } finally {
      leases.endBatch(batch.partitions());
    }
  }

  private void record(List<PublishResult> results, long started) throws SQLException {
    Instant now = settings.clock().instant();
    List<Long> acked = new ArrayList<>();
    List<Failure> failures = new ArrayList<>();
    List<PendingEvent> parked = new ArrayList<>();
    List<String> parkedErrors = new ArrayList<>();
    int brokerFailures = 0;
    String firstError = null;
    for (PublishResult result : results) {
      PendingEvent event = result.event();
      if (result instanceof PublishResult.Acked ack) {
        acked.add(event.seq());
        metrics.delivered(Duration.between(event.event().createdAt(), ack.at()));
        gate.clear(event);
      } else if (result instanceof PublishResult.Failed failed) {
        metrics.failed(failed.permanent());
        if (failed.reachedBroker() && !failed.permanent()) {
          brokerFailures++;
        }
        firstError = firstError == null ? failed.error() : firstError;
        int attempts = event.attempts() + 1;
        if (failed.permanent() || attempts >= settings.maxAttempts()) {
          failures.add(new Failure(event.seq(), attempts, null, failed.error()));
          parked.add(event);
          parkedErrors.add(failed.error());
          gate.clear(event);
        } else {
          Instant retryAt = now.plusMillis(backoff.apply(attempts));
          failures.add(new Failure(event.seq(), attempts, retryAt, failed.error()));
          gate.retryLater(event, retryAt);
        }
      }
    }
    metrics.batch(results.size());
    long elapsed = System.nanoTime() - started;
    if (brokerFailures > 0 && acked.isEmpty()) {
      breaker.onError(elapsed, TimeUnit.NANOSECONDS, new IllegalStateException(firstError));
    } else {
      breaker.onSuccess(elapsed, TimeUnit.NANOSECONDS);
    }
    consecutiveFailures = failures.isEmpty() ? 0 : consecutiveFailures + 1;
    if (firstError != null) {
      lastError = firstError;
      log.warn(
          "Outbox relay: {} of {} events failed to publish ({} parked); first error: {}",
          failures.size(),
          results.size(),
          parked.size(),
          firstError);
    }
    for (int i = 0; i < parked.size(); i++) {
      PendingEvent event = parked.get(i);
      log.error(
          "Parked outbox event {} (type {}, {} {}, seq {}) after {} attempt(s): {}",
          event.event().id(),
          event.event().eventType(),
          event.event().aggregateType(),
          event.key(),
          event.seq(),
          event.attempts() + 1,
          parkedErrors.get(i));
      if (settings.deadLetterTopic() != null) {
        publisher.sendDeadLetter(event, settings.deadLetterTopic(), parkedErrors.get(i));
      }
      metrics.parked();
    }
    mark(acked, failures, now);
    lastBatchAt = now;
  }

  private void mark(List<Long> acked, List<Failure> failures, Instant now) throws SQLException {
    Instant publishedAt = settings.keepPublishedFor() == null ? null : now;
    try {
      markRetry.executeCheckedSupplier(
          () ->
              jdbc.inTransaction(
                  c -> {
                    if (!acked.isEmpty()) {
                      rows.markPublished(c, acked, publishedAt);
                    }
                    if (!failures.isEmpty()) {
                      rows.recordFailures(c, failures);
                    }
                    return null;
                  }));
    } catch (SQLException | RuntimeException | Error e) {
      // The events stay pending and are sent again: a duplicate, never a loss.
      throw e;
    } catch (Throwable e) {
      throw new IllegalStateException(e);
    }
  }
}
