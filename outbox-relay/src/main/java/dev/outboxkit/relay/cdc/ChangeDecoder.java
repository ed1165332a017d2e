package dev.outboxkit.relay.cdc;

import dev.outboxkit.outbox.OutboxEvent;
import dev.outboxkit.outbox.internal.HeadersCodec;
import dev.outboxkit.relay.internal.PendingEvent;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.Date;
import java.util.Objects;
import java.util.UUID;
import org.apache.kafka.connect.data.Field;
import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.source.SourceRecord;
import org.jspecify.annotations.Nullable;

/**
 * Turns Debezium change records of the outbox table back into the envelope the writer appended, so
 * that the CDC relay publishes exactly the record the polling relay would. Publishes inserts and
 * snapshot reads of {@code PENDING} rows only (a replay of a parked event is a fresh insert, see
 * {@code JdbcParkedEvents}); ignores every update, deletes, heartbeats, logical messages and other
 * tables. Updates are the relay's own bookkeeping (retries recorded, rows parked or kept as
 * published): no column tells them apart from a replay for sure (a broker failure records a retry
 * with {@code attempts = 0}), and on PostgreSQL an update leaves unchanged out-of-line (TOASTed)
 * values out of the change, so publishing one would send a placeholder instead of the payload.
 */
final class ChangeDecoder {

  /** A change to publish, with the source's commit time. */
  record Change(PendingEvent event, long commitMillis) {}

  private final String table;

  ChangeDecoder(String table) {
    this.table = table;
  }

  /** The commit time of any change record (heartbeats included), or -1. */
  static long commitMillis(SourceRecord record) {
    if (!(record.value() instanceof Struct value)) {
      return -1;
    }
    Field source = value.schema().field("source");
    if (source == null) {
      return -1;
    }
    Struct s = value.getStruct("source");
    Object ts = s == null ? null : s.get("ts_ms");
    return ts instanceof Number n ? n.longValue() : -1;
  }

  @Nullable Change decode(SourceRecord record) {
    if (!(record.value() instanceof Struct value)
        || value.schema().field("op") == null
        || value.schema().field("after") == null) {
      return null;
    }
    Struct source = value.getStruct("source");
    if (source == null || !table.equalsIgnoreCase(source.getString("table"))) {
      return null;
    }
    String op = value.getString("op");
    Struct after = value.getStruct("after");
    if (after == null
        || !("c".equals(op) || "r".equals(op))
        || !"PENDING".equals(after.getString("status"))) {
      return null;
    }
    OutboxEvent event =
        new OutboxEvent(
            UUID.fromString(after.get("id").toString()),
            after.getString("aggregatetype"),
            after.getString("aggregateid"),
            after.getString("type"),
            bytes(after.get("payload")),
            HeadersCodec.decode(after.getString("headers")),
            after.getString("tenant"),
            instant(after.get("created_at")),
            ((Number) after.get("partition_no")).intValue());
    long seq = ((Number) after.get("seq")).longValue();
    return new Change(new PendingEvent(seq, event, 0, null), commitMillis(record));
  }

  /** The outbox row a change record is about, as far as it can be read: for parking it. */
  record RowRef(@Nullable Long seq, @Nullable String aggregateId) {}

  static RowRef rowOf(SourceRecord record) {
    try {
      Struct after = ((Struct) record.value()).getStruct("after");
      Object seq = after.get("seq");
      Object key = after.get("aggregateid");
      return new RowRef(
          seq instanceof Number n ? n.longValue() : null, key == null ? null : key.toString());
    } catch (RuntimeException e) {
      return new RowRef(null, null);
    }
  }

  /**
   * The stored columns of a change's row, not read as an event (its headers stay the raw column):
   * enough to park a row its writer already deleted, so an operator can mend and replay it.
   */
  record RowImage(
      UUID id,
      String aggregateType,
      String aggregateId,
      String type,
      byte @Nullable [] payload,
      @Nullable String headers,
      @Nullable String tenant,
      Instant createdAt,
      int partition) {}

  /** The row image of a change, or {@code null} when even its stored columns cannot be read. */
  static @Nullable RowImage imageOf(SourceRecord record) {
    try {
      Struct after = ((Struct) record.value()).getStruct("after");
      return new RowImage(
          UUID.fromString(after.get("id").toString()),
          Objects.requireNonNull(after.getString("aggregatetype")),
          Objects.requireNonNull(after.getString("aggregateid")),
          Objects.requireNonNull(after.getString("type")),
          bytes(after.get("payload")),
          after.getString("headers"),
          after.getString("tenant"),
          instant(after.get("created_at")),
          ((Number) after.get("partition_no")).intValue());
    } catch (RuntimeException e) {
      return null;
    }
  }

  private static byte @Nullable [] bytes(@Nullable Object value) {
    if (value == null) {
      return null;
    }
    if (value instanceof byte[] b) {
      return b;
    }
    ByteBuffer buffer = ((ByteBuffer) value).duplicate();
    byte[] b = new byte[buffer.remaining()];
    buffer.get(b);
    return b;
  }

  /**
   * PostgreSQL {@code timestamptz} arrives as an ISO string; MySQL/MariaDB {@code DATETIME(6)} as
   * microseconds since the epoch of its wall-clock value, which OutboxKit writes in UTC.
   */
  static Instant instant(Object value) {
    if (value instanceof String s) {
      return OffsetDateTime.parse(s).toInstant();
    }
    if (value instanceof Long micros) {
      return Instant.ofEpochSecond(
          Math.floorDiv(micros, 1_000_000L), Math.floorMod(micros, 1_000_000L) * 1_000L);
    }
    if (value instanceof Date date) {
      return date.toInstant();
    }
    throw new IllegalArgumentException("Unexpected created_at value " + value);
  }
}
