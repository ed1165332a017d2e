package dev.outboxkit.test;

import java.time.Duration;
import java.util.List;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;

/**
 * Waits for a topic's partitions to be known to a client before a test assigns them.
 *
 * <p>Right after a topic is created, a client's {@code partitionsFor} may answer with an empty list
 * (the broker does not know the topic yet) or with partitions that have no leader. A reader that
 * assigns that answer either assigns nothing (its first {@code poll} fails with "Consumer is not
 * subscribed to any topics or assigned any partitions") or silently misses partitions. This asks
 * again until every partition has a leader.
 */
public final class KafkaTopics {

  /** How long {@link #partitions(Consumer, String)} waits: 60 seconds, ample on a busy machine. */
  public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(60);

  private KafkaTopics() {}

  /**
   * The partitions of {@code topic}, once the consumer sees at least one and all have a leader.
   *
   * @param consumer a consumer on the topic's cluster; used from the calling thread only
   * @param topic an existing (or just created) topic
   * @throws IllegalStateException when the partitions are not known within {@link #DEFAULT_TIMEOUT}
   */
  public static List<TopicPartition> partitions(Consumer<?, ?> consumer, String topic) {
    return partitions(consumer, topic, DEFAULT_TIMEOUT);
  }

  /**
   * The partitions of {@code topic}, once the consumer sees at least one and all have a leader.
   *
   * @param consumer a consumer on the topic's cluster; used from the calling thread only
   * @param topic an existing (or just created) topic
   * @param timeout how long to wait
   * @throws IllegalStateException when the partitions are not known within {@code timeout}
   */
  public static List<TopicPartition> partitions(
      Consumer<?, ?> consumer, String topic, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    List<PartitionInfo> seen = List.of();
    while (true) {
      Duration left = Duration.ofNanos(Math.max(deadline - System.nanoTime(), 1_000_000));
      try {
        seen = consumer.partitionsFor(topic, left);
      } catch (org.apache.kafka.common.errors.TimeoutException e) {
        seen = List.of();
      }
      if (seen != null && !seen.isEmpty() && seen.stream().allMatch(p -> p.leader() != null)) {
        return seen.stream().map(p -> new TopicPartition(topic, p.partition())).toList();
      }
      if (System.nanoTime() >= deadline) {
        throw new IllegalStateException(
            "The partitions of topic "
                + topic
                + " were not known (with leaders) within "
                + timeout
                + "; last answer: "
                + seen);
      }
      sleep(Duration.ofMillis(50));
    }
  }

  static void sleep(Duration pause) {
    try {
      Thread.sleep(pause.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("Interrupted while waiting for topic metadata", e);
    }
  }
}
