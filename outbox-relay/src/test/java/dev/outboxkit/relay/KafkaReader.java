package dev.outboxkit.relay;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Predicate;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/** Reads every record of a topic from the beginning, without a consumer group. */
final class KafkaReader implements AutoCloseable {

  private final KafkaConsumer<byte[], byte[]> consumer;
  private final List<ConsumerRecord<byte[], byte[]>> records = new ArrayList<>();

  KafkaReader(String bootstrapServers, String topic) {
    consumer =
        new KafkaConsumer<>(
            Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG,
                bootstrapServers,
                ConsumerConfig.CLIENT_ID_CONFIG,
                "reader-" + UUID.randomUUID(),
                ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG,
                false,
                ConsumerConfig.ISOLATION_LEVEL_CONFIG,
                "read_committed",
                ConsumerConfig.MAX_POLL_RECORDS_CONFIG,
                5000,
                ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG,
                ByteArrayDeserializer.class,
                ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG,
                ByteArrayDeserializer.class));
    // Right after a topic is created, a client's metadata may not list its partitions yet: an
    // empty assignment would make poll() throw "not subscribed to any topics".
    List<TopicPartition> partitions = List.of();
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (partitions.isEmpty() && System.nanoTime() < deadline) {
      partitions =
          consumer.partitionsFor(topic, Duration.ofSeconds(30)).stream()
              .map(p -> new TopicPartition(topic, p.partition()))
              .toList();
      if (partitions.isEmpty()) {
        try {
          Thread.sleep(50);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IllegalStateException("Interrupted while waiting for " + topic, e);
        }
      }
    }
    if (partitions.isEmpty()) {
      throw new IllegalStateException("Topic " + topic + " has no partitions after 30 s");
    }
    consumer.assign(partitions);
    consumer.seekToBeginning(partitions);
  }

  /** Polls until {@code done} holds for the records read so far, or the timeout passes. */
  List<ConsumerRecord<byte[], byte[]>> readUntil(
      Predicate<List<ConsumerRecord<byte[], byte[]>>> done, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!done.test(records) && System.nanoTime() < deadline) {
      consumer.poll(Duration.ofMillis(100)).forEach(records::add);
    }
    return List.copyOf(records);
  }

  List<ConsumerRecord<byte[], byte[]>> readAtLeast(int count, Duration timeout) {
    return readUntil(r -> r.size() >= count, timeout);
  }

  /** Reads for a while longer, to catch records that should not be there. */
  List<ConsumerRecord<byte[], byte[]>> readFor(Duration duration) {
    long deadline = System.nanoTime() + duration.toNanos();
    while (System.nanoTime() < deadline) {
      consumer.poll(Duration.ofMillis(100)).forEach(records::add);
    }
    return List.copyOf(records);
  }

  @Override
  public void close() {
    consumer.close(Duration.ofSeconds(1));
  }
}
