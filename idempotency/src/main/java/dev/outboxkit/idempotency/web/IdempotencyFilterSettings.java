package dev.outboxkit.idempotency.web;

import java.util.List;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * How the {@link IdempotencyFilter} behaves. The Spring Boot starter fills it from {@code
 * outbox.idempotency.http.*}; how long a duplicate waits for the first request is the {@link
 * dev.outboxkit.idempotency.Idempotency}'s lock timeout.
 *
 * @param headerName the request header holding the key; default {@code Idempotency-Key}
 * @param pathPatterns path patterns (Spring {@code PathPattern} syntax) that are idempotent without
 *     an annotation, e.g. {@code /payments/**}
 * @param methods the HTTP methods the path patterns apply to; default POST and PATCH
 * @param clientHeader a header naming the client, used when no principal is authenticated; {@code
 *     null} to use only the principal
 * @param maxBodyBytes the largest request body; larger requests get 413
 * @param replayedHeaders the response headers stored and replayed
 * @param cacheable which responses are stored; others roll the transaction back so a retry runs
 *     again
 */
public record IdempotencyFilterSettings(
    String headerName,
    List<String> pathPatterns,
    Set<String> methods,
    @Nullable String clientHeader,
    int maxBodyBytes,
    List<String> replayedHeaders,
    CacheableResponses cacheable) {

  /** The header that marks a replayed response. */
  public static final String REPLAYED_HEADER = "Idempotent-Replayed";

  /** The defaults. */
  public static IdempotencyFilterSettings defaults() {
    return new IdempotencyFilterSettings(
        "Idempotency-Key",
        List.of(),
        Set.of("POST", "PATCH"),
        null,
        1024 * 1024,
        List.of("Content-Type", "Location"),
        CacheableResponses.DEFAULT);
  }
}
