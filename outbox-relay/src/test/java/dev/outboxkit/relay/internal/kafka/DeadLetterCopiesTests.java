package dev.outboxkit.relay.internal.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.outboxkit.outbox.OutboxEvent;
import dev.outboxkit.outbox.OutboxHeaders;
import dev.outboxkit.relay.internal.PendingEvent;
import dev.outboxkit.relay.internal.RelayMetrics;
import dev.outboxkit.relay.internal.delivery.DeliveryCore;
import dev.outboxkit.relay.internal.delivery.DeliveryOutcome;
import dev.outboxkit.relay.internal.delivery.KeyHolds;
import dev.outboxkit.relay.internal.delivery.PublishResult;
import dev.outboxkit.relay.internal.delivery.PublishResult.FailureKind;
import dev.outboxkit.relay.spi.TopicRouter;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.Callback;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Issue 19, finding 5: a dead-letter copy is sent while the publishing thread decides a batch. With
 * a missing dead-letter topic, kafka-clients' {@code send()} blocks up to {@code max.block.ms}
 * waiting for its metadata, and then fails with {@code TimeoutException("Topic … not present in
 * metadata after … ms.")}. Here the real {@link KafkaEventPublisher} and {@link DeliveryCore} run
 * over a {@link MockProducer} whose sends to the dead-letter topic block the same way until the
 * test lets them go.
 */
class DeadLetterCopiesTests {

  private static final String DLT = "outbox.dlt";
  private static final Instant NOW = Instant.parse("2026-12-01T10:00:00Z");

  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private final CountDownLatch metadata = new CountDownLatch(1);
  private final List<BlockingOnDeadLetters> created = new ArrayList<>();
  private volatile boolean dltMissing = true;
  private KafkaEventPublisher publisher;

  @AfterEach
  void close() {
    metadata.countDown();
    if (publisher != null) {
      publisher.close(Duration.ofSeconds(1));
    }
  }

  private DeliveryCore core() {
    publisher =
        new KafkaEventPublisher(
            Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, "127.0.0.1:1"),
            "dlt-test",
            Duration.ofSeconds(5),
            TopicRouter.prefixed("t."),
            false,
            Clock.systemUTC(),
            null,
            DLT,
            config -> {
              BlockingOnDeadLetters p = new BlockingOnDeadLetters();
              created.add(p);
              return p;
            });
    return new DeliveryCore(
        new DeliveryCore.Policy(
            3,
            DeliveryCore.Policy.backoff(Duration.ofSeconds(1), 2.0, Duration.ofSeconds(10)),
            DLT,
            Clock.systemUTC()),
        new KeyHolds(),
        CircuitBreaker.ofDefaults("dlt-test"),
        new RelayMetrics(registry, "outbox_event"),
        publisher);
  }

  private static PendingEvent event(long seq, String key) {
    return new PendingEvent(
        seq,
        new OutboxEvent(
            UUID.randomUUID(),
            "Payment",
            key,
            "Captured",
            "{}".getBytes(StandardCharsets.UTF_8),
            Map.of(),
            null,
            NOW,
            0),
        2,
        null);
  }

  private double failures() {
    Counter c = registry.find("outbox.deadletter.failures").counter();
    return c == null ? -1 : c.count();
  }

  @Test
  void decidingDoesNotWaitForTheDeadLetterCopy() throws Exception {
    DeliveryCore core = core();
    PendingEvent poison = event(1, "a");
    PendingEvent other = event(2, "b");

    CompletableFuture<DeliveryOutcome> decided =
        CompletableFuture.supplyAsync(
            () ->
                core.decide(
                    List.of(
                        new PublishResult.Failed(
                            poison, "RecordTooLargeException: big", FailureKind.PERMANENT),
                        new PublishResult.Failed(
                            other, "InvalidRecordException: bad", FailureKind.PERMANENT)),
                    1_000));

    // Before the fix decide() sent each copy and waited for it, holding the partitions.
    DeliveryOutcome outcome = decided.get(5, TimeUnit.SECONDS);
    assertThat(outcome.parked())
        .extracting(DeliveryOutcome.Failure::event)
        .containsExactly(poison, other);
    assertThat(metadata.getCount()).as("the copies are still waiting for metadata").isEqualTo(1);

    metadata.countDown();
    await()
        .atMost(Duration.ofSeconds(20))
        .untilAsserted(() -> assertThat(failures()).isEqualTo(2.0));
  }

  @Test
  void aCopyReachesTheDeadLetterTopicWithTheErrorAndTheOriginalTopic() {
    dltMissing = false;
    DeliveryCore core = core();
    PendingEvent poison = event(1, "a");

    core.decide(
        List.of(
            new PublishResult.Failed(
                poison, "RecordTooLargeException: big", FailureKind.PERMANENT)),
        1_000);

    await()
        .atMost(Duration.ofSeconds(20))
        .until(() -> created.stream().anyMatch(p -> !p.history().isEmpty()));
    ProducerRecord<byte[], byte[]> copy =
        created.stream()
            .filter(p -> !p.history().isEmpty())
            .findFirst()
            .orElseThrow()
            .history()
            .get(0);
    assertThat(copy.topic()).isEqualTo(DLT);
    assertThat(
            new String(
                copy.headers().lastHeader(OutboxHeaders.ERROR).value(), StandardCharsets.UTF_8))
        .isEqualTo("RecordTooLargeException: big");
    assertThat(
            new String(
                copy.headers().lastHeader(OutboxHeaders.ORIGINAL_TOPIC).value(),
                StandardCharsets.UTF_8))
        .isEqualTo("t.Payment");
    assertThat(failures()).isZero();
  }

  /**
   * A producer whose sends to the dead-letter topic wait for the topic's metadata like
   * kafka-clients does when the topic is missing ({@code max.block.ms}), then fail the same way.
   */
  private final class BlockingOnDeadLetters extends MockProducer<byte[], byte[]> {

    BlockingOnDeadLetters() {
      super(true, null, new ByteArraySerializer(), new ByteArraySerializer());
    }

    @Override
    public Future<RecordMetadata> send(ProducerRecord<byte[], byte[]> record, Callback callback) {
      if (DLT.equals(record.topic()) && dltMissing) {
        try {
          metadata.await(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        // an ApiException: KafkaProducer.doSend hands it to the callback and a failed future
        TimeoutException error =
            new TimeoutException("Topic " + DLT + " not present in metadata after 10000 ms.");
        if (callback != null) {
          callback.onCompletion(null, error);
        }
        return CompletableFuture.failedFuture(error);
      }
      return super.send(record, callback);
    }
  }
}
