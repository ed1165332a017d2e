package dev.outboxkit.relay.internal.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxkit.outbox.OutboxEvent;
import dev.outboxkit.relay.internal.PendingEvent;
import dev.outboxkit.relay.internal.delivery.PublishResult;
import dev.outboxkit.relay.internal.delivery.PublishResult.FailureKind;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.apache.kafka.common.errors.TransactionAbortedException;
import org.junit.jupiter.api.Test;

class SendResultsTests {

  private static final Instant NOW = Instant.parse("2026-12-01T10:00:00Z");
  private static final Clock CLOCK = Clock.fixed(NOW, ZoneOffset.UTC);
  private static final PendingEvent PENDING =
      new PendingEvent(
          1,
          new OutboxEvent(
              UUID.randomUUID(), "Payment", "p-1", "Captured", null, Map.of(), null, NOW, 0),
          0,
          null);

  @Test
  void anAcknowledgementIsAckedAtTheClocksTime() {
    assertThat(SendResults.ofCallback(PENDING, null, CLOCK))
        .isEqualTo(new PublishResult.Acked(PENDING, NOW));
  }

  @Test
  void aRecordAbortedForAnotherOfItsTransactionIsDeferred() {
    assertThat(SendResults.ofCallback(PENDING, new TransactionAbortedException("x"), CLOCK))
        .isEqualTo(new PublishResult.Deferred(PENDING));
  }

  @Test
  void otherErrorsFailWithTheirKind() {
    assertThat(SendResults.ofCallback(PENDING, new RecordTooLargeException("big"), CLOCK))
        .isEqualTo(
            new PublishResult.Failed(
                PENDING, "RecordTooLargeException: big", FailureKind.PERMANENT));
    assertThat(SendResults.ofCallback(PENDING, new TimeoutException("slow"), CLOCK))
        .extracting(r -> ((PublishResult.Failed) r).kind())
        .isEqualTo(FailureKind.BROKER);
    assertThat(SendResults.ofCallback(PENDING, new TopicAuthorizationException("acl"), CLOCK))
        .extracting(r -> ((PublishResult.Failed) r).kind())
        .isEqualTo(FailureKind.ACCESS);
  }

  @Test
  void noAnswerInTimeIsARetriableBrokerFailure() {
    assertThat(SendResults.awaitOne(new CompletableFuture<>(), PENDING, 1))
        .isEqualTo(
            new PublishResult.Failed(
                PENDING, "No acknowledgement from the broker in time", FailureKind.BROKER));
  }

  @Test
  void aCompletedResultIsReturnedAsItIs() {
    PublishResult acked = new PublishResult.Acked(PENDING, NOW);
    assertThat(SendResults.awaitOne(CompletableFuture.completedFuture(acked), PENDING, 1))
        .isSameAs(acked);
  }
}
