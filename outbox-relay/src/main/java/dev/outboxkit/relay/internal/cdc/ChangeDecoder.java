package dev.outboxkit.relay.internal.cdc;

import dev.outboxkit.outbox.OutboxEvent;
import dev.outboxkit.outbox.jdbc.OutboxColumns;
import dev.outboxkit.relay.internal.PendingEvent;
import java.nio.ByteBuffer;
import java.time.DateTimeException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.Date;
import java.util.Map;
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
public final class ChangeDecoder {

  /** A change to publish, with the source's commit time. */
  public record Change(PendingEvent event, long commitMillis) {}

  private final String table;

  /** A decoder of the changes of {@code table}, by its unqualified name. */
  public ChangeDecoder(String table) {
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

  /**
   * The change to publish, or {@code null} for a record that is not a pending event inserted (or
   * snapshotted) into the table.
   *
   * @throws IllegalArgumentException naming the column, for a pending row that cannot be read
   */
  public @Nullable Change decode(SourceRecord record) {
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
    if (after == null || !("c".equals(op) || "r".equals(op))) {
      return null;
    }
    // A row whose status cannot be read is not ignored: it may be an event (it is parked).
    if (!"PENDING".equals(text(after, "status", true))) {
      return null;
    }
    OutboxEvent event =
        new OutboxEvent(
            uuid(after),
            text(after, "aggregatetype", true),
            text(after, "aggregateid", true),
            text(after, "type", true),
            bytes(after),
            headers(after),
            text(after, "tenant", false),
            createdAt(after),
            number(after, "partition_no").intValue());
    long seq = number(after, "seq").longValue();
    return new Change(new PendingEvent(seq, event, 0, null), commitMillis(record));
  }

  /*
   * Column readers: a change of the outbox table that should be published but cannot be read fails
   * with an IllegalArgumentException naming the column, which the batch handler stores as the
   * parked row's last error (and Kafka Connect reports for the transform). Never a
   * NullPointerException or ClassCastException, and never an envelope with a null key.
   */

  private static @Nullable Object column(Struct row, String name, boolean required) {
    if (row.schema().field(name) == null) {
      throw unreadable(name, "is missing from the change record");
    }
    Object value = row.get(name);
    if (value == null && required) {
      throw unreadable(name, "is null");
    }
    return value;
  }

  private static @Nullable String text(Struct row, String name, boolean required) {
    Object value = column(row, name, required);
    if (value == null || value instanceof String) {
      return (String) value;
    }
    throw unreadable(name, "is not text but " + value.getClass().getSimpleName());
  }

  private static Number number(Struct row, String name) {
    Object value = column(row, name, true);
    if (value instanceof Number n) {
      return n;
    }
    throw unreadable(name, "is not a number but " + value.getClass().getSimpleName());
  }

  private static UUID uuid(Struct row) {
    String id = text(row, "id", true);
    try {
      return UUID.fromString(id);
    } catch (IllegalArgumentException e) {
      throw unreadable("id", "is not a UUID", e);
    }
  }

  private static Map<String, String> headers(Struct row) {
    try {
      return OutboxColumns.decodeHeaders(text(row, "headers", false));
    } catch (IllegalArgumentException e) {
      throw unreadable("headers", e.getMessage(), e);
    }
  }

  private static Instant createdAt(Struct row) {
    Object value = column(row, "created_at", true);
    try {
      return instant(value);
    } catch (DateTimeException | ArithmeticException | IllegalArgumentException e) {
      throw unreadable("created_at", "is not a time: " + e.getMessage(), e);
    }
  }

  private static IllegalArgumentException unreadable(String column, String problem) {
    return new IllegalArgumentException(
        "Outbox change cannot be decoded: column '" + column + "' " + problem);
  }

  private static IllegalArgumentException unreadable(
      String column, String problem, Exception cause) {
    IllegalArgumentException e = unreadable(column, problem);
    e.initCause(cause);
    return e;
  }

  /** The outbox row a change record is about, as far as it can be read: for parking it. */
  record RowRef(@Nullable Long seq, @Nullable String aggregateId) {}

  static RowRef rowOf(SourceRecord record) {
    try {
      Struct after = ((Struct) record.value()).getStruct("after");
      Object seq = field(after, "seq");
      Object key = field(after, "aggregateid");
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
          uuid(after),
          text(after, "aggregatetype", true),
          text(after, "aggregateid", true),
          text(after, "type", true),
          bytes(after),
          text(after, "headers", false),
          text(after, "tenant", false),
          createdAt(after),
          number(after, "partition_no").intValue());
    } catch (RuntimeException e) {
      return null;
    }
  }

