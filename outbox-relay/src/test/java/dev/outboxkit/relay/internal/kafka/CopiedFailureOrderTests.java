package dev.outboxkit.relay.internal.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxkit.outbox.OutboxEvent;
import dev.outboxkit.relay.internal.PendingEvent;
import dev.outboxkit.relay.internal.delivery.PublishResult;
import dev.outboxkit.relay.internal.delivery.PublishResult.FailureKind;
import dev.outboxkit.relay.spi.TopicRouter;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Future;
import org.apache.kafka.clients.producer.Callback;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.InvalidRecordException;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Review of issue 19 ({@code TransactionalProducers.deferCopiedFailures}): in a transaction, the
 * record the broker refuses fails first, and kafka-clients then fails the batches still undrained
 * in its accumulator with that same error ({@code Sender} → {@code
 * abortUndrainedBatches(lastError)}). An undrained record is not necessarily a later one of the
 * outbox batch: a record handed over earlier, to another topic whose leader's connection is not
 * ready yet, is still in the accumulator when the refused record's response arrives. The copy is
 * then first in batch order, and choosing "first in batch order" as the one that failed on its own
 * parks the healthy event (PERMANENT) and defers the bad one.
 */
class CopiedFailureOrderTests {

  private static final String ERROR_STATE =
      "Cannot execute transactional method because we are in an error state";

  private final List<MockProducer<byte[], byte[]>> created = new ArrayList<>();
  private KafkaEventPublisher publisher;

  @AfterEach
  void close() {
    if (publisher != null) {
      publisher.close(Duration.ZERO);
    }
  }

  private static PendingEvent event(long seq, String type, String key) {
    return new PendingEvent(
        seq,
        new OutboxEvent(
            UUID.randomUUID(),
            type,
            key,
            "Happened",
            new byte[] {1, 2, 3},
            Map.of(),
            null,
            Instant.parse("2026-12-01T10:00:00Z"),
            3),
        0,
        null);
  }

  @Test
  void theHealthyRecordFailedWithACopyOfALaterRecordsErrorIsNotParked() {
    publisher =
        new KafkaEventPublisher(
            Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, "127.0.0.1:1"),
            "copied-failure-test",
            Duration.ofSeconds(5),
            TopicRouter.prefixed("t."),
            false,
            Clock.systemUTC(),
            "outbox",
            null,
            config -> {
              MockProducer<byte[], byte[]> p = new RefusesTheSecondTopic();
              created.add(p);
              return p;
            });
    // Same outbox partition (3), so one transaction; different topics (t.Order, t.Invoice).
    PendingEvent healthy = event(1, "Order", "o1");
    PendingEvent bad = event(2, "Invoice", "i1");

    List<PublishResult> results = publisher.send(List.of(healthy, bad)).await();

    assertThat(results.get(0))
        .as("the healthy record only carries a copy of the bad record's error")
        .satisfiesAnyOf(
            r -> assertThat(r).isEqualTo(new PublishResult.Deferred(healthy)),
            r ->
                assertThat(r)
                    .isInstanceOfSatisfying(
                        PublishResult.Failed.class,
                        f -> assertThat(f.kind()).isNotEqualTo(FailureKind.PERMANENT)));
    assertThat(results.get(1))
        .as("the record the broker refused fails on its own")
        .isInstanceOfSatisfying(
            PublishResult.Failed.class, f -> assertThat(f.kind()).isEqualTo(FailureKind.PERMANENT));
  }

  /**
   * Records to {@code t.Order} stay undrained (their leader not ready); the first record to {@code
   * t.Invoice} is refused by the broker: its callback gets the error first, then kafka-clients
   * fails the undrained records with the same error instance, and the commit is refused.
   */
  private static final class RefusesTheSecondTopic extends MockProducer<byte[], byte[]> {

    private final List<Callback> undrained = new ArrayList<>();
    private boolean aborted;

    RefusesTheSecondTopic() {
      super(true, null, new ByteArraySerializer(), new ByteArraySerializer());
    }

    @Override
    public synchronized Future<RecordMetadata> send(
        ProducerRecord<byte[], byte[]> record, Callback callback) {
      if (aborted) {
        return super.send(record, callback);
      }
      if (record.topic().equals("t.Order")) {
        undrained.add(callback);
        return new CompletableFuture<>();
      }
      InvalidRecordException error =
          new InvalidRecordException("One or more records have been rejected");
      commitTransactionException = new KafkaException(ERROR_STATE, error);
      callback.onCompletion(null, error);
      for (Callback waiting : undrained) {
        waiting.onCompletion(null, error);
      }
      undrained.clear();
      return CompletableFuture.failedFuture(error);
    }

    @Override
    public void abortTransaction() {
      super.abortTransaction();
      aborted = true;
      commitTransactionException = null;
    }
  }
}
