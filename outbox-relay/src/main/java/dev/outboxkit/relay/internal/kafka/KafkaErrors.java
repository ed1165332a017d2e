package dev.outboxkit.relay.internal.kafka;

import dev.outboxkit.relay.internal.delivery.PublishResult.FailureKind;
import org.apache.kafka.common.InvalidRecordException;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.AuthenticationException;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.ClusterAuthorizationException;
import org.apache.kafka.common.errors.DisconnectException;
import org.apache.kafka.common.errors.InvalidProducerEpochException;
import org.apache.kafka.common.errors.InvalidTopicException;
import org.apache.kafka.common.errors.OutOfOrderSequenceException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.RecordBatchTooLargeException;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.errors.RetriableException;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.errors.TransactionAbortableException;
import org.apache.kafka.common.errors.TransactionalIdAuthorizationException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.apache.kafka.common.errors.UnsupportedVersionException;

/**
 * Sorts producer errors into {@link FailureKind}s. Permanent: retrying the same record cannot
 * succeed, so the event is parked at once. Errors we do not know are retried until the attempts run
 * out: a wrong "retriable" costs a few retries, a wrong "permanent" parks a good event.
 *
 * <p><b>The producer's error state.</b> Once its transaction manager holds an error, {@code
 * KafkaProducer.send()} (and {@code beginTransaction()}, {@code commitTransaction()}) throw a plain
 * {@code KafkaException("Cannot execute transactional method because we are in an error state",
 * lastError)} (kafka-clients 4.2, {@code TransactionManager.maybeFailWithError}); fencing comes as
 * a fresh {@code ProducerFencedException}, an invalid transition as an {@code
 * IllegalStateException}. The cause is an earlier failure of the producer or of another record of
 * the transaction, never this event's: such an error is {@code ACCESS} when the cause is an
 * authentication or authorization error and {@code BROKER} otherwise, so it counts no attempt.
 */
final class KafkaErrors {

  private KafkaErrors() {}

  /**
   * How a producer error counts. Authentication and authorization errors are {@code ACCESS} (an ACL
   * roll-out must not park every event); Kafka's retriable errors (timeouts, no leader, not enough
   * replicas, disconnects) are {@code BROKER}, except an unknown topic, which is about the event.
   * Errors we do not know count as {@code EVENT}: retried, and parked after the attempts.
   */
  static FailureKind kind(Throwable error) {
    Throwable e = unwrap(error);
    if (inErrorState(e) || e instanceof IllegalStateException) {
      // about the producer (or another record of its transaction), never about this event
      Throwable cause = e.getCause() == null ? e : unwrap(e.getCause());
      return isAccess(cause) ? FailureKind.ACCESS : FailureKind.BROKER;
    }
    if (e instanceof RecordTooLargeException
        || e instanceof RecordBatchTooLargeException
        || e instanceof InvalidTopicException
        || e instanceof InvalidRecordException
        || e instanceof SerializationException) {
      return FailureKind.PERMANENT;
    }
    if (isAccess(e)) {
      return FailureKind.ACCESS;
    }
    if (e instanceof UnknownTopicOrPartitionException) {
      return FailureKind.EVENT;
    }
    if (e instanceof RetriableException || e instanceof DisconnectException) {
      return FailureKind.BROKER;
    }
    // Fencing and aborted transactions say nothing about the events: another instance took the
    // partition, or the coordinator aborted a transaction that outlived its timeout.
    if (e instanceof ProducerFencedException
        || e instanceof InvalidProducerEpochException
        || e instanceof TransactionAbortableException) {
      return FailureKind.BROKER;
    }
    return FailureKind.EVENT;
  }

  /**
   * Errors after which the producer cannot be used any more; the relay builds a new one. An error
   * state counts when its cause does (a fatal one: fencing, authorization, an unsupported version);
   * an abortable one is left to {@code abortTransaction()}, and in plain mode, which has no
   * abortable errors, {@link #inErrorState} alone calls for a new producer.
   */
  static boolean needsNewProducer(Throwable error) {
    Throwable e = unwrap(error);
    if (inErrorState(e)) {
      e = unwrap(e.getCause());
    }
    return e instanceof OutOfOrderSequenceException
        || e instanceof ProducerFencedException
        || e instanceof InvalidProducerEpochException
        || e instanceof ClusterAuthorizationException
        || e instanceof TransactionalIdAuthorizationException
        || e instanceof AuthenticationException
        || e instanceof UnsupportedVersionException
        || e instanceof IllegalStateException;
  }

  /**
   * Whether {@code error} is the producer's error-state exception: a plain {@code KafkaException}
   * (not one of its subclasses, which name a specific error) carrying the earlier error as its
   * cause. {@code MockProducer} reports fencing the same way.
   */
  static boolean inErrorState(Throwable error) {
    Throwable e = unwrap(error);
    return e.getClass() == KafkaException.class && e.getCause() instanceof KafkaException;
  }

  /** The error's class and message; for an error state, the cause's too (the real trouble). */
  static String describe(Throwable error) {
    Throwable e = unwrap(error);
    String text = e.getClass().getSimpleName() + ": " + e.getMessage();
    if (inErrorState(e)) {
      Throwable cause = unwrap(e.getCause());
      text += " (" + cause.getClass().getSimpleName() + ": " + cause.getMessage() + ")";
    }
    return text;
  }

  private static boolean isAccess(Throwable e) {
    return e instanceof AuthenticationException || e instanceof AuthorizationException;
  }

  private static Throwable unwrap(Throwable error) {
    Throwable e = error;
    while ((e instanceof java.util.concurrent.ExecutionException
            || e instanceof java.util.concurrent.CompletionException)
        && e.getCause() != null) {
      e = e.getCause();
    }
    return e;
  }
}
