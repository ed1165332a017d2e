package dev.outboxkit.relay.internal.cdc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.UUID;
import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.source.SourceRecord;
import org.junit.jupiter.api.Test;

/**
 * Which changes of the outbox table the CDC relay publishes, on change records shaped as Debezium's
 * PostgreSQL connector emits them. Issue 19, finding 1: the relay's own bookkeeping (retries
 * recorded with {@code attempts = 0}) was read as a replay and published again.
 */
class ChangeDecoderTests {

  private final ChangeDecoder decoder = new ChangeDecoder("outbox_event");
  private final UUID id = UUID.randomUUID();

  private SourceRecord change(String op, String status, int attempts, String headers) {
    return CdcBatchFixture.paymentChange(op, 7L, id, "p-1", status, attempts, headers);
  }

  @Test
  void insertsAndSnapshotReadsOfPendingRowsArePublished() {
    for (String op : new String[] {"c", "r"}) {
      ChangeDecoder.Change change = decoder.decode(change(op, "PENDING", 0, "{}"));
      assertThat(change).as(op).isNotNull();
      assertThat(change.event().seq()).isEqualTo(7L);
      assertThat(change.event().event().id()).isEqualTo(id);
      assertThat(change.commitMillis()).isEqualTo(1000L);
    }
  }

  @Test
  void updatesAreNeverPublishedNotEvenARetryRecordedWithoutAnAttempt() {
    // A broker failure counts no attempt but records its retry: PENDING, attempts 0.
    assertThat(decoder.decode(change("u", "PENDING", 0, "{}"))).isNull();
    assertThat(decoder.decode(change("u", "PENDING", 2, "{}"))).isNull();
    assertThat(decoder.decode(change("u", "DEAD", 3, "{}"))).isNull();
    assertThat(decoder.decode(change("c", "DEAD", 1, "{}"))).as("a parked copy").isNull();
  }

  /**
   * Issue 19, reviewer suspicion 3(c): a replay in place ({@code UPDATE ... SET status = 'PENDING',
   * attempts = 0}, as the polling relay wrote it before 0.8 and as SQL by hand still does) is an
   * update, and CDC publishes inserts only, so it is never published. Since 0.8 every replay
   * re-inserts (see {@code JdbcParkedEvents}), in both modes.
   */
  @Test
  void aPollingModeReplayInPlaceIsAnUpdateThatCdcDoesNotPublish() {
    assertThat(decoder.decode(change("u", "PENDING", 0, "{}")))
        .as("DEAD -> PENDING in place, as SQL by hand writes it")
        .isNull();
    assertThat(decoder.decode(change("c", "PENDING", 0, "{}")))
        .as("a relay's replay: a fresh insert of the event")
        .isNotNull();
  }

  @Test
  void theImageOfAnUndecodableChangeKeepsItsRawColumnsForParking() {
    SourceRecord broken = change("c", "PENDING", 0, "{not json");
    assertThatThrownBy(() -> decoder.decode(broken)).isInstanceOf(RuntimeException.class);
    ChangeDecoder.RowImage image = ChangeDecoder.imageOf(broken);
    assertThat(image).isNotNull();
    assertThat(image.id()).isEqualTo(id);
    assertThat(image.headers()).isEqualTo("{not json");
    assertThat(image.aggregateId()).isEqualTo("p-1");
    assertThat(image.partition()).isEqualTo(3);
  }

  /**
   * The fast reading of a {@code timestamptz} value gives exactly what {@code OffsetDateTime.parse}
   * gives, for every fraction length, and leaves every other shape to it (or refuses as it does).
   */
  @Test
  void aUtcTimestampIsReadAsTheIsoParserReadsIt() {
    java.util.Random random = new java.util.Random(23);
    for (int i = 0; i < 20_000; i++) {
      java.time.Instant instant =
          java.time.Instant.ofEpochSecond(
              random.nextLong(-62_000_000_000L, 253_000_000_000L),
              i % 3 == 0 ? 0 : random.nextInt(1_000_000_000));
      if (i % 5 == 0) {
        instant = instant.truncatedTo(java.time.temporal.ChronoUnit.MICROS);
      }
      String text =
          java.time.format.DateTimeFormatter.ISO_OFFSET_DATE_TIME.format(
              instant.atOffset(java.time.ZoneOffset.UTC));
      assertThat(ChangeDecoder.instant(text)).as(text).isEqualTo(instant);
      assertThat(ChangeDecoder.utcInstant(text))
          .as(text)
          .isIn(instant, null); // null only for a year outside 0000-9999
    }
    assertThat(ChangeDecoder.utcInstant("2026-12-01T10:00:00.5Z"))
        .isEqualTo(java.time.Instant.parse("2026-12-01T10:00:00.500Z"));
    assertThat(ChangeDecoder.instant("2026-12-01T12:00:00+02:00"))
        .isEqualTo(java.time.Instant.parse("2026-12-01T10:00:00Z"));
    for (String odd :
        new String[] {
          "2026-12-01T10:00:00.Z",
          "2026-12-01T10:00Z",
          "2026-12-01 10:00:00Z",
          "2026-1x-01T10:00:00Z",
          "2026-12-01T10:00:00.1234567890Z",
          "+2026-12-01T10:00:00Z"
        }) {
      assertThat(ChangeDecoder.utcInstant(odd)).as(odd).isNull();
    }
    for (String outOfRange :
        new String[] {"2026-13-01T10:00:00Z", "2026-02-30T10:00:00Z", "2026-12-01T24:00:00Z"}) {
      assertThatThrownBy(() -> ChangeDecoder.instant(outOfRange))
          .as(outOfRange)
          .isInstanceOf(java.time.DateTimeException.class);
      assertThatThrownBy(() -> java.time.OffsetDateTime.parse(outOfRange))
          .as(outOfRange)
          .isInstanceOf(java.time.DateTimeException.class);
    }
  }

  @Test
  void aPayloadBufferIsReadWhetherItIsTheWholeArrayOrASlice() {
    byte[] whole = "payload".getBytes(StandardCharsets.UTF_8);
    java.nio.ByteBuffer slice =
        java.nio.ByteBuffer.wrap("xxpayloadyy".getBytes(StandardCharsets.UTF_8), 2, 7);
    for (java.nio.ByteBuffer buffer :
        new java.nio.ByteBuffer[] {java.nio.ByteBuffer.wrap(whole), slice, slice.slice()}) {
      SourceRecord record = change("c", "PENDING", 0, "{}");
      ((Struct) record.value()).getStruct("after").put("payload", buffer);
      assertThat(decoder.decode(record).event().event().payload()).isEqualTo(whole);
    }
  }
}
