package dev.outboxkit.outbox.spi;

import dev.outboxkit.outbox.internal.JacksonPayloadSerializer;
import org.jspecify.annotations.Nullable;
import tools.jackson.databind.json.JsonMapper;

/**
 * Turns an event payload object into the bytes stored in the outbox and published as the Kafka
 * record value.
 *
 * <p>{@code byte[]} payloads are stored as they are and {@code String} payloads as UTF-8, before a
 * serializer is asked. Implementations are thread-safe.
 */
@FunctionalInterface
public interface PayloadSerializer {

  /**
   * Serializes a payload.
   *
   * @param payload the payload object, never a {@code byte[]} or {@code String}
   * @return the bytes
   * @throws RuntimeException when the payload cannot be serialized; the outbox reports it as an
   *     {@link dev.outboxkit.outbox.InvalidEventException} and writes nothing
   */
  byte[] serialize(Object payload);

  /** JSON with a default Jackson {@link JsonMapper}. */
  static PayloadSerializer json() {
    return new JacksonPayloadSerializer(JsonMapper.builder().build());
  }

  /**
   * JSON with the given mapper, e.g. the application's own.
   *
   * @param mapper the mapper to use
   */
  static PayloadSerializer json(JsonMapper mapper) {
    return new JacksonPayloadSerializer(mapper);
  }

  /**
   * The bytes a payload is stored as.
   *
   * @param payload the payload, possibly {@code null}
   * @param serializer used for anything but {@code byte[]} and {@code String}
   * @return the bytes, or {@code null} for a {@code null} payload
   */
  static byte @Nullable [] toBytes(@Nullable Object payload, PayloadSerializer serializer) {
    if (payload == null) {
      return null;
    }
    if (payload instanceof byte[] bytes) {
      return bytes.clone();
    }
    if (payload instanceof String text) {
      return text.getBytes(java.nio.charset.StandardCharsets.UTF_8);
    }
    return serializer.serialize(payload);
  }
}
