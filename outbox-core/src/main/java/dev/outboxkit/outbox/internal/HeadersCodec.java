package dev.outboxkit.outbox.internal;

import java.util.LinkedHashMap;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import tools.jackson.core.JacksonException;
import tools.jackson.core.type.TypeReference;
import tools.jackson.databind.json.JsonMapper;

/**
 * Stores an event's headers as one JSON object of strings in the {@code headers} column: readable
 * in SQL, portable across databases, and {@code NULL} when there are none.
 *
 * <p>The column may have been written by hand or by another writer, so {@link #decode} checks what
 * Jackson alone would let through: JSON {@code null}, {@code null} values (a Kafka header value
 * OutboxKit never sends), arrays, nested objects and trailing text all fail with one {@link
 * IllegalArgumentException}, which the relay turns into a parked event with that reason. Scalar
 * values ({@code 1}, {@code true}) read as their text, as Jackson coerces them. Messages name the
 * problem and its position, never the values (they may hold personal data).
 */
public final class HeadersCodec {

  private static final JsonMapper MAPPER = JsonMapper.builder().build();
  private static final TypeReference<LinkedHashMap<String, String>> MAP_TYPE =
      new TypeReference<>() {};
  private static final String EXPECTED =
      "The headers column must hold a JSON object of string values (as OutboxKit writes it) or be"
          + " NULL";

  private HeadersCodec() {}

  /**
   * @param headers the headers
   * @return the column's text, or {@code null} when there are none
   */
  public static @Nullable String encode(Map<String, String> headers) {
    return headers.isEmpty() ? null : MAPPER.writeValueAsString(headers);
  }

  /**
   * @param json the column's text; {@code null} or empty for no headers
   * @return the headers, in the column's order
   * @throws IllegalArgumentException when the text is not a JSON object of non-null values
   */
  public static Map<String, String> decode(@Nullable String json) {
    if (json == null || json.isEmpty()) {
      return Map.of();
    }
    LinkedHashMap<String, String> headers;
    try {
      headers = MAPPER.readValue(json, MAP_TYPE);
    } catch (JacksonException e) {
      throw new IllegalArgumentException(
          EXPECTED + "; it could not be read as one: " + problem(e), e);
    }
    if (headers == null) {
      throw new IllegalArgumentException(EXPECTED + "; it holds the JSON literal null");
    }
    for (Map.Entry<String, String> header : headers.entrySet()) {
      if (header.getValue() == null) {
        throw new IllegalArgumentException(
            EXPECTED + "; header '" + header.getKey() + "' has the value null");
      }
    }
    return headers;
  }

  /** Jackson's reason and position without the source text. */
  private static String problem(JacksonException e) {
    String reason = e.getOriginalMessage();
    // Token excerpts in Jackson's reasons can quote the text; keep the first line, bounded.
    int newline = reason.indexOf('\n');
    if (newline >= 0) {
      reason = reason.substring(0, newline);
    }
    if (reason.length() > 160) {
      reason = reason.substring(0, 160) + "...";
    }
    var location = e.getLocation();
    return location == null || location.getColumnNr() < 0
        ? reason
        : reason + " (line " + location.getLineNr() + ", column " + location.getColumnNr() + ")";
  }
}
