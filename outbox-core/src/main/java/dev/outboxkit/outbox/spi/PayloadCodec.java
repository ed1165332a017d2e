package dev.outboxkit.outbox.spi;

import dev.outboxkit.outbox.OutboxEvent;
import dev.outboxkit.outbox.PayloadIntegrityException;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;

/**
 * Transforms a serialized payload before its row is written, and back on the consumer side: the
 * extension point for payload encryption ({@code dev.outboxkit.outbox.crypto.TinkPayloadCodec}).
 *
 * <p>Applied by the outbox after validation and after the event id is assigned, so the outbox
 * column, the database's change log (WAL, binlog), every Kafka record the relay sends and every
 * dead-letter copy hold what {@link #encode} returned. The relays never call it: they move the
 * stored bytes unchanged and need no key. Headers the codec returns are stored with the event and
 * published as Kafka headers; their names must start with {@value
 * dev.outboxkit.outbox.OutboxHeaders#RESERVED_PREFIX} (applications cannot set such headers, so an
 * application header can never pose as one). Tombstones ({@code null} payloads) are not encoded.
 *
 * <p>Called on the appending thread inside the caller's transaction, and on consumer threads;
 * implementations are thread-safe.
 *
 * @since 0.1
 */
public interface PayloadCodec {

  /**
   * Encodes a payload.
   *
   * @param context the event the payload belongs to, not null; an encryption binds the result to it
   * @param payload the serialized payload, not null
   * @return the bytes to store and the headers to add, not null
   * @throws RuntimeException when it cannot encode; the append fails and writes nothing
   */
  Encoded encode(Context context, byte[] payload);

  /**
   * Reverses {@link #encode}.
   *
   * @param context the event as the consumer received it (id and aggregate type from the {@code
   *     outbox-} headers, aggregate id from the record key), not null
   * @param headers the record's headers as text, not null
   * @param payload the stored or published bytes, not null
   * @return the original payload
   * @throws PayloadIntegrityException when the bytes were not produced by {@link #encode} for this
   *     very event (tampered, moved to another event or aggregate, or encoded with a key this codec
   *     does not have)
   */
  byte[] decode(Context context, Map<String, String> headers, byte[] payload);

  /**
   * What an encoding is bound to: the event id and its aggregate.
   *
   * @param eventId the event id
   * @param aggregateType the aggregate type
   * @param aggregateId the aggregate id
   */
  record Context(UUID eventId, String aggregateType, String aggregateId) {

    /** Checks that no part is null. */
    public Context {
      Objects.requireNonNull(eventId, "eventId");
      Objects.requireNonNull(aggregateType, "aggregateType");
      Objects.requireNonNull(aggregateId, "aggregateId");
    }

    /**
     * The context of a stored event.
     *
     * @param event the event, not null
     */
    public static Context of(OutboxEvent event) {
      return new Context(event.id(), event.aggregateType(), event.aggregateId());
    }
  }

  /**
   * The result of {@link #encode}.
   *
   * @param payload the bytes to store
   * @param headers headers to add to the event, each name with the reserved {@code outbox-} prefix
   */
  record Encoded(byte[] payload, Map<String, String> headers) {

    /** Copies the headers and checks their names. */
    public Encoded {
      Objects.requireNonNull(payload, "payload");
      headers = Map.copyOf(new LinkedHashMap<>(headers));
      for (String name : headers.keySet()) {
        if (!name.startsWith(dev.outboxkit.outbox.OutboxHeaders.RESERVED_PREFIX)) {
          throw new IllegalArgumentException(
              "a payload codec's header '"
                  + name
                  + "' must start with '"
                  + dev.outboxkit.outbox.OutboxHeaders.RESERVED_PREFIX
                  + "'");
        }
      }
    }

    @Override
    public boolean equals(Object other) {
      return other instanceof Encoded that
          && Arrays.equals(payload, that.payload)
          && headers.equals(that.headers);
    }

    @Override
    public int hashCode() {
      return 31 * Arrays.hashCode(payload) + headers.hashCode();
    }

    @Override
    public String toString() {
      return "Encoded[payloadBytes=" + payload.length + ", headers=" + headers + "]";
    }
  }
}
