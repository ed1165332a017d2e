package dev.outboxkit.idempotency;

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
