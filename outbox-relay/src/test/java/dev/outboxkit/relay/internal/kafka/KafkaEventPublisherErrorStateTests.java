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
import java.util.function.Supplier;
import org.apache.kafka.clients.producer.Callback;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.InvalidRecordException;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.ClusterAuthorizationException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Issue 19, finding 4: the real {@link KafkaEventPublisher} (and {@link TransactionalProducers})
 * over Kafka's {@link MockProducer}, driven into the error state the way kafka-clients 4.2 gets
 * there: {@code send()} then throws {@code KafkaException("Cannot execute transactional method
 * because we are in an error state", lastError)} (see {@link KafkaErrorsTests}). Healthy events
 * must not count an attempt for it, and the producer must come back without a restart.
 */
class KafkaEventPublisherErrorStateTests {

  private static final String ERROR_STATE =
      "Cannot execute transactional method because we are in an error state";
  private static final Instant NOW = Instant.parse("2026-12-01T10:00:00Z");

  private final List<MockProducer<byte[], byte[]>> created = new ArrayList<>();
  private KafkaEventPublisher publisher;

  @AfterEach
  void close() {
    if (publisher != null) {
      publisher.close(Duration.ZERO);
    }
  }

  private static PendingEvent event(long seq, String key, int partition) {
    return new PendingEvent(
        seq,
        new OutboxEvent(
            UUID.randomUUID(),
            "Payment",
            key,
            "Captured",
            new byte[] {1, 2, 3},
            Map.of(),
            null,
            NOW,
            partition),
        0,
        null);
  }

  private KafkaEventPublisher publisher(
      String transactionalIdPrefix, Supplier<MockProducer<byte[], byte[]>> next) {
    return new KafkaEventPublisher(
        Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, "127.0.0.1:1"),
        "error-state-test",
        Duration.ofSeconds(5),
        TopicRouter.prefixed("t."),
        false,
        Clock.systemUTC(),
        transactionalIdPrefix,
        null,
        config -> {
          MockProducer<byte[], byte[]> p = next.get();
          created.add(p);
          return p;
        });
  }

  private static MockProducer<byte[], byte[]> healthy() {
    return new MockProducer<>(true, null, new ByteArraySerializer(), new ByteArraySerializer());
  }

  /**
   * Plain mode: {@code ClusterAuthorizationException} on {@code InitProducerId} during an ACL
   * roll-out. Before the fix every event failed as {@code EVENT} (an attempt counted, parked after
   * the attempts) and the producer was kept, so nothing moved until a restart.
   */
  @Test
  void aFatalErrorStateCountsNoAttemptAndTheNextBatchGoesThroughANewProducer() {
    publisher =
        publisher(
            null,
            () -> {
              MockProducer<byte[], byte[]> p = healthy();
              if (created.isEmpty()) {
                p.sendException =
                    new KafkaException(
                        ERROR_STATE,
                        new ClusterAuthorizationException("Cluster authorization failed."));
              }
              return p;
            });
    PendingEvent a = event(1, "a", 0);
    PendingEvent b = event(2, "b", 0);

    List<PublishResult> refused = publisher.send(List.of(a, b)).await();

    assertThat(refused.get(0))
        .isInstanceOfSatisfying(
            PublishResult.Failed.class, f -> assertThat(f.kind()).isEqualTo(FailureKind.ACCESS));
    assertThat(refused.get(1)).isEqualTo(new PublishResult.Deferred(b));
    assertThat(created.get(0).closed()).as("the producer in error state is closed").isTrue();

    List<PublishResult> retried = publisher.send(List.of(a, b)).await();

    assertThat(retried).allMatch(r -> r instanceof PublishResult.Acked);
    assertThat(created).hasSize(2);
    assertThat(created.get(1).history()).hasSize(2);
  }

  /**
   * Fenced mode: one bad record puts its partition's transaction in the abortable error state; the
   * next record of another key in that partition is refused by {@code send()} with the error-state
   * exception whose cause is the bad record's error. Before the fix that healthy event failed as
   * {@code EVENT} (an attempt counted). Now: only the bad record fails on its own, the healthy one
   * is retried without an attempt, the transaction is aborted (not committed) and the same producer
   * carries the retry.
   */
  @Test
  void oneBadRecordPoisonsNoHealthyEventOfItsTransaction() {
    publisher = publisher("outbox", PoisonedByFirstRecord::new);
    PendingEvent bad = event(1, "a", 3);
    PendingEvent healthy = event(2, "b", 3);

    List<PublishResult> first = publisher.send(List.of(bad, healthy)).await();

    assertThat(first.get(0))
        .isInstanceOfSatisfying(
            PublishResult.Failed.class, f -> assertThat(f.kind()).isEqualTo(FailureKind.PERMANENT));
    assertThat(first.get(1))
        .satisfiesAnyOf(
            r -> assertThat(r).isEqualTo(new PublishResult.Deferred(healthy)),
            r ->
                assertThat(r)
                    .isInstanceOfSatisfying(
                        PublishResult.Failed.class,
                        f -> assertThat(f.kind()).isEqualTo(FailureKind.BROKER)));
    MockProducer<byte[], byte[]> producer = created.get(0);
    assertThat(producer.transactionAborted()).as("the poisoned transaction is aborted").isTrue();
    assertThat(producer.transactionCommitted()).isFalse();

    List<PublishResult> retried = publisher.send(List.of(healthy)).await();

    assertThat(retried.get(0)).isInstanceOf(PublishResult.Acked.class);
    assertThat(created).as("an abortable error keeps the producer").hasSize(1);
    assertThat(producer.history()).hasSize(1);
  }

  /**
   * Fenced mode: the healthy record was already in the producer's buffer when the bad one failed.
   * kafka-clients then fails it with the bad record's own error ({@code Sender} aborts undrained
   * batches with {@code lastError}), so its callback says {@code InvalidRecordException} too.
   * Before the fix it was parked at once (PERMANENT) for another event's fault.
   */
  @Test
  void aHealthyRecordAbortedWithTheBadRecordsErrorIsNotParked() {
    publisher = publisher("outbox", FailsUndrainedWithTheFirstError::new);
    PendingEvent bad = event(1, "a", 3);
    PendingEvent healthy = event(2, "b", 3);

    List<PublishResult> first = publisher.send(List.of(bad, healthy)).await();

    assertThat(first.get(0))
        .isInstanceOfSatisfying(
            PublishResult.Failed.class, f -> assertThat(f.kind()).isEqualTo(FailureKind.PERMANENT));
    assertThat(first.get(1)).isEqualTo(new PublishResult.Deferred(healthy));
    assertThat(publisher.send(List.of(healthy)).await().get(0))
        .isInstanceOf(PublishResult.Acked.class);
  }

  /**
   * Fenced mode, fatal error state ({@code beginTransaction()} refused after a transactional-id ACL
   * was revoked): no attempt counted, and the partition's producer is replaced.
   */
  @Test
  void aFatalErrorStateInFencedModeReplacesThePartitionsProducer() {
    publisher =
        publisher(
            "outbox",
            () -> {
              MockProducer<byte[], byte[]> p = healthy();
              if (created.isEmpty()) {
                p.beginTransactionException =
                    new KafkaException(
                        ERROR_STATE,
                        new ClusterAuthorizationException("Cluster authorization failed."));
              }
              return p;
            });
    PendingEvent a = event(1, "a", 5);

    List<PublishResult> refused = publisher.send(List.of(a)).await();

    assertThat(refused.get(0))
        .isInstanceOfSatisfying(
            PublishResult.Failed.class, f -> assertThat(f.kind()).isEqualTo(FailureKind.ACCESS));
    assertThat(created.get(0).closed()).isTrue();
    assertThat(publisher.send(List.of(a)).await().get(0)).isInstanceOf(PublishResult.Acked.class);
    assertThat(created).hasSize(2);
  }

  /**
   * Issue 19, finding 8 (found by the strengthened zombie test): a relay paused in the middle of
   * handing a batch over went on with the rest when it woke, its leases gone. The leases are now
   * asked before each event; once they say no, the rest is deferred and never reaches the producer.
   */
  @Test
  void aHandOverStopsOnceTheLeasesAreNoLongerTrusted() {
    publisher = publisher(null, KafkaEventPublisherErrorStateTests::healthy);
    PendingEvent a = event(1, "a", 0);
    PendingEvent b = event(2, "b", 1);
    PendingEvent c = event(3, "c", 2);
    java.util.concurrent.atomic.AtomicInteger asked =
        new java.util.concurrent.atomic.AtomicInteger();

    List<PublishResult> results =
        publisher.send(List.of(a, b, c), () -> asked.incrementAndGet() == 1).await();

    assertThat(results.get(0)).isInstanceOf(PublishResult.Acked.class);
    assertThat(results.subList(1, 3))
        .containsExactly(new PublishResult.Deferred(b), new PublishResult.Deferred(c));
    assertThat(created.get(0).history()).hasSize(1);
  }

  /**
   * The first transaction's records all fail with the first record's error, one instance, as
   * kafka-clients fails undrained batches after an abortable error; its commit is refused.
   */
  private static final class FailsUndrainedWithTheFirstError extends MockProducer<byte[], byte[]> {

    private InvalidRecordException error;
    private boolean aborted;

    FailsUndrainedWithTheFirstError() {
      super(true, null, new ByteArraySerializer(), new ByteArraySerializer());
    }

    @Override
    public synchronized Future<RecordMetadata> send(
        ProducerRecord<byte[], byte[]> record, Callback callback) {
      if (aborted) {
        return super.send(record, callback);
      }
      if (error == null) {
        error = new InvalidRecordException("One or more records have been rejected");
        commitTransactionException = new KafkaException(ERROR_STATE, error);
      }
      callback.onCompletion(null, error);
      return CompletableFuture.failedFuture(error);
    }

    @Override
    public void abortTransaction() {
      super.abortTransaction();
      aborted = true;
      commitTransactionException = null;
    }
  }

  /**
   * What kafka-clients does after a record the broker refuses in a transaction: its callback gets
   * the record's error, the transaction manager moves to the abortable error state, and every later
   * {@code send()} and the commit throw the error-state exception until {@code abortTransaction()}
   * brings it back to ready.
   */
  private static final class PoisonedByFirstRecord extends MockProducer<byte[], byte[]> {

    private boolean poisoned;

    PoisonedByFirstRecord() {
      super(true, null, new ByteArraySerializer(), new ByteArraySerializer());
    }

    @Override
    public synchronized Future<RecordMetadata> send(
        ProducerRecord<byte[], byte[]> record, Callback callback) {
      if (!poisoned) {
        poisoned = true;
        InvalidRecordException error =
            new InvalidRecordException("One or more records have been rejected");
        KafkaException errorState = new KafkaException(ERROR_STATE, error);
        sendException = errorState;
        commitTransactionException = errorState;
        callback.onCompletion(null, error);
        return CompletableFuture.failedFuture(error);
      }
      return super.send(record, callback);
    }

    @Override
    public void abortTransaction() {
      super.abortTransaction();
      sendException = null;
      commitTransactionException = null;
    }
  }
}
