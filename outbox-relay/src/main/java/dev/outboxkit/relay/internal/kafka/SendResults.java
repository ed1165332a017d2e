package dev.outboxkit.relay.internal.kafka;

import dev.outboxkit.relay.internal.PendingEvent;
import dev.outboxkit.relay.internal.delivery.PublishResult;
import dev.outboxkit.relay.internal.delivery.PublishResult.FailureKind;
import java.time.Clock;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.common.errors.TransactionAbortedException;
import org.jspecify.annotations.Nullable;

/**
 * How the producer's answers become {@link PublishResult}s, shared by plain and transactional sends
 * so both count the same: an acknowledgement is {@code Acked} at the clock's time, a record aborted
 * for another record of its transaction is {@code Deferred} (it did nothing wrong), any other error
 * is {@code Failed} with the kind {@link KafkaErrors#kind} gives it, and no answer in time is a
 * retriable broker failure.
 */
final class SendResults {

  private SendResults() {}

  /**
   * The result of one send, from the producer's callback ({@code error} null when acknowledged).
   */
  static PublishResult ofCallback(PendingEvent pending, @Nullable Exception error, Clock clock) {
    if (error == null) {
      return new PublishResult.Acked(pending, clock.instant());
    }
    // aborted because another record of its transaction failed
    return error instanceof TransactionAbortedException
        ? new PublishResult.Deferred(pending)
        : failed(pending, error);
  }

  /** A send that failed with {@code error}, counted by its kind. */
  static PublishResult.Failed failed(PendingEvent pending, Throwable error) {
    String text = KafkaErrors.describe(error);
    return new PublishResult.Failed(pending, text, KafkaErrors.kind(error));
  }

  /**
   * One send's result. After {@code flush()} (or the transaction's commit) every result is
   * complete, unless that was cut short; none in time counts as a retriable broker failure.
   */
  static PublishResult awaitOne(
      CompletableFuture<PublishResult> result, PendingEvent pending, long timeoutMillis) {
    try {
      return result.get(timeoutMillis, TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (ExecutionException | TimeoutException e) {
      // fall through: counted as a retriable failure
    }
    return new PublishResult.Failed(
        pending, "No acknowledgement from the broker in time", FailureKind.BROKER);
  }
}
