package dev.outboxkit.idempotency;

import dev.outboxkit.idempotency.internal.EncryptedResultCodec;
import dev.outboxkit.outbox.PayloadIntegrityException;
import dev.outboxkit.outbox.spi.PayloadCodec;
import org.jspecify.annotations.Nullable;
import tools.jackson.databind.json.JsonMapper;

/**
 * Stores the result of idempotent work so a replay can return it. JSON by default. Implementations
 * are thread-safe.
 */
public interface ResultCodec {

  /**
   * @param result the work's result, possibly {@code null}
   * @return the bytes to store, or {@code null} for a {@code null} result
   */
  byte @Nullable [] encode(@Nullable Object result);

  /**
   * @param bytes what {@link #encode} returned
   * @param type the result type
   * @return the result
   */
  <T> @Nullable T decode(byte @Nullable [] bytes, Class<T> type);

  /**
   * Encodes the result of the work under {@code key}; what {@link Idempotency} calls. By default
   * {@link #encode(Object)}: override to bind the stored bytes to their key (as {@link #encrypted}
   * does).
   *
   * @param key the key the result is stored under, not null
   * @param result the work's result, possibly {@code null}
   * @return the bytes to store, or {@code null} for a {@code null} result
   * @since 0.1
   */
  default byte @Nullable [] encode(IdempotencyKey key, @Nullable Object result) {
    return encode(result);
  }

  /**
   * Decodes the result stored under {@code key}; what {@link Idempotency} calls. By default {@link
   * #decode(byte[], Class)}.
   *
   * @param key the key the result was stored under, not null
   * @param bytes what {@link #encode(IdempotencyKey, Object)} returned
   * @param type the result type
   * @return the result
   * @since 0.1
   */
  default <T> @Nullable T decode(IdempotencyKey key, byte @Nullable [] bytes, Class<T> type) {
    return decode(bytes, type);
  }

  /**
   * Encrypts what {@code delegate} stores (e.g. stored HTTP responses: server-generated ids,
   * tokens) with a payload codec such as {@code TinkPayloadCodec}, bound to the scope and key it is
   * stored under: a stored result copied to another key fails. A stored result that was altered,
   * copied, or written before encryption was turned on fails with {@link PayloadIntegrityException}
   * instead of being replayed.
   *
   * @param delegate turns results into bytes and back, e.g. {@link #json()}; not null
   * @param codec encrypts those bytes; not null
   * @since 0.1
   */
  static ResultCodec encrypted(ResultCodec delegate, PayloadCodec codec) {
    return new EncryptedResultCodec(delegate, codec);
  }

  /** JSON with a default Jackson mapper. */
  static ResultCodec json() {
    return json(JsonMapper.builder().build());
  }

  /**
   * JSON with the given mapper.
   *
   * @param mapper the mapper
   */
  static ResultCodec json(JsonMapper mapper) {
    return new ResultCodec() {
      @Override
      public byte @Nullable [] encode(@Nullable Object result) {
        return result == null ? null : mapper.writeValueAsBytes(result);
      }

      @Override
      public <T> @Nullable T decode(byte @Nullable [] bytes, Class<T> type) {
        return bytes == null ? null : mapper.readValue(bytes, type);
      }
    };
  }
}
