package dev.outboxkit.relay.internal.kafka;

import dev.outboxkit.relay.internal.delivery.ManagedBatchSender;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.function.Function;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.jspecify.annotations.Nullable;

/**
 * Test access to the real {@link KafkaEventPublisher} (and with a prefix its {@link
 * TransactionalProducers}) over producers the caller makes, so that the server-free delivery model
 * (in another package) runs the publisher itself over scripted {@code MockProducer}s instead of a
 * re-implementation of it.
 */
public final class ModelPublishers {

  private ModelPublishers() {}

  /**
   * A publisher that routes every event to the topic named by its aggregate type and checks no
   * topic (no admin client).
   *
   * @param transactionalIdPrefix the prefix of the transactional ids, or {@code null} for plain
   *     idempotent sends
   * @param factory makes every producer the publisher asks for, from its configuration
   */
  public static ManagedBatchSender create(
      Clock clock,
      @Nullable String transactionalIdPrefix,
      Function<Map<String, Object>, Producer<byte[], byte[]>> factory) {
    return new KafkaEventPublisher(
        Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, "model:9092"),
        "delivery-model",
        Duration.ofSeconds(5),
        event -> event.aggregateType(),
        false,
        clock,
        transactionalIdPrefix,
        null,
        factory);
  }
}
