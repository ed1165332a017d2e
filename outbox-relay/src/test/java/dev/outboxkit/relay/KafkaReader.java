package dev.outboxkit.relay;

import dev.outboxkit.test.KafkaTopics;
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
    // Right after creation partitionsFor may answer with no partitions; assigning that would make
    // the first poll fail ("not subscribed to any topics or assigned any partitions").
    List<TopicPartition> partitions = KafkaTopics.partitions(consumer, topic);
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

  /** One poll of up to {@code timeout}; returns only the records it read. */
  List<ConsumerRecord<byte[], byte[]>> pollOnce(Duration timeout) {
    List<ConsumerRecord<byte[], byte[]>> fresh = new ArrayList<>();
    consumer.poll(timeout).forEach(fresh::add);
    records.addAll(fresh);
    return fresh;
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
