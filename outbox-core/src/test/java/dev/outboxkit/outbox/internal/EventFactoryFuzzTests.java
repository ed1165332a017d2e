package dev.outboxkit.outbox.internal;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.outboxkit.outbox.InvalidEventException;
import dev.outboxkit.outbox.OutboxEvent;
import dev.outboxkit.outbox.OutboxMessage;
import dev.outboxkit.outbox.spi.PayloadSerializer;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.function.Supplier;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Tag;

/**
 * Fuzz test of event validation and envelope building ({@code Outbox.append} runs exactly this
 * before it touches the table). Kept inputs under {@code EventFactoryFuzzTestsInputs/}; {@code
 * JAZZER_FUZZ=1} fuzzes (docs/testing.md).
 *
 * <p>Properties: a batch is either accepted whole, every envelope carrying exactly what was given
 * (and what the table and Kafka will hold: every text survives UTF-8), or rejected whole with an
 * {@link InvalidEventException} whose violations each name their event and field; a batch is
 * rejected exactly when one of its events alone would be, with the same violations.
 */
@Tag("fuzz")
class EventFactoryFuzzTests {

  private static final Clock CLOCK =
      Clock.fixed(Instant.parse("2026-12-05T10:15:30.123456789Z"), ZoneOffset.UTC);
  private static final int PARTITIONS = 16;
  private static final int MAX_PAYLOAD = 256;
  private static final int MAX_HEADERS = 512;
  private static final Pattern VIOLATION =
      Pattern.compile(
          "(events\\[\\d+\\]\\.)?(aggregateType|aggregateId|eventType|tenant|header|headers|payload)"
              + "[ '].*|(event must not be null|events\\[\\d+\\] is null)",
          Pattern.DOTALL);

  private final EventFactory factory =
      new EventFactory(
          CLOCK, PayloadSerializer.json(), List.of(), PARTITIONS, MAX_PAYLOAD, MAX_HEADERS);

  @FuzzTest(maxDuration = "60s")
  void acceptsWholeBatchesFaithfullyOrRejectsThemWithNamedViolations(FuzzedDataProvider data) {
    int size = data.consumeInt(1, 3);
    List<OutboxMessage> messages = new ArrayList<>();
    for (int i = 0; i < size; i++) {
      messages.add(data.consumeInt(0, 30) == 0 ? null : message(data));
    }

    List<OutboxEvent> events;
    try {
      events = factory.create(messages);
    } catch (InvalidEventException e) {
      assertThat(e.violations()).isNotEmpty();
      for (String violation : e.violations()) {
        assertThat(violation).as("names its event and field").matches(VIOLATION);
      }
      assertThat(aloneViolations(messages)).isEqualTo(e.violations());
      return;
    }
    assertThat(aloneViolations(messages)).isEmpty();
    assertThat(events).hasSameSizeAs(messages);
    Set<UUID> ids = new HashSet<>();
    for (int i = 0; i < size; i++) {
      assertFaithful(messages.get(i), events.get(i));
      assertThat(ids.add(events.get(i).id())).as("unique ids").isTrue();
    }
  }

  /** Each event checked on its own, its violations prefixed as the batch would prefix them. */
  private List<String> aloneViolations(List<OutboxMessage> messages) {
    List<String> all = new ArrayList<>();
    for (int i = 0; i < messages.size(); i++) {
      if (messages.get(i) == null) {
        all.add(messages.size() == 1 ? "event must not be null" : "events[" + i + "] is null");
        continue;
      }
      try {
        factory.create(List.of(messages.get(i)));
      } catch (InvalidEventException e) {
        String prefix = messages.size() == 1 ? "" : "events[" + i + "].";
        e.violations().forEach(v -> all.add(prefix + v));
      }
    }
    return all;
  }

  private static void assertFaithful(OutboxMessage message, OutboxEvent event) {
    assertThat(event.id().version()).isEqualTo(7);
    assertThat(event.aggregateType()).isEqualTo(message.aggregateType());
    assertThat(event.aggregateId()).isEqualTo(message.aggregateId());
    assertThat(event.eventType()).isEqualTo(message.eventType());
    assertThat(event.tenant()).isEqualTo(message.tenant());
    assertThat(event.headers()).containsExactlyEntriesOf(message.headers());
    assertThat(event.createdAt()).isEqualTo(CLOCK.instant().truncatedTo(ChronoUnit.MICROS));
    assertThat(event.partition())
        .isEqualTo(Partitions.of(message.aggregateId(), PARTITIONS))
        .isBetween(0, PARTITIONS - 1);
    // The table and Kafka hold UTF-8: what they hold must read back as what the application gave.
    for (String text :
        Arrays.asList(
            event.aggregateType(), event.aggregateId(), event.eventType(), event.tenant())) {
      assertSurvivesUtf8(text);
    }
    event.headers().forEach((name, value) -> assertSurvivesUtf8(value));
    Object payload = message.payload();
    if (payload == null) {
      assertThat(event.payload()).isNull();
    } else if (payload instanceof byte[] bytes) {
      assertThat(event.payload()).isEqualTo(bytes).isNotSameAs(bytes);
    } else if (payload instanceof String text) {
      assertThat(new String(event.payload(), StandardCharsets.UTF_8)).isEqualTo(text);
    } else {
      assertThat(event.payload()).isEqualTo(PayloadSerializer.json().serialize(payload));
    }
    assertThat(event.payload() == null ? 0 : event.payload().length)
        .isLessThanOrEqualTo(MAX_PAYLOAD);
    String headers = HeadersCodec.encode(event.headers());
    assertThat(headers == null ? 0 : headers.getBytes(StandardCharsets.UTF_8).length)
        .isLessThanOrEqualTo(MAX_HEADERS);
  }

  private static void assertSurvivesUtf8(String text) {
    if (text != null) {
      assertThat(new String(text.getBytes(StandardCharsets.UTF_8), StandardCharsets.UTF_8))
          .as("survives UTF-8")
          .isEqualTo(text);
    }
  }

  private static OutboxMessage message(FuzzedDataProvider data) {
    String aggregateType = maybe(data, () -> data.consumeString(210));
    String aggregateId = maybe(data, () -> data.consumeString(260));
    String eventType = maybe(data, () -> data.consumeString(40));
    String tenant = maybe(data, () -> data.consumeString(20));
    Map<String, String> headers = new LinkedHashMap<>();
    int count = data.consumeInt(0, 4);
    for (int i = 0; i < count; i++) {
      headers.put(data.consumeString(20), data.consumeString(300));
    }
    Object payload =
        switch (data.consumeInt(0, 3)) {
          case 0 -> null;
          case 1 -> data.consumeBytes(300);
          case 2 -> data.consumeString(300);
          default -> Map.of("amount", data.consumeLong(), "note", data.consumeString(100));
        };
    return new OutboxMessage(aggregateType, aggregateId, eventType, payload, headers, tenant);
  }

  /** Now and then {@code null}, as a careless caller passes it. */
  private static String maybe(FuzzedDataProvider data, Supplier<String> text) {
    return data.consumeInt(0, 20) == 0 ? null : text.get();
  }
}
