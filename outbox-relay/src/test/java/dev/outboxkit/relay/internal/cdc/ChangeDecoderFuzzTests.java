package dev.outboxkit.relay.internal.cdc;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.outboxkit.outbox.OutboxEvent;
import dev.outboxkit.outbox.internal.HeadersCodec;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.kafka.connect.data.Schema;
import org.apache.kafka.connect.data.SchemaBuilder;
import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.source.SourceRecord;
import org.junit.jupiter.api.Tag;

/**
 * Fuzz test of CDC change decoding: Debezium-shaped change records of the outbox table (and of
 * other tables) whose operation, status and every column may be missing, {@code null}, of another
 * type or of any value. Kept inputs under {@code ChangeDecoderFuzzTestsInputs/}; {@code
 * JAZZER_FUZZ=1} fuzzes (docs/testing.md).
 *
 * <p>Properties: a well-formed insert or snapshot read of a {@code PENDING} outbox row is decoded
 * to exactly the row's envelope (never dropped); a change of another table, a delete, or a row not
 * {@code PENDING} is ignored; a change the decoder would publish but cannot read fails with an
 * {@link IllegalArgumentException} naming the column, never another exception and never an envelope
 * with a missing id, type, aggregate or time (a {@code null} key would break per-key order); {@link
 * ChangeDecoder#rowOf} always finds the row's {@code seq} to park it by.
 */
@Tag("fuzz")
class ChangeDecoderFuzzTests {

  private static final String TABLE = "outbox_event";
  private static final List<String> OPS = List.of("c", "r", "u", "d", "t", "m");

  /** A column as generated: its schema, and its value (which the schema accepts). */
  private record Column(Schema schema, Object value, boolean wellFormed) {}

  @FuzzTest(maxDuration = "60s")
  void decodesWellFormedRowsExactlyAndRejectsMalformedOnesClearly(FuzzedDataProvider data) {
    String op = data.consumeInt(0, 8) == 0 ? data.consumeString(3) : data.pickValue(OPS);
    String table = data.consumeInt(0, 8) == 0 ? data.consumeString(20) : TABLE;
    boolean noAfter = data.consumeInt(0, 10) == 0;

    Map<String, Column> columns = new LinkedHashMap<>();
    UUID id = new UUID(data.consumeLong(), data.consumeLong());
    columns.put("id", column(data, Schema.OPTIONAL_STRING_SCHEMA, id.toString(), false, false));
    columns.put(
        "aggregatetype", column(data, Schema.OPTIONAL_STRING_SCHEMA, text(data), false, true));
    columns.put(
        "aggregateid", column(data, Schema.OPTIONAL_STRING_SCHEMA, text(data), false, true));
    columns.put("type", column(data, Schema.OPTIONAL_STRING_SCHEMA, text(data), false, true));
    columns.put("payload", column(data, Schema.OPTIONAL_BYTES_SCHEMA, payload(data), true, false));
    Map<String, String> headers = new LinkedHashMap<>();
    if (data.consumeBoolean()) {
      headers.put(data.consumeString(10), data.consumeString(20));
    }
    columns.put(
        "headers",
        column(data, Schema.OPTIONAL_STRING_SCHEMA, HeadersCodec.encode(headers), true, false));
    columns.put("tenant", column(data, Schema.OPTIONAL_STRING_SCHEMA, text(data), true, true));
    columns.put("created_at", createdAt(data));
    columns.put(
        "partition_no",
        column(data, Schema.OPTIONAL_INT32_SCHEMA, data.consumeInt(0, 15), false, false));
    columns.put(
        "seq", column(data, Schema.OPTIONAL_INT64_SCHEMA, data.consumeLong(), false, false));
    columns.put(
        "status",
        column(
            data,
            Schema.OPTIONAL_STRING_SCHEMA,
            data.pickValue(List.of("PENDING", "PARKED")),
            false,
            true));
    Column attempts =
        column(data, Schema.OPTIONAL_INT32_SCHEMA, data.consumeInt(0, 3), false, false);
    columns.put("attempts", attempts);

    SourceRecord record = record(op, table, noAfter ? null : columns);
    // The envelope's columns and the status (attempts is not read: updates are never published).
    boolean wellFormed =
        columns.entrySet().stream()
            .filter(c -> !c.getKey().equals("attempts"))
            .allMatch(c -> c.getValue().wellFormed());
    boolean insert = op.equals("c") || op.equals("r");
    boolean publishable = publishable(op, table, noAfter, columns);
    ChangeDecoder.Change change;
    try {
      change = new ChangeDecoder(TABLE).decode(record);
    } catch (IllegalArgumentException e) {
      assertThat(publishable).as("rejected an ignorable change: %s", e.getMessage()).isTrue();
      assertThat(wellFormed).as("rejected a well-formed row: %s", e.getMessage()).isFalse();
      assertThat(e.getMessage()).as("names the column").containsPattern(columnNames(columns));
      assertRowRef(record, columns);
      return;
    }
    if (change == null) {
      assertThat(insert && publishable).as("dropped a pending insert").isFalse();
      return;
    }
    assertThat(publishable).as("published an ignorable change").isTrue();
    assertThat(wellFormed).as("published a malformed row: %s", change).isTrue();
    OutboxEvent event = change.event().event();
    assertThat(event.id()).isEqualTo(id);
    assertThat(event.aggregateType()).isEqualTo(columns.get("aggregatetype").value());
    assertThat(event.aggregateId()).isEqualTo(columns.get("aggregateid").value());
    assertThat(event.eventType()).isEqualTo(columns.get("type").value());
    assertThat(event.tenant()).isEqualTo(columns.get("tenant").value());
    // A NULL headers column means no headers, whatever was generated before it was nulled.
    assertThat(event.headers())
        .isEqualTo(columns.get("headers").value() == null ? Map.of() : headers);
    assertThat(event.partition()).isEqualTo(columns.get("partition_no").value());
    assertThat(change.event().seq()).isEqualTo(columns.get("seq").value());
    Object payload = columns.get("payload").value();
    assertThat(event.payload())
        .isEqualTo(payload instanceof ByteBuffer b ? bytes(b) : (byte[]) payload);
    assertRowRef(record, columns);
  }

