package dev.outboxkit.relay.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxkit.relay.delivery.PublishResult.FailureKind;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.common.errors.InvalidProducerEpochException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.apache.kafka.common.errors.TransactionAbortableException;
import org.junit.jupiter.api.Test;

/** How Kafka's errors count: only an event's own trouble counts towards parking it. */
class KafkaErrorsTests {

  /**
   * Review finding (delivery model): a producer fenced while beginning a transaction on the send
   * path counted an attempt for every event of the batch, like an event's own failure, although it
   * says nothing about the events (another instance took the partition, or the coordinator aborted
   * a transaction that outlived its timeout).
   */
  @Test
  void fencingAndAbortedTransactionsAreTheBrokersTroubleNotTheEvents() {
    assertThat(KafkaErrors.kind(new ProducerFencedException("fenced")))
        .isEqualTo(FailureKind.BROKER);
    assertThat(KafkaErrors.kind(new InvalidProducerEpochException("epoch")))
        .isEqualTo(FailureKind.BROKER);
    assertThat(KafkaErrors.kind(new TransactionAbortableException("abortable")))
        .isEqualTo(FailureKind.BROKER);
    assertThat(KafkaErrors.kind(new ExecutionException(new ProducerFencedException("wrapped"))))
        .isEqualTo(FailureKind.BROKER);
  }

  @Test
  void anAclRefusalIsAccess() {
    assertThat(KafkaErrors.kind(new TopicAuthorizationException("denied")))
        .isEqualTo(FailureKind.ACCESS);
  }
}
