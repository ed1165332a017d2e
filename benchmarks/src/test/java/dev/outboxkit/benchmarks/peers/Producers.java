package dev.outboxkit.benchmarks.peers;

import java.util.Map;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * The producers the benchmarks' own senders use (the raw ceiling, the hand-written contenders and
 * relays): idempotent, {@code acks=all}, 256 KiB batches, as the relay's.
 */
public final class Producers {

  private Producers() {}

  /**
   * A producer with the relay's batching ({@code linger.ms=5}, 256 KiB batches) for the raw
   * ceiling, or with {@code linger.ms=0} for libraries that wait for each send before the next.
   */
  static KafkaProducer<String, byte[]> create(String bootstrapServers, int lingerMs) {
    return new KafkaProducer<>(settings(bootstrapServers, lingerMs, StringSerializer.class));
  }

  /** A producer of byte-array keys with the relay's batching ({@code linger.ms=5}). */
  public static KafkaProducer<byte[], byte[]> withByteKeys(String bootstrapServers) {
    return new KafkaProducer<>(settings(bootstrapServers, 5, ByteArraySerializer.class));
  }

  private static Map<String, Object> settings(
      String bootstrapServers, int lingerMs, Class<? extends Serializer<?>> keySerializer) {
    return Map.of(
        ProducerConfig.BOOTSTRAP_SERVERS_CONFIG,
        bootstrapServers,
        ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG,
        true,
        ProducerConfig.ACKS_CONFIG,
        "all",
        ProducerConfig.LINGER_MS_CONFIG,
        lingerMs,
        ProducerConfig.BATCH_SIZE_CONFIG,
        256 * 1024,
        ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG,
        keySerializer,
        ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG,
        ByteArraySerializer.class);
  }
}