  /**
   * Whether the decoder may publish this change (inserts and snapshot reads only: updates are the
   * relay's own bookkeeping, a replay is a re-insert): a row change of the outbox table, unless its
   * status can be read and is not {@code PENDING}.
   */
  private static boolean publishable(
      String op, String table, boolean noAfter, Map<String, Column> columns) {
    Column status = columns.get("status");
    boolean readableStatus = status.wellFormed();
    return TABLE.equalsIgnoreCase(table)
        && !noAfter
        && (op.equals("c") || op.equals("r"))
        && (!readableStatus || "PENDING".equals(status.value()));
  }

  private static void assertRowRef(SourceRecord record, Map<String, Column> columns) {
    Column seq = columns.get("seq");
    if (seq.schema() != null && seq.schema().type() == Schema.Type.INT64 && seq.value() != null) {
      assertThat(ChangeDecoder.rowOf(record).seq()).isEqualTo(seq.value());
    }
  }

  private static String columnNames(Map<String, Column> columns) {
    return "'(" + String.join("|", columns.keySet()) + ")'";
  }

  /**
   * The column with its expected schema and value, or (now and then) missing from the schema,
   * {@code null}, or of another type.
   */
  private static Column column(
      FuzzedDataProvider data, Schema schema, Object value, boolean nullable, boolean anyText) {
    return switch (data.consumeInt(0, 24)) {
      case 0 -> new Column(null, null, false); // missing from the row's schema
      case 1 -> new Column(schema, null, nullable);
      case 2 -> new Column(Schema.OPTIONAL_BOOLEAN_SCHEMA, data.consumeBoolean(), false);
      case 3 -> new Column(Schema.OPTIONAL_FLOAT64_SCHEMA, data.consumeDouble(), false);
      case 4 -> new Column(Schema.OPTIONAL_STRING_SCHEMA, data.consumeString(20), anyText);
      default -> new Column(schema, value, value != null || nullable);
    };
  }

  private static Column createdAt(FuzzedDataProvider data) {
    return switch (data.consumeInt(0, 5)) {
      case 0 -> new Column(Schema.OPTIONAL_STRING_SCHEMA, data.consumeString(40), false);
      case 1 -> new Column(Schema.OPTIONAL_STRING_SCHEMA, null, false);
      case 2 -> new Column(null, null, false);
      case 3 ->
          new Column(
              Schema.OPTIONAL_INT64_SCHEMA,
              data.consumeLong(-62_000_000_000_000_000L, 253_000_000_000_000_000L),
              true);
      default ->
          new Column(
              Schema.OPTIONAL_STRING_SCHEMA,
              Instant.ofEpochSecond(
                      data.consumeLong(0, 4_000_000_000L), data.consumeInt(0, 999_999) * 1000L)
                  .toString(),
              true);
    };
  }

  private static String text(FuzzedDataProvider data) {
    return data.consumeString(30);
  }

  private static Object payload(FuzzedDataProvider data) {
    byte[] bytes = data.consumeBytes(50);
    return data.consumeBoolean() ? ByteBuffer.wrap(bytes) : bytes;
  }

  private static byte[] bytes(ByteBuffer buffer) {
    byte[] b = new byte[buffer.remaining()];
    buffer.duplicate().get(b);
    return b;
  }

  private static SourceRecord record(String op, String table, Map<String, Column> columns) {
    Schema source =
        SchemaBuilder.struct()
            .name("io.debezium.connector.postgresql.Source")
            .field("table", Schema.STRING_SCHEMA)
            .field("ts_ms", Schema.INT64_SCHEMA)
            .build();
    Schema after = null;
    if (columns != null) {
      SchemaBuilder builder =
          SchemaBuilder.struct().name("outbox.public.outbox_event.Value").optional();
      columns.forEach(
          (name, column) -> {
            if (column.schema() != null) {
              builder.field(name, column.schema());
            }
          });
      after = builder.build();
    }
    Schema envelope =
        SchemaBuilder.struct()
            .name("outbox.public.outbox_event.Envelope")
            .field("before", after == null ? SchemaBuilder.struct().optional().build() : after)
            .field("after", after == null ? SchemaBuilder.struct().optional().build() : after)
            .field("source", source)
            .field("op", Schema.STRING_SCHEMA)
            .build();
    Struct value = new Struct(envelope);
    value.put("source", new Struct(source).put("table", table).put("ts_ms", 1_733_000_000_000L));
    value.put("op", op);
    if (after != null) {
      Struct row = new Struct(after);
      List<String> present = new ArrayList<>();
      columns.forEach(
          (name, column) -> {
            if (column.schema() != null) {
              row.put(name, column.value());
              present.add(name);
            }
          });
      value.put("after", row);
    }
    return new SourceRecord(
        Map.of("server", "outbox"),
        Map.of("lsn", 1L),
        "outbox.public.outbox_event",
        null,
        null,
        null,
        envelope,
        value);
  }
}
