package dev.outboxkit.relay.internal.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxkit.relay.internal.delivery.PublishResult.FailureKind;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.common.InvalidRecordException;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.ClusterAuthorizationException;
import org.apache.kafka.common.errors.InvalidProducerEpochException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.apache.kafka.common.errors.TransactionAbortableException;
import org.apache.kafka.common.errors.TransactionalIdAuthorizationException;
import org.junit.jupiter.api.Test;

/**
 * How Kafka's errors count: only an event's own trouble counts towards parking it.
 *
 * <p>The exceptions are built the way kafka-clients 4.2 builds them, not bare: once its transaction
 * manager holds an error, {@code KafkaProducer.send()} calls {@code
 * TransactionManager.maybeAddPartition}, whose {@code maybeFailWithError()} throws {@code new
 * KafkaException("Cannot execute transactional method because we are in an error state",
 * lastError)} for every error except fencing (a new {@code ProducerFencedException} or {@code
 * InvalidProducerEpochException}, handed to the callback because they are {@code ApiException}s)
 * and an {@code IllegalStateException}. {@code doSend()} rethrows that plain {@code KafkaException}
 * from {@code send()}; an idempotent producer without transactions goes the same way after a fatal
 * error ({@code ClusterAuthorizationException} on {@code InitProducerId}). A {@code Future.get()}
 * adds an {@code ExecutionException} around the callback's error.
 */
class KafkaErrorsTests {

  /** The message kafka-clients 4.2 gives the wrapper (TransactionManager.maybeFailWithError). */
  private static final String ERROR_STATE =
      "Cannot execute transactional method because we are in an error state";

  /**
   * Review finding (delivery model): a producer fenced while beginning a transaction on the send
   * path counted an attempt for every event of the batch, like an event's own failure, although it
   * says nothing about the events (another instance took the partition, or the coordinator aborted
   * a transaction that outlived its timeout).
   */
  @Test
  void fencingAndAbortedTransactionsAreTheBrokersTroubleNotTheEvents() {
    ProducerFencedException fenced =
        new ProducerFencedException(
            "Producer with transactionalId 'outbox-3' and ProducerIdAndEpoch(producerId=7,"
                + " epoch=2) has been fenced by another producer with the same transactionalId");
    assertThat(KafkaErrors.kind(fenced)).isEqualTo(FailureKind.BROKER);
    assertThat(KafkaErrors.kind(new ExecutionException(fenced))).isEqualTo(FailureKind.BROKER);
    assertThat(
            KafkaErrors.kind(
                new InvalidProducerEpochException(
                    "Producer with transactionalId 'outbox-3' and ProducerIdAndEpoch(producerId=7,"
                        + " epoch=2) attempted to produce with an old epoch")))
        .isEqualTo(FailureKind.BROKER);
    assertThat(KafkaErrors.kind(new TransactionAbortableException("abortable")))
        .isEqualTo(FailureKind.BROKER);
    // MockProducer wraps fencing like the error state
    assertThat(KafkaErrors.kind(new KafkaException("MockProducer is fenced.", fenced)))
        .isEqualTo(FailureKind.BROKER);
    assertThat(KafkaErrors.needsNewProducer(new ExecutionException(fenced))).isTrue();
  }

  @Test
  void anAclRefusalIsAccess() {
    TopicAuthorizationException denied =
        new TopicAuthorizationException("Not authorized to access topics: [payments]");
    assertThat(KafkaErrors.kind(denied)).isEqualTo(FailureKind.ACCESS);
    assertThat(KafkaErrors.kind(new ExecutionException(denied))).isEqualTo(FailureKind.ACCESS);
  }

  /**
   * Issue 19, finding 4 (plain mode): during an ACL roll-out the idempotent producer's {@code
   * InitProducerId} is refused, the producer goes to its fatal error state, and every later {@code
   * send()} throws the error-state wrapper. That is an access problem, not the event's; and the
   * producer can never leave that state, so it must be replaced.
   */
  @Test
  void theErrorStateAfterAClusterAuthorizationRefusalIsAccessAndNeedsANewProducer() {
    KafkaException errorState =
        new KafkaException(
            ERROR_STATE, new ClusterAuthorizationException("Cluster authorization failed."));

    assertThat(KafkaErrors.kind(errorState)).isEqualTo(FailureKind.ACCESS);
    assertThat(KafkaErrors.needsNewProducer(errorState)).isTrue();
    KafkaException transactionalId =
        new KafkaException(
            ERROR_STATE,
            new TransactionalIdAuthorizationException("Transactional Id authorization failed."));
    assertThat(KafkaErrors.kind(transactionalId)).isEqualTo(FailureKind.ACCESS);
    assertThat(KafkaErrors.needsNewProducer(transactionalId)).isTrue();
  }

  /**
   * Issue 19, finding 4 (fenced mode): one bad record puts its transaction in the abortable error
   * state, with the bad record's error as the cause of every later send's exception. Those later
   * events did nothing wrong: their failure is the transaction's (retried, no attempt counted),
   * never the bad record's kind (that would park them at once) nor the event's.
   */
  @Test
  void theErrorStateAfterAnotherRecordsErrorIsNeverTheEventsFault() {
    KafkaException afterBadRecord =
        new KafkaException(ERROR_STATE, new InvalidRecordException("Compacted topic needs a key"));
    KafkaException afterTooLarge =
        new KafkaException(ERROR_STATE, new RecordTooLargeException("too large"));
    KafkaException afterTimeout =
        new KafkaException(ERROR_STATE, new TimeoutException("Expiring 1 record(s)"));

    assertThat(KafkaErrors.kind(afterBadRecord)).isEqualTo(FailureKind.BROKER);
    assertThat(KafkaErrors.kind(afterTooLarge)).isEqualTo(FailureKind.BROKER);
    assertThat(KafkaErrors.kind(afterTimeout)).isEqualTo(FailureKind.BROKER);
    assertThat(KafkaErrors.kind(new ExecutionException(afterBadRecord)))
        .isEqualTo(FailureKind.BROKER);
    assertThat(KafkaErrors.describe(afterBadRecord))
        .isEqualTo(
            "KafkaException: "
                + ERROR_STATE
                + " (InvalidRecordException: Compacted topic needs a key)");
  }

  /** An error state that kafka-clients signals with an {@code IllegalStateException}. */
  @Test
  void theInvalidTransitionStateNeedsANewProducerAndIsNotTheEvents() {
    IllegalStateException invalidTransition =
        new IllegalStateException(
            "Producer with transactionalId 'outbox-3' and ProducerIdAndEpoch(producerId=7,"
                + " epoch=2) cannot execute transactional method because of previous invalid"
                + " state transition attempt",
            new IllegalStateException("Invalid transition attempted"));

    assertThat(KafkaErrors.needsNewProducer(invalidTransition)).isTrue();
    assertThat(KafkaErrors.kind(invalidTransition)).isEqualTo(FailureKind.BROKER);
  }

  @Test
  void anEventsOwnErrorStillCounts() {
    assertThat(KafkaErrors.kind(new ExecutionException(new RecordTooLargeException("big"))))
        .isEqualTo(FailureKind.PERMANENT);
    assertThat(KafkaErrors.kind(new KafkaException("unknown trouble")))
        .isEqualTo(FailureKind.EVENT);
  }
}
