package dev.outboxkit.relay.kafka;

import dev.outboxkit.relay.delivery.PublishResult.FailureKind;
import org.apache.kafka.common.InvalidRecordException;
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
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.apache.kafka.common.errors.UnsupportedVersionException;

/**
 * Sorts producer errors into {@link FailureKind}s. Permanent: retrying the same record cannot
 * succeed, so the event is parked at once. Errors we do not know are retried until the attempts run
 * out: a wrong "retriable" costs a few retries, a wrong "permanent" parks a good event.
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
    if (e instanceof RecordTooLargeException
        || e instanceof RecordBatchTooLargeException
        || e instanceof InvalidTopicException
        || e instanceof InvalidRecordException
        || e instanceof SerializationException) {
      return FailureKind.PERMANENT;
    }
    if (e instanceof AuthenticationException || e instanceof AuthorizationException) {
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

  /** Errors after which the producer cannot be used any more; the relay builds a new one. */
  static boolean needsNewProducer(Throwable error) {
    Throwable e = unwrap(error);
    return e instanceof OutOfOrderSequenceException
        || e instanceof ProducerFencedException
        || e instanceof InvalidProducerEpochException
        || e instanceof ClusterAuthorizationException
        || e instanceof AuthenticationException
        || e instanceof UnsupportedVersionException
        || e instanceof IllegalStateException;
  }

  static String describe(Throwable error) {
    Throwable e = unwrap(error);
    return e.getClass().getSimpleName() + ": " + e.getMessage();
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
