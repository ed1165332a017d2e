package dev.outboxkit.chaos;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads the topic from its beginning, all partitions, on a thread of its own for the whole run, as
 * a consumer would: every copy of every record in partition order. {@code read_committed}, so a
 * transactional relay's aborted sends are not counted.
 */
final class TopicReader implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(TopicReader.class);

  private final String bootstrapServers;
  private final Map<String, Object> clientProperties;
  private final String topic;
  private final int partitions;
  private final List<Delivery> deliveries = new ArrayList<>();
  private final AtomicBoolean running = new AtomicBoolean(true);
  private final AtomicReference<RuntimeException> failure = new AtomicReference<>();
  private final Thread thread;

  TopicReader(
      String bootstrapServers, Map<String, Object> clientProperties, String topic, int partitions) {
    this.bootstrapServers = bootstrapServers;
    this.clientProperties = Map.copyOf(clientProperties);
    this.topic = topic;
    this.partitions = partitions;
    this.thread = new Thread(this::read, "chaos-topic-reader");
    this.thread.setDaemon(true);
  }

  void start() {
    thread.start();
  }

  private void read() {
    Map<String, Object> config = new java.util.HashMap<>(clientProperties);
    config.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
    config.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    config.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    config.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    config.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 5000);
    try (KafkaConsumer<byte[], byte[]> consumer =
        new KafkaConsumer<>(config, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      List<TopicPartition> assigned = awaitPartitions(consumer);
      consumer.assign(assigned);
      consumer.seekToBeginning(assigned);
      while (running.get()) {
        List<Delivery> batch = new ArrayList<>();
        for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(200))) {
          batch.add(parse(record));
        }
        if (!batch.isEmpty()) {
          synchronized (deliveries) {
            deliveries.addAll(batch);
          }
        }
      }
    } catch (RuntimeException e) {
      log.error("The topic reader failed", e);
      failure.set(e);
    }
  }

  private List<TopicPartition> awaitPartitions(KafkaConsumer<byte[], byte[]> consumer) {
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (true) {
      List<PartitionInfo> infos = consumer.partitionsFor(topic, Duration.ofSeconds(10));
      if (infos != null && infos.size() >= partitions) {
        return infos.stream().map(p -> new TopicPartition(topic, p.partition())).toList();
      }
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("Topic " + topic + " has no " + partitions + " partitions");
      }
      Pause.millis(200);
    }
  }

  private Delivery parse(ConsumerRecord<byte[], byte[]> record) {
    String key = record.key() == null ? "" : new String(record.key(), StandardCharsets.UTF_8);
    String value = record.value() == null ? "" : new String(record.value(), StandardCharsets.UTF_8);
    // "<n>:<key>", possibly as a JSON string.
    String body = value.startsWith("\"") ? value.substring(1) : value;
    int n;
    try {
      n = Integer.parseInt(body.substring(0, Math.max(0, body.indexOf(':'))));
    } catch (NumberFormatException e) {
      n = -1; // not an event of the writers: counted as unknown by the check
    }
    return new Delivery(key, n, record.partition(), record.offset(), record.timestamp());
  }

  /** Everything read so far, in the order read (partition order within each partition). */
  List<Delivery> deliveries() {
    RuntimeException failed = failure.get();
    if (failed != null) {
      throw new IllegalStateException("The topic reader failed", failed);
    }
    synchronized (deliveries) {
      return List.copyOf(deliveries);
    }
  }

  @Override
  public void close() {
    running.set(false);
    try {
      thread.join(30_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
