package dev.outboxkit.relay.internal.kafka;

import dev.outboxkit.relay.internal.PendingEvent;
import dev.outboxkit.relay.internal.delivery.PublishResult;
import dev.outboxkit.relay.internal.delivery.PublishResult.FailureKind;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.jspecify.annotations.Nullable;

/**
 * Refuses a record before it is handed to the producer when the producer would refuse it anyway,
 * but only after blocking or with a less helpful error: a record larger than {@code
 * max.request.size} can never be sent (parked at once, {@code PERMANENT}), and a record for a topic
 * that does not exist would block {@code send()} for {@code max.block.ms} (failed as {@code EVENT},
 * retried, so creating the topic lets it through). The topic check is optional ({@code
 * verifyTopics}).
 */
final class RecordChecks {

  private final long maxRequestSize;
  private final @Nullable TopicCheck topics;

  /**
   * @param maxRequestSize the producer's {@code max.request.size}
   * @param topics the topic check, or {@code null} to send without checking that the topic exists
   */
  RecordChecks(long maxRequestSize, @Nullable TopicCheck topics) {
    this.maxRequestSize = maxRequestSize;
    this.topics = topics;
  }

  /** Why the record is refused, or {@code null} to send it. */
  PublishResult.@Nullable Failed refuse(
      PendingEvent pending, ProducerRecord<byte[], byte[]> record) {
    long size = KafkaRecords.estimatedSize(record);
    if (size > maxRequestSize) {
      return new PublishResult.Failed(
          pending,
          "RecordTooLargeException: the record is about "
              + size
              + " bytes, more than the producer's max.request.size of "
              + maxRequestSize,
          FailureKind.PERMANENT);
    }
    if (topics != null && topics.missing(record.topic())) {
      return new PublishResult.Failed(
          pending,
          "UnknownTopicOrPartitionException: topic '"
              + record.topic()
              + "' does not exist; create it or route the event elsewhere",
          FailureKind.EVENT);
    }
    return null;
  }
}
