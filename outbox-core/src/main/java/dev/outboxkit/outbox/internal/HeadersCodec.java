package dev.outboxkit.outbox.internal;

import java.util.LinkedHashMap;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import tools.jackson.core.type.TypeReference;
import tools.jackson.databind.json.JsonMapper;

/**
 * Stores an event's headers as one JSON object of strings in the {@code headers} column: readable
 * in SQL, portable across databases, and {@code NULL} when there are none.
 */
public final class HeadersCodec {

  private static final JsonMapper MAPPER = JsonMapper.builder().build();
  private static final TypeReference<LinkedHashMap<String, String>> MAP_TYPE =
      new TypeReference<>() {};

  private HeadersCodec() {}

  public static @Nullable String encode(Map<String, String> headers) {
    return headers.isEmpty() ? null : MAPPER.writeValueAsString(headers);
  }

  public static Map<String, String> decode(@Nullable String json) {
    return json == null || json.isEmpty() ? Map.of() : MAPPER.readValue(json, MAP_TYPE);
  }
}
