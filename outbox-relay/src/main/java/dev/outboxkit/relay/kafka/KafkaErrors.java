package dev.outboxkit.relay.kafka;

import org.apache.kafka.common.InvalidRecordException;
import org.apache.kafka.common.errors.AuthenticationException;
import org.apache.kafka.common.errors.ClusterAuthorizationException;
import org.apache.kafka.common.errors.InvalidProducerEpochException;
import org.apache.kafka.common.errors.InvalidTopicException;
import org.apache.kafka.common.errors.OutOfOrderSequenceException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.RecordBatchTooLargeException;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.apache.kafka.common.errors.UnsupportedVersionException;

/**
 * Sorts producer errors. Permanent: retrying the same record cannot succeed, so the event is parked
 * at once. Everything else, including errors we do not know, is retried with backoff until the
 * attempts run out: a wrong "retriable" costs a few retries, a wrong "permanent" parks a good
 * event.
 */
final class KafkaErrors {

  private KafkaErrors() {}

  static boolean isPermanent(Throwable error) {
    Throwable e = unwrap(error);
    return e instanceof RecordTooLargeException
        || e instanceof RecordBatchTooLargeException
        || e instanceof InvalidTopicException
        || e instanceof InvalidRecordException
        || e instanceof SerializationException
        || e instanceof TopicAuthorizationException;
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
