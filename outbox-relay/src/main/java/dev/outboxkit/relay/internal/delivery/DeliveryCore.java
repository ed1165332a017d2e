package dev.outboxkit.relay.internal.delivery;

import dev.outboxkit.relay.internal.PendingEvent;
import dev.outboxkit.relay.internal.RelayMetrics;
import dev.outboxkit.relay.internal.delivery.PublishResult.FailureKind;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.core.IntervalFunction;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Decides, for both relay modes, what becomes of each event after a send, and keeps the books:
 *
 * <ul>
 *   <li>acknowledged: delivered (latency recorded), its key released;
 *   <li>{@link FailureKind#PERMANENT}, or {@link FailureKind#EVENT} on the last attempt: parked,
 *       with a dead-letter copy when a topic is set (sent in the background, never awaited); an
 *       ERROR log names it;
 *   <li>{@link FailureKind#EVENT}: an attempt counted, retried after exponential backoff with
 *       jitter, its key held;
 *   <li>{@link FailureKind#BROKER} and {@link FailureKind#ACCESS}: retried after backoff, its key
 *       held, no attempt counted (a broker outage or an ACL change must not park healthy events);
 *       they feed the circuit breaker when nothing of the batch got through;
 *   <li>deferred: its key held, sent again at once. A batch of which every event was deferred
 *       reached no broker: it gives its breaker permission back instead of counting a success.
 * </ul>
 *
 * One instance per publishing thread; the {@link KeyHolds} and the breaker may be shared.
 */
public final class DeliveryCore {

  private static final Logger log = LoggerFactory.getLogger(DeliveryCore.class);

  /**
   * The decision parameters.
   *
   * @param maxAttempts counted attempts after which an event is parked
   * @param backoff the wait before retry {@code n} (1-based), jitter included
   * @param deadLetterTopic where parked events are copied, or {@code null}
   */
  public record Policy(
      int maxAttempts, IntervalFunction backoff, @Nullable String deadLetterTopic, Clock clock) {

    /** The relay's settings as decision parameters, the same for both modes. */
    public static Policy of(dev.outboxkit.relay.internal.RelaySettings settings) {
      return new Policy(
          settings.maxAttempts(),
          backoff(
              settings.retryInitialInterval(),
              settings.retryMultiplier(),
              settings.retryMaxInterval()),
          settings.deadLetterTopic(),
          settings.clock());
    }

    /** Exponential backoff with ±20 % jitter, as both modes use. */
    public static IntervalFunction backoff(Duration initial, double multiplier, Duration max) {
      return IntervalFunction.ofExponentialRandomBackoff(initial, multiplier, 0.2, max);
    }
  }

  private final Policy policy;
  private final KeyHolds holds;
  private final CircuitBreaker breaker;
  private final RelayMetrics metrics;
  private final BatchSender sender;
  private volatile int consecutiveFailures;
  private volatile @Nullable String lastError;
  private volatile @Nullable Instant lastBatchAt;

  public DeliveryCore(
      Policy policy,
      KeyHolds holds,
      CircuitBreaker breaker,
      RelayMetrics metrics,
      BatchSender sender) {
    this.policy = policy;
    this.holds = holds;
    this.breaker = breaker;
    this.metrics = metrics;
    this.sender = sender;
  }

  /** Now, by the relay's clock. */
  public Instant now() {
    return policy.clock().instant();
  }

  public KeyHolds holds() {
    return holds;
  }

  /** Asks the circuit breaker whether a batch may be sent; pair with a send or {@link #release}. */
  public boolean tryAcquire() {
    return breaker.tryAcquirePermission();
  }

  /** Gives back a permission that was not used for a send. */
  public void release() {
    breaker.releasePermission();
  }

  /** The events of {@code rows} to send now (see {@link KeyHolds#select}). */
  public List<PendingEvent> select(List<PendingEvent> rows) {
    return holds.select(rows, policy.clock().instant());
  }

  /**
   * The events of {@code rows}, read ahead by a read that began at {@code readWith} reloads of the
   * holds, to send now (see {@link KeyHolds#selectReadAhead}).
   */
  public List<PendingEvent> selectReadAhead(List<PendingEvent> rows, long readWith) {
    return holds.selectReadAhead(rows, policy.clock().instant(), readWith);
  }

  /**
   * Decides the outcome of a sent batch and updates the key holds, the breaker, the metrics and the
   * logs; parked events are handed to the dead-letter copy without waiting for it (a copy that
   * fails is logged at ERROR and counted in {@code outbox.deadletter.failures}).
   *
   * @param results one per event sent, in batch order
   * @param elapsedNanos how long the send took, for the breaker
   */
  public DeliveryOutcome decide(List<PublishResult> results, long elapsedNanos) {
    Instant now = policy.clock().instant();
    List<PendingEvent> acked = new ArrayList<>();
    List<DeliveryOutcome.Failure> retries = new ArrayList<>();
    List<DeliveryOutcome.Failure> parked = new ArrayList<>();
    List<PendingEvent> deferred = new ArrayList<>();
    boolean brokerTrouble = false;
    PublishResult.Failed first = null;
    for (PublishResult result : results) {
      PendingEvent event = result.event();
      if (result instanceof PublishResult.Acked ack) {
        acked.add(event);
        metrics.delivered(Duration.between(event.event().createdAt(), ack.at()));
        holds.acknowledged(event);
      } else if (result instanceof PublishResult.Failed failed) {
        metrics.failed(failed.permanent());
        first = first == null ? failed : first;
        boolean counts =
            failed.kind() == FailureKind.PERMANENT || failed.kind() == FailureKind.EVENT;
        brokerTrouble |= !counts;
        int attempts = event.attempts() + (counts ? 1 : 0);
        if (failed.permanent() || (counts && attempts >= policy.maxAttempts())) {
          parked.add(
              new DeliveryOutcome.Failure(event, Math.max(1, attempts), null, failed.error()));
          holds.parked(event);
        } else {
          Instant due = now.plusMillis(policy.backoff().apply(Math.max(1, attempts)));
          retries.add(new DeliveryOutcome.Failure(event, attempts, due, failed.error()));
          holds.retryLater(event, due);
        }
      } else {
        deferred.add(event);
        holds.deferred(event, now);
      }
    }
    metrics.batch(results.size());
    if (brokerTrouble && acked.isEmpty()) {
      breaker.onError(elapsedNanos, TimeUnit.NANOSECONDS, new IllegalStateException(first.error()));
    } else if (acked.isEmpty() && first == null) {
      // Nothing was handed over (every event deferred: the send window closed before the first):
      // nothing proves the broker works, and a half-open breaker's trial must not close it.
      breaker.releasePermission();
    } else {
      breaker.onSuccess(elapsedNanos, TimeUnit.NANOSECONDS);
    }
    boolean failures = first != null;
    if (failures) {
      consecutiveFailures++;
    } else if (!acked.isEmpty() || deferred.isEmpty()) {
      // A batch of which nothing was handed over (all deferred) proves nothing: the streak stays.
      consecutiveFailures = 0;
    }
    lastBatchAt = now;
    if (failures) {
      lastError = first.error();
      if (first.kind() == FailureKind.ACCESS) {
        log.error(
            "Outbox relay: Kafka refused access ({}); check the relay's credentials and ACLs."
                + " Events wait and are retried; none is parked for this.",
            first.error());
      } else {
        log.warn(
            "Outbox relay: {} of {} events failed to publish ({} parked, {} deferred); first"
                + " error: {}",
            retries.size() + parked.size(),
            results.size(),
            parked.size(),
            deferred.size(),
            first.error());
      }
    }
    for (DeliveryOutcome.Failure failure : parked) {
      park(failure);
    }
    return new DeliveryOutcome(acked, retries, parked, deferred);
  }

  private void park(DeliveryOutcome.Failure failure) {
    PendingEvent event = failure.event();
    log.error(
        "Parked outbox event {} (type {}, {} {}, seq {}) after {} attempt(s): {}",
        event.event().id(),
        event.event().eventType(),
        event.event().aggregateType(),
        event.key(),
        event.seq(),
        failure.attempts(),
        failure.error());
    String topic = policy.deadLetterTopic();
    if (topic != null) {
      // Not awaited: the row is parked (DEAD) whatever becomes of the copy, and waiting would
      // hold the batch's partitions while a copy waits for the broker.
      sender
          .copyToDeadLetter(event, topic, failure.error())
          .whenComplete(
              (ok, error) -> {
                if (error != null) {
                  metrics.deadLetterFailed();
                  log.error(
                      "Could not copy parked outbox event {} to dead-letter topic {}: {}. The"
                          + " event stays parked in the outbox; list or replay it there.",
                      event.event().id(),
                      topic,
                      error.getMessage());
                }
              });
    }
    // Not counted here: the store counts it once the row is DEAD in the table (see
    // RelayMetrics#parked), or the parked gauges could count before the commit and miss it.
  }

  /** Batches in a row with at least one failure. */
  public int consecutiveFailures() {
    return consecutiveFailures;
  }

  public @Nullable String lastError() {
    return lastError;
  }

  /** Records an error outside a send (a failed read or mark), for the relay's status. */
  public void noteError(String error) {
    lastError = error;
  }

  public @Nullable Instant lastBatchAt() {
    return lastBatchAt;
  }

  public String breakerState() {
    return breaker.getState().name();
  }
}
