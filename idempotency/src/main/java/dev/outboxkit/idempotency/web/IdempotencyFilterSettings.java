package dev.outboxkit.idempotency.web;

import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.function.IntPredicate;
import org.jspecify.annotations.Nullable;

/**
 * How the {@link IdempotencyFilter} behaves. The Spring Boot starter fills it from {@code
 * outbox.idempotency.http.*}.
 *
 * @param headerName the request header holding the key; default {@code Idempotency-Key}
 * @param pathPatterns path patterns (Spring {@code PathPattern} syntax) that are idempotent without
 *     an annotation, e.g. {@code /payments/**}
 * @param methods the HTTP methods the path patterns apply to; default POST and PATCH
 * @param clientHeader a header naming the client, used when no principal is authenticated; {@code
 *     null} to use only the principal
 * @param maxBodyBytes the largest request body; larger requests get 413
 * @param replayedHeaders the response headers stored and replayed
 * @param cacheable which response statuses are stored; others roll the transaction back so a retry
 *     runs again
 * @param lockTimeout how long a duplicate waits for a concurrent first request (informational; the
 *     {@link dev.outboxkit.idempotency.Idempotency} applies it)
 */
public record IdempotencyFilterSettings(
    String headerName,
    List<String> pathPatterns,
    Set<String> methods,
    @Nullable String clientHeader,
    int maxBodyBytes,
    List<String> replayedHeaders,
    IntPredicate cacheable,
    Duration lockTimeout) {

  /** The header that marks a replayed response. */
  public static final String REPLAYED_HEADER = "Idempotent-Replayed";

  /** Stores 2xx and 4xx responses except 409 and 429; never 5xx. */
  public static final IntPredicate DEFAULT_CACHEABLE =
      status ->
          (status >= 200 && status < 300)
              || (status >= 400 && status < 500 && status != 409 && status != 429);

  /** The defaults. */
  public static IdempotencyFilterSettings defaults() {
    return new IdempotencyFilterSettings(
        "Idempotency-Key",
        List.of(),
        Set.of("POST", "PATCH"),
        null,
        1024 * 1024,
        List.of("Content-Type", "Location"),
        DEFAULT_CACHEABLE,
        Duration.ofSeconds(5));
  }
}
