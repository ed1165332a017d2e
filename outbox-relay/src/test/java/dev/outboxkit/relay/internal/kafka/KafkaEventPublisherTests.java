package dev.outboxkit.relay.internal.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.outboxkit.outbox.OutboxEvent;
import dev.outboxkit.relay.internal.PendingEvent;
import dev.outboxkit.relay.internal.delivery.BatchSender;
import dev.outboxkit.relay.internal.delivery.PublishResult;
import dev.outboxkit.relay.internal.delivery.PublishResult.FailureKind;
import dev.outboxkit.relay.spi.TopicRouter;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.junit.jupiter.api.Test;

/**
 * What the publisher decides before a record reaches a broker: no broker runs here (the bootstrap
 * address is a closed port), so every case is one the producer never sees. Sending to a real broker
 * is covered by the relays' integration tests.
 */
class KafkaEventPublisherTests {

  private static final Instant NOW = Instant.parse("2026-12-01T10:00:00Z");
  private static final Map<String, Object> NO_BROKER =
      Map.of(
          ProducerConfig.BOOTSTRAP_SERVERS_CONFIG,
          "127.0.0.1:1",
          ProducerConfig.MAX_REQUEST_SIZE_CONFIG,
          1000);

  private static PendingEvent event(long seq, String key, int payloadBytes) {
    return new PendingEvent(
        seq,
        new OutboxEvent(
            UUID.randomUUID(),
            "Payment",
            key,
            "Captured",
            new byte[payloadBytes],
            Map.of(),
            null,
            NOW,
            0),
        0,
        null);
  }

  private static KafkaEventPublisher publisher(Map<String, Object> properties, TopicRouter router) {
    return new KafkaEventPublisher(
        properties,
        "publisher-test",
        Duration.ofSeconds(5),
        router,
        false,
        Clock.systemUTC(),
        null,
        null);
  }

  @Test
  void anOversizedRecordIsParkedAtOnceAndHoldsBackTheLaterEventsOfItsKey() {
    KafkaEventPublisher publisher = publisher(NO_BROKER, TopicRouter.prefixed("t."));
    try {
      PendingEvent big = event(1, "a", 2000);
      PendingEvent next = event(2, "a", 10);

      List<PublishResult> results = publisher.send(List.of(big, next)).await();

      assertThat(results).hasSize(2);
      assertThat(results.get(0))
          .isInstanceOfSatisfying(
              PublishResult.Failed.class,
              f -> {
                assertThat(f.kind()).isEqualTo(FailureKind.PERMANENT);
                assertThat(f.error())
                    .startsWith("RecordTooLargeException")
                    .contains("max.request.size of 1000");
              });
      assertThat(results.get(1)).isEqualTo(new PublishResult.Deferred(next));
    } finally {
      publisher.close(Duration.ZERO);
    }
  }

  @Test
  void aFailingTopicRouterFailsItsEventAndHoldsBackItsKey() {
    TopicRouter broken =
        event -> {
          throw new IllegalArgumentException("no route for " + event.aggregateType());
        };
    KafkaEventPublisher publisher = publisher(NO_BROKER, broken);
    try {
      PendingEvent first = event(1, "a", 10);
      PendingEvent second = event(2, "a", 10);

      BatchSender.InFlight sending = publisher.send(List.of(first, second));

      assertThat(sending.batch()).containsExactly(first, second);
      List<PublishResult> results = sending.await();
      assertThat(results.get(0))
          .isEqualTo(
              new PublishResult.Failed(
                  first,
                  "The topic router failed: java.lang.IllegalArgumentException: no route for"
                      + " Payment",
                  FailureKind.EVENT));
      assertThat(results.get(1)).isEqualTo(new PublishResult.Deferred(second));
    } finally {
      publisher.close(Duration.ZERO);
    }
  }

  /**
   * Issue 19, finding 9: the CDC relay closes its publisher before it releases its lease, so that a
   * batch handler that outlived the engine's stop cannot send once a standby may take over. A
   * closed publisher must therefore refuse a batch; before, the send opened a new producer.
   */
  @Test
  void aClosedPublisherRefusesABatchInsteadOfOpeningANewProducer() {
    KafkaEventPublisher publisher = publisher(NO_BROKER, TopicRouter.prefixed("t."));
    publisher.start();
    publisher.close(Duration.ZERO);

    assertThatThrownBy(() -> publisher.send(List.of(event(1, "a", 10))))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("closed");
  }

  /**
   * Issue 19, finding 8: the send window (the lease outlasting the delivery timeout) was checked
   * once per batch, but handing a batch over can block for long (no metadata, a full buffer). Once
   * the window closes during the hand-over, the rest of the batch is deferred, not handed over
   * (here it would block for max.block.ms on a broker that does not exist, then fail).
   */
  @Test
  void eventsAfterTheSendWindowClosedAreDeferredNotHandedOver() {
    KafkaEventPublisher publisher = publisher(NO_BROKER, TopicRouter.prefixed("t."));
    try {
      PendingEvent big = event(1, "a", 2000);
      PendingEvent late = event(2, "b", 10);
      PendingEvent later = event(3, "c", 10);
      java.util.concurrent.atomic.AtomicInteger asked =
          new java.util.concurrent.atomic.AtomicInteger();

      long started = System.nanoTime();
      List<PublishResult> results =
          publisher.send(List.of(big, late, later), () -> asked.getAndIncrement() == 0).await();

      assertThat(results.get(0)).isInstanceOf(PublishResult.Failed.class);
      assertThat(results.subList(1, 3))
          .containsExactly(new PublishResult.Deferred(late), new PublishResult.Deferred(later));
      assertThat(Duration.ofNanos(System.nanoTime() - started))
          .as("no wait for the producer")
          .isLessThan(Duration.ofSeconds(3));
    } finally {
      publisher.close(Duration.ZERO);
    }
  }

  @Test
  void startFailsFastNamingThePropertiesWhenKafkaRefusesTheSettings() {
    KafkaEventPublisher publisher =
        publisher(
            Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, "not a host:port"),
            TopicRouter.prefixed("t."));

    assertThatThrownBy(publisher::start)
        .isInstanceOf(IllegalStateException.class)
        .hasMessageStartingWith(
            "The Kafka producer could not be created from the relay's producer properties"
                + " (outbox.relay.kafka.*): ")
        .hasMessageContaining("bootstrap.servers");
    publisher.close(Duration.ZERO);
  }
}
