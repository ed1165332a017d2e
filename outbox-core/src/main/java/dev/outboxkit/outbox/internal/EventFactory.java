package dev.outboxkit.outbox.internal;

import dev.outboxkit.outbox.InvalidEventException;
import dev.outboxkit.outbox.OutboxDefaults;
import dev.outboxkit.outbox.OutboxEvent;
import dev.outboxkit.outbox.OutboxException;
import dev.outboxkit.outbox.OutboxHeaders;
import dev.outboxkit.outbox.OutboxMessage;
import dev.outboxkit.outbox.spi.HeaderContributor;
import dev.outboxkit.outbox.spi.PayloadCodec;
import dev.outboxkit.outbox.spi.PayloadSerializer;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * Turns application messages into envelopes: validates every field, serializes the payload, adds
 * contributed headers, and assigns id, timestamp and partition. A batch is checked whole before any
 * of it is written, and every problem is reported at once, each naming its field.
 */
public final class EventFactory {

  private static final Pattern AGGREGATE_TYPE = Pattern.compile("[A-Za-z0-9._-]+");
  // RFC 9110 token: what HTTP and most header-consuming tools accept as a name.
  private static final Pattern HEADER_NAME = Pattern.compile("[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}");
  private static final String RESERVED_HEADER_PREFIX = OutboxHeaders.RESERVED_PREFIX;

  private final Clock clock;
  private final UuidV7Generator ids;
  private final PayloadSerializer serializer;
  private final List<HeaderContributor> contributors;
  private final int partitions;
  private final int maxPayloadBytes;
  private final int maxHeadersBytes;
  private final @Nullable PayloadCodec codec;

  public EventFactory(
      Clock clock,
      PayloadSerializer serializer,
      List<HeaderContributor> contributors,
      int partitions,
      int maxPayloadBytes,
      int maxHeadersBytes) {
    this(clock, serializer, contributors, partitions, maxPayloadBytes, maxHeadersBytes, null);
  }

  /**
   * @param codec applied to every non-null payload once the event is valid and has its id; {@code
   *     null} stores payloads as serialized
   */
  public EventFactory(
      Clock clock,
      PayloadSerializer serializer,
      List<HeaderContributor> contributors,
      int partitions,
      int maxPayloadBytes,
      int maxHeadersBytes,
      @Nullable PayloadCodec codec) {
    this.codec = codec;
    this.clock = clock;
    this.ids = new UuidV7Generator(clock);
    this.serializer = serializer;
    this.contributors = List.copyOf(contributors);
    this.partitions = partitions;
    this.maxPayloadBytes = maxPayloadBytes;
    this.maxHeadersBytes = maxHeadersBytes;
  }

  /**
   * Creates the envelopes of a batch.
   *
   * <p>Thread-safe: each call keeps its state in its own {@link Batch}.
   */
  public List<OutboxEvent> create(List<OutboxMessage> messages) {
    return new Batch().create(messages);
  }

  /** The state of one {@link #create(List)} call. */
  private final class Batch {

    private @Nullable RuntimeException serializationFailure;

    List<OutboxEvent> create(List<OutboxMessage> messages) {
      List<String> violations = new ArrayList<>();
      List<OutboxEvent> events = new ArrayList<>(messages.size());
      for (int i = 0; i < messages.size(); i++) {
        String prefix = messages.size() == 1 ? "" : "events[" + i + "].";
        OutboxMessage message = messages.get(i);
        if (message == null) {
          violations.add(prefix.isEmpty() ? "event must not be null" : "events[" + i + "] is null");
          continue;
        }
        OutboxEvent event = create(message, prefix, violations);
        if (event != null) {
          events.add(event);
        }
      }
      if (!violations.isEmpty()) {
        throw new InvalidEventException(violations, serializationFailure);
      }
      return events;
    }

    private @Nullable OutboxEvent create(
        OutboxMessage message, String prefix, List<String> violations) {
      int before = violations.size();
      checkAggregateType(message.aggregateType(), prefix, violations);
      checkText("aggregateId", message.aggregateId(), true, prefix, violations);
      checkText("eventType", message.eventType(), true, prefix, violations);
      checkText("tenant", message.tenant(), false, prefix, violations);
      Map<String, String> headers = headers(message, prefix, violations);
      byte[] payload = payload(message, prefix, violations);
      if (violations.size() > before) {
        return null;
      }
      Instant now = clock.instant().truncatedTo(ChronoUnit.MICROS);
      java.util.UUID id = ids.next();
      if (codec != null && payload != null) {
        // The payload limit applies to what the application wrote; the codec's overhead is its own.
        PayloadCodec.Encoded encoded =
            encode(
                new PayloadCodec.Context(id, message.aggregateType(), message.aggregateId()),
                payload);
        payload = encoded.payload();
        headers.putAll(encoded.headers());
      }
      // Measured as stored (the codec's headers included): the JSON text in UTF-8, escapes too.
      int bytes =
          headers.isEmpty()
              ? 0
              : HeadersCodec.encode(headers).getBytes(StandardCharsets.UTF_8).length;
      if (bytes > maxHeadersBytes) {
        violations.add(
            prefix
                + "headers must be at most "
                + maxHeadersBytes
                + " bytes in all but are "
                + bytes
                + (codec != null && message.payload() != null
                    ? " with the headers the payload codec adds"
                    : ""));
        return null;
      }
      return new OutboxEvent(
          id,
          message.aggregateType(),
          message.aggregateId(),
          message.eventType(),
          payload,
          headers,
          message.tenant(),
          now,
          Partitions.of(message.aggregateId(), partitions));
    }

