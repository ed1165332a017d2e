package dev.outboxkit.relay.internal.kafka;

import dev.outboxkit.outbox.OutboxEvent;
import dev.outboxkit.outbox.OutboxHeaders;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.internals.RecordHeaders;

/**
 * The one mapping from an outbox event to a Kafka record, shared by every relay mode: key =
 * aggregate id, value = payload (null for a tombstone), timestamp = append time, headers = event
 * id, event type, aggregate type, tenant when set, then the user's headers in their order, all
 * UTF-8.
 *
 * <p>Public, unlike the rest of this package, because the Kafka Connect transform ({@code
 * cdc.OutboxRecordRouter}) maps its records with {@link #toRecord} too: a relay and a Connect
 * cluster over the same table produce identical records by construction. Not API.
 */
public final class KafkaRecords {

  private KafkaRecords() {}

  /**
   * The record of {@code event} for {@code topic}.
   *
   * @param event the event, not null
   * @param topic the topic the router chose, not null
   * @return a new record, its headers still modifiable
   */
  public static ProducerRecord<byte[], byte[]> toRecord(OutboxEvent event, String topic) {
    RecordHeaders headers = new RecordHeaders();
    headers.add(OutboxHeaders.EVENT_ID, utf8(event.id().toString()));
    headers.add(OutboxHeaders.EVENT_TYPE, utf8(event.eventType()));
    headers.add(OutboxHeaders.AGGREGATE_TYPE, utf8(event.aggregateType()));
    if (event.tenant() != null) {
      headers.add(OutboxHeaders.TENANT, utf8(event.tenant()));
    }
    for (Map.Entry<String, String> header : event.headers().entrySet()) {
      headers.add(header.getKey(), utf8(header.getValue()));
    }
    return new ProducerRecord<>(
        topic,
        null,
        event.createdAt().toEpochMilli(),
        utf8(event.aggregateId()),
        event.payload(),
        headers);
  }

  /** An upper bound of the record's size on the wire, to refuse records the producer would. */
  static long estimatedSize(ProducerRecord<byte[], byte[]> record) {
    long size = 128 + record.topic().length();
    size += record.key() == null ? 0 : record.key().length;
    size += record.value() == null ? 0 : record.value().length;
    for (var header : record.headers()) {
      size += 16 + header.key().length() + (header.value() == null ? 0 : header.value().length);
    }
    return size;
  }

  static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
