package dev.outboxkit.idempotency.kafka;

import dev.outboxkit.outbox.OutboxHeaders;
import dev.outboxkit.outbox.PayloadIntegrityException;
import dev.outboxkit.outbox.spi.PayloadCodec;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.header.Header;

/**
 * Consumer-side reading of records the OutboxKit relay published: reverses the {@link PayloadCodec}
 * the writer used (payload encryption), checking the payload against the record's event id header,
 * aggregate type header and key. Works for dead-letter copies too.
 *
 * <pre>{@code
 * byte[] json = OutboxRecords.decode(codec, record); // throws PayloadIntegrityException if tampered
 * }</pre>
 */
public final class OutboxRecords {

  private OutboxRecords() {}

  /**
   * The plaintext payload of a record.
   *
   * @param codec the writer's codec (with the keys to decrypt), not null
   * @param record a record the relay published: key {@code String} or {@code byte[]}, value {@code
   *     byte[]}; not null
   * @return the payload as the application appended it, or {@code null} for a tombstone
   * @throws PayloadIntegrityException when the payload fails the codec's check, or the record lacks
   *     what it is checked against (event id, aggregate type, key)
   */
  public static byte @org.jspecify.annotations.Nullable [] decode(
      PayloadCodec codec, ConsumerRecord<?, byte[]> record) {
    Objects.requireNonNull(codec, "codec");
    Objects.requireNonNull(record, "record");
    if (record.value() == null) {
      return null;
    }
    return codec.decode(context(record), headers(record), record.value());
  }

  /**
   * The record with its value decoded, everything else as received.
   *
   * @param codec the writer's codec, not null
   * @param record the record, not null
   * @throws PayloadIntegrityException as {@link #decode}
   */
  public static <K> ConsumerRecord<K, byte[]> decoded(
      PayloadCodec codec, ConsumerRecord<K, byte[]> record) {
    byte[] value = decode(codec, record);
    return new ConsumerRecord<>(
        record.topic(),
        record.partition(),
        record.offset(),
        record.timestamp(),
        record.timestampType(),
        record.serializedKeySize(),
        value == null ? -1 : value.length,
        record.key(),
        value,
        record.headers(),
        record.leaderEpoch());
  }

  private static PayloadCodec.Context context(ConsumerRecord<?, byte[]> record) {
    String eventId = last(record, OutboxHeaders.EVENT_ID);
    UUID id = null;
    try {
      id = eventId == null ? null : UUID.fromString(eventId);
    } catch (IllegalArgumentException e) {
      // reported below, without the header's raw value
    }
    String aggregateType = last(record, OutboxHeaders.AGGREGATE_TYPE);
    Object key = record.key();
    String aggregateId =
        key instanceof byte[] bytes
            ? new String(bytes, StandardCharsets.UTF_8)
            : key instanceof String text ? text : null;
    if (id == null || aggregateType == null || aggregateId == null) {
      throw new PayloadIntegrityException(
          id,
          "Record "
              + record.topic()
              + "-"
              + record.partition()
              + "@"
              + record.offset()
              + (id == null ? "" : " (event " + id + ")")
              + " lacks what its encrypted payload is checked against: "
              + (id == null ? "a valid " + OutboxHeaders.EVENT_ID + " header " : "")
              + (aggregateType == null ? "the " + OutboxHeaders.AGGREGATE_TYPE + " header " : "")
              + (aggregateId == null ? "a String or byte[] key (the aggregate id)" : "")
              + "; park it and investigate",
          null);
    }
    return new PayloadCodec.Context(id, aggregateType, aggregateId);
  }

  private static Map<String, String> headers(ConsumerRecord<?, ?> record) {
    Map<String, String> headers = new LinkedHashMap<>();
    for (Header header : record.headers()) {
      if (header.value() != null) {
        // The last one wins, as lastHeader() reads it.
        headers.put(header.key(), new String(header.value(), StandardCharsets.UTF_8));
      }
    }
    return headers;
  }

  private static @org.jspecify.annotations.Nullable String last(
      ConsumerRecord<?, ?> record, String name) {
    Header header = record.headers().lastHeader(name);
    return header == null || header.value() == null
        ? null
        : new String(header.value(), StandardCharsets.UTF_8);
  }
}