    private PayloadCodec.Encoded encode(PayloadCodec.Context context, byte[] payload) {
      try {
        return java.util.Objects.requireNonNull(
            codec.encode(context, payload), "payload codec returned null");
      } catch (RuntimeException e) {
        // The payload is not in the message: it may be the very data the codec protects.
        throw new OutboxException(
            "Payload codec "
                + codec.getClass().getName()
                + " could not encode the payload of event "
                + context.eventId()
                + " ("
                + context.aggregateType()
                + "); nothing was written",
            e);
      }
    }

    private static void checkAggregateType(
        @Nullable String value, String prefix, List<String> violations) {
      if (value == null || value.isBlank()) {
        violations.add(prefix + "aggregateType must not be blank");
      } else if (value.length() > OutboxDefaults.MAX_AGGREGATE_TYPE_LENGTH) {
        violations.add(
            prefix
                + "aggregateType must be at most "
                + OutboxDefaults.MAX_AGGREGATE_TYPE_LENGTH
                + " characters but has "
                + value.length());
      } else if (!AGGREGATE_TYPE.matcher(value).matches()) {
        violations.add(
            prefix
                + "aggregateType '"
                + value
                + "' may contain only letters, digits, '.', '_' and '-' (it becomes part of a topic name)");
      }
    }

    private static void checkText(
        String field,
        @Nullable String value,
        boolean required,
        String prefix,
        List<String> violations) {
      if (value == null) {
        if (required) {
          violations.add(prefix + field + " must not be null");
        }
      } else if (value.isBlank()) {
        violations.add(prefix + field + " must not be blank");
      } else if (value.length() > OutboxDefaults.MAX_FIELD_LENGTH) {
        violations.add(
            prefix
                + field
                + " must be at most "
                + OutboxDefaults.MAX_FIELD_LENGTH
                + " characters but has "
                + value.length());
      } else if (value.chars().anyMatch(Character::isISOControl)) {
        violations.add(prefix + field + " must not contain control characters");
      }
    }

    private Map<String, String> headers(
        OutboxMessage message, String prefix, List<String> violations) {
      Map<String, String> headers = new LinkedHashMap<>();
      for (HeaderContributor contributor : contributors) {
        Map<String, String> contributed;
        try {
          contributed = contributor.headersFor(message);
        } catch (RuntimeException e) {
          violations.add(
              prefix + "header contributor " + contributor.getClass().getName() + " failed: " + e);
          continue;
        }
        if (contributed == null) {
          violations.add(
              prefix
                  + "header contributor "
                  + contributor.getClass().getName()
                  + " returned null instead of a map");
          continue;
        }
        headers.putAll(contributed);
      }
      headers.putAll(message.headers());
      boolean valid = true;
      for (Map.Entry<String, String> header : headers.entrySet()) {
        String name = header.getKey();
        String value = header.getValue();
        if (name == null || !HEADER_NAME.matcher(name).matches()) {
          violations.add(
              prefix + "header name '" + name + "' must be 1 to 128 characters of an HTTP token");
          valid = false;
          continue;
        }
        if (name.toLowerCase(Locale.ROOT).startsWith(RESERVED_HEADER_PREFIX)) {
          violations.add(
              prefix
                  + "header '"
                  + name
                  + "' uses the prefix '"
                  + RESERVED_HEADER_PREFIX
                  + "', which is reserved for OutboxKit's own headers");
          valid = false;
        }
        if (value == null) {
          violations.add(prefix + "header '" + name + "' must not have a null value");
          valid = false;
        } else if (value.chars().anyMatch(c -> Character.isISOControl(c) && c != '\t')) {
          violations.add(prefix + "header '" + name + "' must not contain control characters");
          valid = false;
        }
      }
      // Their size is checked in create(), once the payload codec has added its own.
      return headers;
    }

    private byte @Nullable [] payload(
        OutboxMessage message, String prefix, List<String> violations) {
      byte[] payload;
      try {
        payload = PayloadSerializer.toBytes(message.payload(), serializer);
      } catch (RuntimeException e) {
        if (serializationFailure == null) {
          serializationFailure = e;
        }
        violations.add(
            prefix
                + "payload of type "
                + message.payload().getClass().getName()
                + " could not be serialized: "
                + e.getMessage());
        return null;
      }
      if (payload == null && message.payload() != null) {
        // A null here would be stored as a tombstone and delete the key's history on a compacted
        // topic.
        violations.add(
            prefix
                + "payload serializer returned null for a payload of type "
                + message.payload().getClass().getName());
        return null;
      }
      if (payload != null && payload.length > maxPayloadBytes) {
        violations.add(
            prefix
                + "payload must be at most "
                + maxPayloadBytes
                + " bytes but is "
                + payload.length
                + " (raise the limit, or store the body elsewhere and send a"
                + " reference)");
      }
      return payload;
    }
  }
}
