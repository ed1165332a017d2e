package dev.outboxkit.outbox;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.outboxkit.outbox.internal.EventFactory;
import dev.outboxkit.outbox.internal.Partitions;
import dev.outboxkit.outbox.spi.HeaderContributor;
import dev.outboxkit.outbox.spi.PayloadSerializer;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class EventFactoryTests {

  private static final Clock CLOCK =
      Clock.fixed(Instant.parse("2026-11-23T10:15:30.123456789Z"), ZoneOffset.UTC);

  private final EventFactory factory = factory(List.of(), 100);

  private static EventFactory factory(List<HeaderContributor> contributors, int maxPayload) {
    return new EventFactory(CLOCK, PayloadSerializer.json(), contributors, 16, maxPayload, 1024);
  }

  record PaymentAuthorized(String paymentId, long amountMinor, String currency) {}

  @Test
  void buildsTheEnvelope() {
    OutboxEvent event =
        factory
            .create(
                List.of(
                    OutboxMessage.of(
                            "Payment",
                            "p-1",
                            "PaymentAuthorized",
                            new PaymentAuthorized("p-1", 1250, "EUR"))
                        .withHeader("traceparent", "00-abc-def-01")
                        .withTenant("acme")))
            .get(0);
    assertThat(event.id().version()).isEqualTo(7);
    assertThat(event.aggregateType()).isEqualTo("Payment");
    assertThat(event.aggregateId()).isEqualTo("p-1");
    assertThat(event.eventType()).isEqualTo("PaymentAuthorized");
    assertThat(new String(event.payload(), StandardCharsets.UTF_8))
        .isEqualTo("{\"paymentId\":\"p-1\",\"amountMinor\":1250,\"currency\":\"EUR\"}");
    assertThat(event.headers()).containsExactly(Map.entry("traceparent", "00-abc-def-01"));
    assertThat(event.tenant()).isEqualTo("acme");
    assertThat(event.createdAt()).isEqualTo(Instant.parse("2026-11-23T10:15:30.123456Z"));
    assertThat(event.partition()).isEqualTo(Partitions.of("p-1", 16)).isBetween(0, 15);
  }

  @Test
  void storesBytesAsTheyAreStringsAsUtf8AndNullAsTombstone() {
    List<OutboxEvent> events =
        factory.create(
            List.of(
                OutboxMessage.of("Payment", "p-1", "Raw", new byte[] {0, 1, (byte) 0xFF}),
                OutboxMessage.of("Payment", "p-1", "Text", "{\"already\":\"json\"} – ünïcode"),
                OutboxMessage.of("Payment", "p-1", "Deleted", null)));
    assertThat(events.get(0).payload()).containsExactly(0, 1, 0xFF);
    assertThat(new String(events.get(1).payload(), StandardCharsets.UTF_8))
        .isEqualTo("{\"already\":\"json\"} – ünïcode");
    assertThat(events.get(2).payload()).isNull();
  }

  @Test
  void reportsEveryProblemNamingTheField() {
    Map<String, String> headers = new HashMap<>();
    headers.put("bad name", "x");
    headers.put("outbox-event-id", "forged");
    headers.put("nullvalue", null);
    OutboxMessage message = new OutboxMessage("Pay ment", " ", "Type\n", null, headers, "");
    assertThatThrownBy(() -> factory.create(List.of(message)))
        .isInstanceOfSatisfying(
            InvalidEventException.class,
            e ->
                assertThat(e.violations())
                    .containsExactlyInAnyOrder(
                        "aggregateType 'Pay ment' may contain only letters, digits, '.', '_' and '-'"
                            + " (it becomes part of a topic name)",
                        "aggregateId must not be blank",
                        "eventType must not contain control characters",
                        "tenant must not be blank",
                        "header name 'bad name' must be 1 to 128 characters of an HTTP token",
                        "header 'outbox-event-id' uses the prefix 'outbox-', which is reserved for"
                            + " OutboxKit's own headers",
                        "header 'nullvalue' must not have a null value"));
  }

  @Test
  void rejectsNullAndOverlongFields() {
    OutboxMessage message =
        new OutboxMessage(null, "x".repeat(256), null, null, Map.of(), "t".repeat(300));
    assertThatThrownBy(() -> factory.create(List.of(message)))
        .isInstanceOf(InvalidEventException.class)
        .hasMessageContaining("aggregateType must not be blank")
        .hasMessageContaining("aggregateId must be at most 255 characters but has 256")
        .hasMessageContaining("eventType must not be null")
        .hasMessageContaining("tenant must be at most 255 characters but has 300");
  }

  @Test
  void namesTheEventInABatch() {
    assertThatThrownBy(
            () ->
                factory.create(
                    List.of(
                        OutboxMessage.of("Payment", "p-1", "Ok", null),
                        OutboxMessage.of("Payment", "", "Bad", null))))
        .isInstanceOf(InvalidEventException.class)
        .hasMessage("Invalid outbox event: events[1].aggregateId must not be blank");
  }

  @Test
  void rejectsPayloadsAndHeadersOverTheLimits() {
    assertThatThrownBy(
            () -> factory.create(List.of(OutboxMessage.of("Payment", "p", "Big", new byte[101]))))
        .hasMessageContaining("payload must be at most 100 bytes but is 101");
    assertThatThrownBy(
            () ->
                factory.create(
                    List.of(
                        OutboxMessage.of("Payment", "p", "T", null)
                            .withHeader("big", "v".repeat(2000)))))
        .hasMessageContaining("headers must be at most 1024 bytes in all but are 2010");
  }

  /**
   * Review finding: the headers limit was checked before the payload codec added its own headers
   * (encoding, key id), so an event whose headers were just under the limit was stored over it: at
   * the largest limit (a MySQL {@code TEXT}) the insert then failed with the database's error, or
   * the relay met a header set larger than it was promised. The limit is on the headers as stored.
   */
  @Test
  void theHeadersLimitCountsTheHeadersThePayloadCodecAdds() {
    dev.outboxkit.outbox.spi.PayloadCodec codec =
        new dev.outboxkit.outbox.spi.PayloadCodec() {
          @Override
          public Encoded encode(Context context, byte[] payload) {
            return new Encoded(
                payload,
                Map.of(OutboxHeaders.PAYLOAD_ENCODING, "test-v1", OutboxHeaders.KEY_ID, "42"));
          }

          @Override
          public byte[] decode(Context context, Map<String, String> headers, byte[] payload) {
            return payload;
          }
        };
    EventFactory encrypting =
        new EventFactory(CLOCK, PayloadSerializer.json(), List.of(), 16, 100, 1024, codec);
    // {"big":"v…"} is 1020 bytes: under the limit before the codec's headers, over it after.
    OutboxMessage message =
        OutboxMessage.of("Payment", "p", "T", "{}").withHeader("big", "v".repeat(1010));
    assertThatThrownBy(() -> encrypting.create(List.of(message)))
        .isInstanceOf(InvalidEventException.class)
        .hasMessageContaining("headers must be at most 1024 bytes in all but are")
        .hasMessageContaining("payload codec");
  }

  @Test
  void reportsPayloadsTheSerializerCannotHandleWithTheCause() {
    EventFactory failing =
        new EventFactory(
            CLOCK,
            payload -> {
              throw new IllegalStateException(
                  "no serializer for " + payload.getClass().getSimpleName());
            },
            List.of(),
            16,
            100,
            100);
    assertThatThrownBy(
            () -> failing.create(List.of(OutboxMessage.of("Payment", "p", "T", new Object()))))
        .isInstanceOf(InvalidEventException.class)
        .hasMessageContaining("payload of type java.lang.Object could not be serialized")
        .hasRootCauseInstanceOf(IllegalStateException.class);
  }

  @Test
  void aSerializerReturningNullIsRejectedNotStoredAsATombstone() {
    EventFactory broken = new EventFactory(CLOCK, payload -> null, List.of(), 16, 100, 100);
    assertThatThrownBy(
            () -> broken.create(List.of(OutboxMessage.of("Payment", "p", "T", new Object()))))
        .isInstanceOf(InvalidEventException.class)
        .hasMessageContaining("payload serializer returned null");
  }

  @Test
  void brokenHeaderContributorsAreReportedAsViolations() {
    HeaderContributor returnsNull = message -> null;
    HeaderContributor throwing =
        message -> {
          throw new IllegalStateException("tracer exploded");
        };
    assertThatThrownBy(
            () ->
                factory(List.of(returnsNull, throwing), 100)
                    .create(List.of(OutboxMessage.of("Payment", "p", "T", null))))
        .isInstanceOf(InvalidEventException.class)
        .hasMessageContaining("returned null instead of a map")
        .hasMessageContaining("tracer exploded");
  }

  @Test
  void headerValuesMustNotHoldControlCharactersAndSizeIsMeasuredAsStored() {
    assertThatThrownBy(
            () ->
                factory.create(
                    List.of(
                        OutboxMessage.of("Payment", "p", "T", null)
                            .withHeader("x-note", "line\r\nInjected: yes"))))
        .hasMessageContaining("header 'x-note' must not contain control characters");
    // 300 quotes are 300 bytes raw but 600 once escaped in the stored JSON.
    assertThatThrownBy(
            () ->
                factory.create(
                    List.of(
                        OutboxMessage.of("Payment", "p", "T", null)
                            .withHeader("q", "\"".repeat(300))
                            .withHeader("r", "x".repeat(420)))))
        .hasMessageContaining("headers must be at most 1024 bytes");
  }

  @Test
  void contributedHeadersAreAddedAndTheMessageWins() {
    EventFactory withTrace =
        factory(
            List.of(message -> Map.of("traceparent", "00-contributed-01", "tenant-hint", "x")),
            100);
    OutboxEvent event =
        withTrace
            .create(
                List.of(
                    OutboxMessage.of("Payment", "p", "T", null)
                        .withHeader("traceparent", "00-explicit-01")))
            .get(0);
    assertThat(event.headers())
        .containsEntry("traceparent", "00-explicit-01")
        .containsEntry("tenant-hint", "x");
  }

  @Test
  void partitionsAreStableAndCoverTheRange() {
    assertThat(Partitions.of("p-1", 16)).isEqualTo(Partitions.of("p-1", 16));
    int[] counts = new int[16];
    for (int i = 0; i < 16_000; i++) {
      counts[Partitions.of("aggregate-" + i, 16)]++;
    }
    for (int count : counts) {
      assertThat(count).isBetween(800, 1200);
    }
    // Pinned: changing the hash would re-partition every existing outbox.
    assertThat(Partitions.of("p-1", 1024)).isEqualTo(919);
    assertThat(Partitions.of("order-42", 16)).isEqualTo(14);
    assertThat(Partitions.of("", 7)).isZero();
  }
}