  /** A column's value, or null when the row has none: one missing column must not hide the seq. */
  private static @Nullable Object field(Struct row, String name) {
    return row.schema().field(name) == null ? null : row.get(name);
  }

  private static byte @Nullable [] bytes(Struct row) {
    Object value = column(row, "payload", false);
    if (value == null || value instanceof byte[]) {
      return (byte[]) value;
    }
    if (value instanceof ByteBuffer buffer) {
      if (buffer.hasArray()
          && buffer.arrayOffset() == 0
          && buffer.position() == 0
          && buffer.remaining() == buffer.array().length) {
        // The change's own copy of the column (the connector made it for this row): no second copy.
        return buffer.array();
      }
      byte[] b = new byte[buffer.remaining()];
      buffer.duplicate().get(b);
      return b;
    }
    throw unreadable("payload", "is not bytes but " + value.getClass().getSimpleName());
  }

  /**
   * The common shape of a PostgreSQL {@code timestamptz} change value, {@code
   * yyyy-MM-ddTHH:mm:ss[.f{1,9}]Z}, read without a {@code DateTimeFormatter} (which cost as much as
   * the rest of a change's decoding); {@code null} for any other shape, which {@link
   * OffsetDateTime#parse} then reads or refuses.
   *
   * @throws java.time.DateTimeException for a field out of range (month 13), as the parser would
   */
  static @Nullable Instant utcInstant(String s) {
    int n = s.length();
    if (n < 20
        || n > 30
        || s.charAt(n - 1) != 'Z'
        || s.charAt(4) != '-'
        || s.charAt(7) != '-'
        || s.charAt(10) != 'T'
        || s.charAt(13) != ':'
        || s.charAt(16) != ':') {
      return null;
    }
    int year = digits(s, 0, 4);
    int month = digits(s, 5, 7);
    int day = digits(s, 8, 10);
    int hour = digits(s, 11, 13);
    int minute = digits(s, 14, 16);
    int second = digits(s, 17, 19);
    int nanos = 0;
    if (n > 20) {
      // A fraction of 1 to 9 digits between the seconds and the Z.
      if (s.charAt(19) != '.' || n == 21) {
        return null;
      }
      int fraction = digits(s, 20, n - 1);
      if (fraction < 0) {
        return null;
      }
      nanos = fraction;
      for (int i = n - 1 - 20; i < 9; i++) {
        nanos *= 10;
      }
    } else if (s.charAt(19) != 'Z') {
      return null;
    }
    if (year < 0 || month < 0 || day < 0 || hour < 0 || minute < 0 || second < 0) {
      return null;
    }
    return java.time.LocalDateTime.of(year, month, day, hour, minute, second, nanos)
        .toInstant(java.time.ZoneOffset.UTC);
  }

  /** The decimal number in {@code s[from, to)}, or -1 when a character is not an ASCII digit. */
  private static int digits(String s, int from, int to) {
    int value = 0;
    for (int i = from; i < to; i++) {
      char c = s.charAt(i);
      if (c < '0' || c > '9') {
        return -1;
      }
      value = value * 10 + (c - '0');
    }
    return value;
  }

  /**
   * PostgreSQL {@code timestamptz} arrives as an ISO string; MySQL/MariaDB {@code DATETIME(6)} as
   * microseconds since the epoch of its wall-clock value, which OutboxKit writes in UTC.
   */
  static Instant instant(@Nullable Object value) {
    if (value instanceof String s) {
      Instant utc = utcInstant(s);
      return utc != null ? utc : OffsetDateTime.parse(s).toInstant();
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
